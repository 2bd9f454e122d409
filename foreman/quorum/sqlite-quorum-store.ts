/**
 * The quorum tables in the foreman's SQLite file (migration 9). Writes go through the foreman's
 * group commit; a vote reads and writes inside one write, and the group commit runs writes one at
 * a time, so one vote sees every earlier one and exactly one decides a group. Reads are direct.
 */
import { encodeValue } from '../../shared/codec.js';
import type { Db } from '../store/database.js';
import type { GroupCommit } from '../store/group-commit.js';
import type { QuorumSpec } from './quorum-spec.js';
import { json, toGroup, toReplica, toScore } from './quorum-rows.js';
import {
  LEADERBOARD_SORTS,
  type Ballot,
  type GroupRow,
  type Judge,
  type LeaderboardSort,
  type NewGroup,
  type QuorumStore,
  type ReplicaRow,
  type VoteOutcome,
  type WorkerScore,
} from './quorum-store.js';

export class SqliteQuorumStore implements QuorumStore {
  readonly shared = false;
  private readonly s;

  constructor(
    db: Db,
    private readonly commit: GroupCommit,
  ) {
    this.s = {
      insertGroup: db.prepare(`INSERT INTO quorum_groups (parent_id, spec, template, created_at) VALUES (?, ?, ?, ?)`),
      decideGroup: db.prepare(`UPDATE quorum_groups SET decided_at = ?, canonical = ? WHERE parent_id = ? AND decided_at IS NULL`),
      deleteGroup: db.prepare(`DELETE FROM quorum_groups WHERE parent_id = ?`),
      deleteReplicas: db.prepare(`DELETE FROM quorum_replicas WHERE parent_id = ?`),
      insertReplica: db.prepare(`INSERT INTO quorum_replicas (replica_id, parent_id, created_at) VALUES (?, ?, ?)`),
      replica: db.prepare(`SELECT * FROM quorum_replicas WHERE replica_id = ?`),
      answer: db.prepare(`UPDATE quorum_replicas SET worker_id = ?, answer = ? WHERE replica_id = ? AND answer IS NULL AND verdict IS NULL`),
      cancelReplica: db.prepare(`UPDATE quorum_replicas SET worker_id = ?, verdict = 'cancelled' WHERE replica_id = ? AND answer IS NULL AND verdict IS NULL`),
      judge: db.prepare(`UPDATE quorum_replicas SET verdict = ? WHERE replica_id = ?`),
      // Groups still undecided, with a replica not judged yet, or whose parent still waits: what a restarted foreman picks up.
      openGroups: db.prepare(
        `SELECT * FROM quorum_groups g WHERE g.decided_at IS NULL
           OR EXISTS (SELECT 1 FROM quorum_replicas r WHERE r.parent_id = g.parent_id AND r.verdict IS NULL)
           OR EXISTS (SELECT 1 FROM tasks t WHERE t.id = g.parent_id AND t.state = 'queued')`,
      ),
      group: db.prepare(`SELECT * FROM quorum_groups WHERE parent_id = ?`),
      replicasOf: db.prepare(`SELECT * FROM quorum_replicas WHERE parent_id = ? ORDER BY created_at, replica_id`),
      usedWorkers: db.prepare(
        `SELECT r.worker_id AS w FROM quorum_replicas r WHERE r.parent_id = @parentId AND r.worker_id IS NOT NULL
         UNION SELECT t.worker_id FROM quorum_replicas r JOIN tasks t ON t.id = r.replica_id WHERE r.parent_id = @parentId AND t.worker_id IS NOT NULL
         UNION SELECT a.worker_id FROM quorum_replicas r JOIN tasks t ON t.id = r.replica_id JOIN attempts a ON a.task_seq = t.seq WHERE r.parent_id = @parentId`,
      ).pluck(),
      score: db.prepare(`SELECT * FROM worker_scores WHERE worker_id = ?`),
      upsertScore: db.prepare(
        `INSERT INTO worker_scores (worker_id, points, valid, invalid, errors, reputation, streak, quarantined_at, updated_at)
         VALUES (@workerId, @points, @valid, @invalid, @errors, @reputation, @streak, @quarantinedAt, @updatedAt)
         ON CONFLICT (worker_id) DO UPDATE SET points = excluded.points, valid = excluded.valid, invalid = excluded.invalid,
           errors = excluded.errors, reputation = excluded.reputation, streak = excluded.streak,
           quarantined_at = excluded.quarantined_at, updated_at = excluded.updated_at`,
      ),
      quarantined: db.prepare(`SELECT worker_id FROM worker_scores WHERE quarantined_at IS NOT NULL`).pluck(),
      top: db.prepare(`SELECT * FROM worker_scores ORDER BY points DESC, reputation DESC, worker_id LIMIT ?`),
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

  insertGroups(groups: NewGroup[], now: number): Promise<void> {
    return this.commit.write(() => {
      for (const g of groups) {
        this.s.insertGroup.run(g.parentId, JSON.stringify(g.spec), encodeValue(g.template), now);
        for (const id of g.replicaIds) this.s.insertReplica.run(id, g.parentId, now);
      }
    });
  }

  deleteGroups(parentIds: string[]): Promise<void> {
    return this.commit.write(() => {
      for (const id of parentIds) {
        this.s.deleteReplicas.run(id);
        this.s.deleteGroup.run(id);
      }
    });
  }

  async vote(replicaId: string, ballot: Ballot, judge: Judge, now: number): Promise<VoteOutcome | null> {
    let outcome: VoteOutcome | null = null;
    await this.commit.write(() => {
      // Runs again if the batch is retried: the outcome is the last run's.
      outcome = null;
      const own = this.s.replica.get(replicaId) as Record<string, unknown> | undefined;
      if (!own) return;
      const recorded = 'answer' in ballot
        ? this.s.answer.run(ballot.workerId, JSON.stringify(ballot.answer), replicaId)
        : this.s.cancelReplica.run(ballot.workerId, replicaId);
      if (recorded.changes === 0) return;
      const group = this.readGroup(own.parent_id as string);
      if (!group) return;
      const replicas = this.readReplicas(group.parentId);
      const scores = new Map<string, WorkerScore>();
      for (const r of replicas) {
        if (r.workerId === null || r.answer === null || scores.has(r.workerId)) continue;
        const row = this.s.score.get(r.workerId) as Record<string, unknown> | undefined;
        if (row) scores.set(r.workerId, toScore(row));
      }
      const judgment = judge(group, replicas, scores);
      for (const v of judgment.verdicts) this.s.judge.run(v.verdict, v.replicaId);
      for (const s of judgment.scores) this.s.upsertScore.run(s);
      if (judgment.decided) this.s.decideGroup.run(now, json(judgment.decided.canonical), group.parentId);
      for (const id of judgment.more) this.s.insertReplica.run(id, group.parentId, now);
      outcome = { group, replicas: this.readReplicas(group.parentId), judgment };
    });
    return outcome;
  }

  async cancelGroup(parentId: string, now: number): Promise<string[]> {
    let unanswered: string[] = [];
    await this.commit.write(() => {
      this.s.decideGroup.run(now, null, parentId);
      unanswered = this.readReplicas(parentId).filter((r) => r.answer === null && r.verdict === null).map((r) => r.replicaId);
    });
    return unanswered;
  }

  async openGroups(): Promise<GroupRow[]> {
    return (this.s.openGroups.all() as Array<Record<string, unknown>>).map(toGroup);
  }

  async group(parentId: string): Promise<GroupRow | null> {
    return this.readGroup(parentId);
  }

  async replicasOf(parentId: string): Promise<ReplicaRow[]> {
    return this.readReplicas(parentId);
  }

  async lookup(taskIds: string[]): Promise<{ replicas: Map<string, string>; parents: Set<string> }> {
    const replicas = new Map<string, string>();
    const parents = new Set<string>();
    for (const id of taskIds) {
      const r = this.s.replica.get(id) as Record<string, unknown> | undefined;
      if (r) replicas.set(id, r.parent_id as string);
      else if (this.s.group.get(id)) parents.add(id);
    }
    return { replicas, parents };
  }

  async exclusions(parentIds: string[]): Promise<Map<string, { distinct: QuorumSpec['distinct']; workers: string[] }>> {
    const out = new Map<string, { distinct: QuorumSpec['distinct']; workers: string[] }>();
    for (const id of parentIds) {
      const group = this.readGroup(id);
      if (group) out.set(id, { distinct: group.spec.distinct, workers: this.s.usedWorkers.all({ parentId: id }) as string[] });
    }
    return out;
  }

  async quarantined(): Promise<string[]> {
    return this.s.quarantined.all() as string[];
  }

  top(limit: number): WorkerScore[] {
    return (this.s.top.all(limit) as Array<Record<string, unknown>>).map(toScore);
  }

  async leaderboard(sort: LeaderboardSort, order: 'asc' | 'desc', limit: number, offset: number): Promise<{ workers: WorkerScore[]; total: number }> {
    const rows = this.s.page[`${sort}:${order}`].all(limit, offset) as Array<Record<string, unknown>>;
    return { workers: rows.map(toScore), total: this.s.countScores.get() as number };
  }

  async purgeOrphans(): Promise<number> {
    let n = 0;
    await this.commit.write(() => {
      this.s.purgeReplicas.run();
      n = this.s.purgeGroups.run().changes;
    });
    return n;
  }

  private readGroup(parentId: string): GroupRow | null {
    const r = this.s.group.get(parentId) as Record<string, unknown> | undefined;
    return r ? toGroup(r) : null;
  }

  private readReplicas(parentId: string): ReplicaRow[] {
    return (this.s.replicasOf.all(parentId) as Array<Record<string, unknown>>).map(toReplica);
  }
}
