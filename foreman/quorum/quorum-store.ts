/**
 * What the quorum room keeps durable, behind one interface with two implementations:
 * SQLite (sqlite-quorum-store.ts, written through the group commit of the one foreman) and
 * PostgreSQL (pg-quorum-store.ts, shared by several foremen, where the database
 * decides). Three tables either way: a group per quorum task (its spec and the template replicas
 * are made from), one row per replica with its answer and verdict, and each worker's score.
 *
 * The judging itself is not here: `vote` hands the group, as stored and locked, to a pure function
 * (tally.ts) and writes what it decided in the same transaction, so that exactly one vote decides a
 * group and each answer is scored once.
 */
import type { Answer } from './compare.js';
import type { QuorumSpec } from './quorum-spec.js';
import type { Judgment } from './tally.js';

/** What a replica is made of: the parent's type and params (job params merged in), priority and limits. */
export interface ReplicaTemplate {
  type: string;
  params: unknown;
  priority?: number;
  maxAttempts?: number;
  timeoutMs?: number;
}

/**
 * How a replica's answer was judged: `valid`/`invalid` against the canonical answer; `error` a failure;
 * `inconclusive` when there was no consensus; `cancelled` when it never answered; `duplicate` when its
 * worker had already answered for the same task (one vote per worker, whatever ran where).
 */
export type Verdict = 'valid' | 'invalid' | 'error' | 'inconclusive' | 'cancelled' | 'duplicate';

export interface GroupRow {
  parentId: string;
  spec: QuorumSpec;
  template: ReplicaTemplate;
  decidedAt: number | null;
  canonical: Answer | null;
}

export interface ReplicaRow {
  replicaId: string;
  parentId: string;
  workerId: string | null;
  answer: Answer | null;
  verdict: Verdict | null;
}

/** One worker's standing, as GET /leaderboard shows it. */
export interface WorkerScore {
  workerId: string;
  points: number;
  valid: number;
  invalid: number;
  errors: number;
  /** In [0, 1]; see reputation.ts for the rule. */
  reputation: number;
  /** Valid results in a row (adaptive replication trusts a long streak). */
  streak: number;
  /** When the worker was quarantined from quorum tasks, or null. */
  quarantinedAt: number | null;
  updatedAt: number;
}

export const LEADERBOARD_SORTS = ['points', 'valid', 'invalid', 'errors', 'reputation'] as const;
export type LeaderboardSort = (typeof LEADERBOARD_SORTS)[number];

/** A group about to be submitted, with the ids of its first replicas. */
export interface NewGroup {
  parentId: string;
  spec: QuorumSpec;
  template: ReplicaTemplate;
  replicaIds: string[];
}

/** A replica's ending: its worker's answer, or `cancelled` when it ended without one. */
export type Ballot = { workerId: string | null; answer: Answer } | { workerId: string | null; cancelled: true };

/** What a vote saw and decided. */
export interface VoteOutcome {
  group: GroupRow;
  /** The group's replicas after the vote (verdicts applied, new replicas included). */
  replicas: ReplicaRow[];
  judgment: Judgment;
}

/**
 * Decides over a group as stored (decided or not, every replica's answer and verdict) and the scores
 * of the workers it may judge. Pure; may be called more than once for one vote (a retried commit).
 */
export type Judge = (group: GroupRow, replicas: ReplicaRow[], scores: ReadonlyMap<string, WorkerScore>) => Judgment;

type Maybe<T> = T | Promise<T>;

export interface QuorumStore {
  /** True when several foremen share the store: a replica may have been submitted or claimed by another foreman. */
  readonly shared: boolean;
  /** Writes new groups and their first replica rows (before their tasks exist). */
  insertGroups(groups: NewGroup[], now: number): Promise<void>;
  /** Forgets groups whose parent task was never created (a duplicate key, a refused submission). */
  deleteGroups(parentIds: string[]): Promise<void>;
  /**
   * Records a replica's ending and judges its group, atomically: the answer is recorded only if the
   * replica had none (a second report is a no-op, resolving null), then `judge` decides and its
   * verdicts, scores, decision and new replica rows are written with it.
   */
  vote(replicaId: string, ballot: Ballot, judge: Judge, now: number): Promise<VoteOutcome | null>;
  /** Marks an undecided group decided without a canonical answer (its parent was cancelled); resolves with its unanswered replicas. */
  cancelGroup(parentId: string, now: number): Promise<string[]>;
  /** Groups a (re)started foreman must look at: undecided, with an unjudged replica, or whose parent is still queued. */
  openGroups(): Promise<GroupRow[]>;
  /**
   * Shared store only: groups left stranded before `before` (ms) — a replica whose task settled (or
   * was never submitted) with no vote recorded, or a decided group whose parent still waits. The
   * foreman that should have acted died; the others finish its work.
   */
  stranded?(before: number): Promise<GroupRow[]>;
  group(parentId: string): Promise<GroupRow | null>;
  replicasOf(parentId: string): Promise<ReplicaRow[]>;
  /** Which of `taskIds` are replicas (their parent ids) or parents (themselves) of a quorum group. */
  lookup(taskIds: string[]): Promise<{ replicas: Map<string, string>; parents: Set<string> }>;
  /** For each group (by parent id): whether replicas need distinct addresses, and the workers that ran, run or answered one. */
  exclusions(parentIds: string[]): Promise<Map<string, { distinct: QuorumSpec['distinct']; workers: string[] }>>;
  /** Workers quarantined from quorum tasks. */
  quarantined(): Promise<string[]>;
  /** The `limit` workers with the most points (then reputation), for the dashboard. */
  top(limit: number): Maybe<WorkerScore[]>;
  /** One page of the leaderboard. */
  leaderboard(sort: LeaderboardSort, order: 'asc' | 'desc', limit: number, offset: number): Promise<{ workers: WorkerScore[]; total: number }>;
  /** Deletes the rows of decided groups whose parent retention removed; resolves with how many groups. */
  purgeOrphans(): Promise<number>;
}
