/**
 * The quorum tables (SQLite): a group per quorum task (its spec and the task
 * template replicas are made from), one row per replica with its answer and
 * verdict, and each worker's score. Writes are called inside GroupCommit writes.
 *
 * @postgres: the same three tables serve a PostgreSQL store; every statement here is plain SQL.
 */
import { decodeValue, encodeValue } from '../../shared/codec.js';
import type { Db } from '../store/database.js';
import type { Answer } from './compare.js';
import type { QuorumSpec } from './quorum-spec.js';

/** What a replica is made of: the parent's type and params (job params merged in), priority and limits. */
export interface ReplicaTemplate {
  type: string;
  params: unknown;
  priority?: number;
  maxAttempts?: number;
  timeoutMs?: number;
}

/** How a replica's answer was judged: `valid`/`invalid` against the canonical answer; `error` a failure; `inconclusive` when there was no consensus. */
export type Verdict = 'valid' | 'invalid' | 'error' | 'inconclusive' | 'cancelled';

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

const json = (v: unknown): string | null => (v === null || v === undefined ? null : JSON.stringify(v));

export class QuorumStore {
  private readonly s;

  constructor(db: Db) {
    this.s = {
      insertGroup: db.prepare(`INSERT INTO quorum_groups (parent_id, spec, template, created_at) VALUES (?, ?, ?, ?)`),
      decideGroup: db.prepare(`UPDATE quorum_groups SET decided_at = ?, canonical = ? WHERE parent_id = ?`),
      deleteGroup: db.prepare(`DELETE FROM quorum_groups WHERE parent_id = ?`),
      deleteReplicas: db.prepare(`DELETE FROM quorum_replicas WHERE parent_id = ?`),
      insertReplica: db.prepare(`INSERT INTO quorum_replicas (replica_id, parent_id, created_at) VALUES (?, ?, ?)`),
      judgeReplica: db.prepare(`UPDATE quorum_replicas SET worker_id = ?, answer = ?, verdict = ? WHERE replica_id = ?`),
      // Groups still undecided, or with a replica not judged yet: what a restarted foreman picks up.
      openGroups: db.prepare(
        `SELECT * FROM quorum_groups g WHERE g.decided_at IS NULL
           OR EXISTS (SELECT 1 FROM quorum_replicas r WHERE r.parent_id = g.parent_id AND r.verdict IS NULL)`,
      ),
      group: db.prepare(`SELECT * FROM quorum_groups WHERE parent_id = ?`),
      replicasOf: db.prepare(`SELECT * FROM quorum_replicas WHERE parent_id = ? ORDER BY created_at, replica_id`),
      score: db.prepare(`SELECT * FROM worker_scores WHERE worker_id = ?`),
      upsertScore: db.prepare(
        `INSERT INTO worker_scores (worker_id, points, valid, invalid, errors, reputation, streak, quarantined_at, updated_at)
         VALUES (@workerId, @points, @valid, @invalid, @errors, @reputation, @streak, @quarantinedAt, @updatedAt)
         ON CONFLICT (worker_id) DO UPDATE SET points = excluded.points, valid = excluded.valid, invalid = excluded.invalid,
           errors = excluded.errors, reputation = excluded.reputation, streak = excluded.streak,
           quarantined_at = excluded.quarantined_at, updated_at = excluded.updated_at`,
      ),
      allScores: db.prepare(`SELECT * FROM worker_scores`),
      // Decided groups whose parent retention has deleted, and their replicas (worker scores stay).
      purgeReplicas: db.prepare(
        `DELETE FROM quorum_replicas WHERE parent_id IN
           (SELECT parent_id FROM quorum_groups g WHERE decided_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = g.parent_id))`,
      ),
      purgeGroups: db.prepare(
        `DELETE FROM quorum_groups WHERE decided_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = quorum_groups.parent_id)`,
      ),
      countScores: db.prepare(`SELECT count(*) FROM worker_scores`).pluck(),
      page: Object.fromEntries(
        LEADERBOARD_SORTS.flatMap((sort) =>
          (['asc', 'desc'] as const).map((order) => [`${sort}:${order}`, db.prepare(`SELECT * FROM worker_scores ORDER BY ${sort} ${order}, worker_id LIMIT ? OFFSET ?`)]),
        ),
      ),
    };
  }

  insertGroup(parentId: string, spec: QuorumSpec, template: ReplicaTemplate, now: number): void {
    this.s.insertGroup.run(parentId, JSON.stringify(spec), encodeValue(template), now);
  }

  decideGroup(parentId: string, canonical: Answer | null, now: number): void {
    this.s.decideGroup.run(now, json(canonical), parentId);
  }

  /** Forgets a group whose parent task was never created (a duplicate key, a crash before its insert). */
  deleteGroup(parentId: string): void {
    this.s.deleteReplicas.run(parentId);
    this.s.deleteGroup.run(parentId);
  }

  /** Deletes the rows of decided groups whose task retention removed; call inside a GroupCommit write. Returns how many groups. */
  purgeOrphans(): number {
    this.s.purgeReplicas.run();
    return this.s.purgeGroups.run().changes;
  }

  insertReplica(replicaId: string, parentId: string, now: number): void {
    this.s.insertReplica.run(replicaId, parentId, now);
  }

  judgeReplica(replicaId: string, workerId: string | null, answer: Answer | null, verdict: Verdict): void {
    this.s.judgeReplica.run(workerId, json(answer), verdict, replicaId);
  }

  openGroups(): GroupRow[] {
    return (this.s.openGroups.all() as Array<Record<string, unknown>>).map(toGroup);
  }

  group(parentId: string): GroupRow | null {
    const r = this.s.group.get(parentId) as Record<string, unknown> | undefined;
    return r ? toGroup(r) : null;
  }

  replicasOf(parentId: string): ReplicaRow[] {
    return (this.s.replicasOf.all(parentId) as Array<Record<string, unknown>>).map((r) => ({
      replicaId: r.replica_id as string,
      parentId: r.parent_id as string,
      workerId: (r.worker_id as string | null) ?? null,
      answer: r.answer === null ? null : (JSON.parse(r.answer as string) as Answer),
      verdict: (r.verdict as Verdict | null) ?? null,
    }));
  }

  score(workerId: string): WorkerScore | null {
    const r = this.s.score.get(workerId) as Record<string, unknown> | undefined;
    return r ? toScore(r) : null;
  }

  saveScore(score: WorkerScore): void {
    this.s.upsertScore.run(score);
  }

  allScores(): WorkerScore[] {
    return (this.s.allScores.all() as Array<Record<string, unknown>>).map(toScore);
  }

  /** One page of the leaderboard. */
  leaderboard(sort: LeaderboardSort, order: 'asc' | 'desc', limit: number, offset: number): { workers: WorkerScore[]; total: number } {
    const rows = this.s.page[`${sort}:${order}`].all(limit, offset) as Array<Record<string, unknown>>;
    return { workers: rows.map(toScore), total: this.s.countScores.get() as number };
  }
}

function toGroup(r: Record<string, unknown>): GroupRow {
  return {
    parentId: r.parent_id as string,
    spec: JSON.parse(r.spec as string) as QuorumSpec,
    template: decodeValue(r.template as Buffer) as ReplicaTemplate,
    decidedAt: (r.decided_at as number | null) ?? null,
    canonical: r.canonical === null ? null : (JSON.parse(r.canonical as string) as Answer),
  };
}

function toScore(r: Record<string, unknown>): WorkerScore {
  return {
    workerId: r.worker_id as string,
    points: r.points as number,
    valid: r.valid as number,
    invalid: r.invalid as number,
    errors: r.errors as number,
    reputation: r.reputation as number,
    streak: r.streak as number,
    quarantinedAt: (r.quarantined_at as number | null) ?? null,
    updatedAt: r.updated_at as number,
  };
}
