/**
 * The quorum tables in PostgreSQL (migration 5), shared by every foreman. Replicas of one group may
 * be run by workers on different foremen, so their answers arrive at different foremen: each vote is
 * one transaction that takes the group's row lock (FOR UPDATE), records the answer, reads the group
 * as it now stands, judges it (tally.ts) and writes the verdicts, scores and decision. Votes on one
 * group are therefore serialised fleet-wide: exactly one decides it, and each answer is scored once.
 *
 * A worker's score is read and rewritten under a transaction-level advisory lock on its id (taken in
 * id order, after the group's row lock, so two votes cannot wait on each other): votes on different
 * groups judging the same worker never lose one another's update, even for a worker with no row yet.
 */
import type pg from 'pg';
import { encodeValue } from '../../shared/codec.js';
import type { QuorumSpec } from './quorum-spec.js';
import { json, toGroup, toReplica, toScore } from './quorum-rows.js';
import type { Ballot, GroupRow, Judge, LeaderboardSort, NewGroup, QuorumStore, ReplicaRow, VoteOutcome, WorkerScore } from './quorum-store.js';
import type { PgDb } from '../store/postgres/pg-db.js';
import { HELD_RUN_AT } from '../task-types.js';

/** The first key of the advisory locks on worker scores (the second is the id's hash); other locks use one bigint key. */
const SCORE_LOCK = 7042;

export class PgQuorumStore implements QuorumStore {
  readonly shared = true;

  constructor(private readonly db: PgDb) {}

  async insertGroups(groups: NewGroup[], now: number): Promise<void> {
    if (groups.length === 0) return;
    await this.db.transaction(async (c) => {
      await c.query(
        `INSERT INTO quorum_groups (parent_id, spec, template, created_at) SELECT * , $4::bigint FROM unnest($1::text[], $2::text[], $3::bytea[])`,
        [groups.map((g) => g.parentId), groups.map((g) => JSON.stringify(g.spec)), groups.map((g) => encodeValue(g.template)), now],
      );
      const replicas = groups.flatMap((g) => g.replicaIds.map((id) => [id, g.parentId]));
      await c.query(`INSERT INTO quorum_replicas (replica_id, parent_id, created_at) SELECT *, $3::bigint FROM unnest($1::text[], $2::text[])`, [
        replicas.map((r) => r[0]),
        replicas.map((r) => r[1]),
        now,
      ]);
    });
  }

  async deleteGroups(parentIds: string[]): Promise<void> {
    if (parentIds.length === 0) return;
    await this.db.transaction(async (c) => {
      await c.query('DELETE FROM quorum_replicas WHERE parent_id = ANY($1::text[])', [parentIds]);
      await c.query('DELETE FROM quorum_groups WHERE parent_id = ANY($1::text[])', [parentIds]);
    });
  }

  vote(replicaId: string, ballot: Ballot, judge: Judge, now: number): Promise<VoteOutcome | null> {
    return this.db.transaction(async (c) => {
      const own = await c.query<{ parent_id: string }>('SELECT parent_id FROM quorum_replicas WHERE replica_id = $1', [replicaId]);
      if (own.rows.length === 0) return null;
      const parentId = own.rows[0].parent_id;
      // Every vote on this group, from any foreman, waits here for the one before it.
      const g = await c.query('SELECT * FROM quorum_groups WHERE parent_id = $1 FOR UPDATE', [parentId]);
      if (g.rows.length === 0) return null;
      const group = toGroup(g.rows[0]);
      const recorded = 'answer' in ballot
        ? await c.query(`UPDATE quorum_replicas SET worker_id = $2, answer = $3 WHERE replica_id = $1 AND answer IS NULL AND verdict IS NULL`, [replicaId, ballot.workerId, JSON.stringify(ballot.answer)])
        : await c.query(`UPDATE quorum_replicas SET worker_id = $2, verdict = 'cancelled' WHERE replica_id = $1 AND answer IS NULL AND verdict IS NULL`, [replicaId, ballot.workerId]);
      // Recorded already (a foreman picking up open groups at its start got there first).
      if (recorded.rowCount === 0) return null;
      const replicas = await readReplicas(c, parentId);
      const workers = [...new Set(replicas.filter((r) => r.workerId !== null && r.answer !== null && r.verdict === null).map((r) => r.workerId as string))].sort();
      const scores = new Map<string, WorkerScore>();
      if (workers.length > 0) {
        await c.query(`SELECT pg_advisory_xact_lock($2, hashtext(w)) FROM (SELECT w FROM unnest($1::text[]) AS w ORDER BY w) s`, [workers, SCORE_LOCK]);
        const { rows } = await c.query('SELECT * FROM worker_scores WHERE worker_id = ANY($1::text[])', [workers]);
        for (const r of rows) scores.set(r.worker_id as string, toScore(r));
      }
      const judgment = judge(group, replicas, scores);
      const { verdicts, decided, more } = judgment;
      if (verdicts.length > 0) {
        await c.query(`UPDATE quorum_replicas r SET verdict = v.verdict FROM unnest($1::text[], $2::text[]) AS v(id, verdict) WHERE r.replica_id = v.id`, [
          verdicts.map((v) => v.replicaId),
          verdicts.map((v) => v.verdict),
        ]);
      }
      if (judgment.scores.length > 0) {
        const s = judgment.scores;
        await c.query(
          `INSERT INTO worker_scores (worker_id, points, valid, invalid, errors, reputation, streak, quarantined_at, updated_at)
           SELECT * FROM unnest($1::text[], $2::float8[], $3::int[], $4::int[], $5::int[], $6::float8[], $7::int[], $8::bigint[], $9::bigint[])
           ON CONFLICT (worker_id) DO UPDATE SET points = excluded.points, valid = excluded.valid, invalid = excluded.invalid,
             errors = excluded.errors, reputation = excluded.reputation, streak = excluded.streak,
             quarantined_at = excluded.quarantined_at, updated_at = excluded.updated_at`,
          [s.map((x) => x.workerId), s.map((x) => x.points), s.map((x) => x.valid), s.map((x) => x.invalid), s.map((x) => x.errors),
            s.map((x) => x.reputation), s.map((x) => x.streak), s.map((x) => x.quarantinedAt), s.map((x) => x.updatedAt)],
        );
      }
      if (decided) await c.query('UPDATE quorum_groups SET decided_at = $2, canonical = $3 WHERE parent_id = $1 AND decided_at IS NULL', [parentId, now, json(decided.canonical)]);
      if (more.length > 0) {
        await c.query(`INSERT INTO quorum_replicas (replica_id, parent_id, created_at) SELECT id, $2, $3::bigint FROM unnest($1::text[]) AS id`, [more, parentId, now]);
      }
      const verdictOf = new Map(verdicts.map((v) => [v.replicaId, v.verdict]));
      const after: ReplicaRow[] = [
        ...replicas.map((r) => ({ ...r, verdict: verdictOf.get(r.replicaId) ?? r.verdict })),
        ...more.map((id) => ({ replicaId: id, parentId, workerId: null, answer: null, verdict: null })),
      ];
      return { group, replicas: after, judgment };
    });
  }

  cancelGroup(parentId: string, now: number): Promise<string[]> {
    return this.db.transaction(async (c) => {
      await c.query('SELECT 1 FROM quorum_groups WHERE parent_id = $1 FOR UPDATE', [parentId]);
      await c.query('UPDATE quorum_groups SET decided_at = $2 WHERE parent_id = $1 AND decided_at IS NULL', [parentId, now]);
      const { rows } = await c.query<{ replica_id: string }>(
        'SELECT replica_id FROM quorum_replicas WHERE parent_id = $1 AND answer IS NULL AND verdict IS NULL ORDER BY created_at, replica_id',
        [parentId],
      );
      return rows.map((r) => r.replica_id);
    });
  }

  async openGroups(): Promise<GroupRow[]> {
    const { rows } = await this.db.query(
      `SELECT * FROM quorum_groups g WHERE g.decided_at IS NULL
         OR EXISTS (SELECT 1 FROM quorum_replicas r WHERE r.parent_id = g.parent_id AND r.verdict IS NULL)
         OR EXISTS (SELECT 1 FROM tasks t WHERE t.id = g.parent_id AND t.state = 'queued')
       ORDER BY g.parent_id`,
    );
    return rows.map(toGroup);
  }

  async stranded(before: number): Promise<GroupRow[]> {
    // Both halves walk a partial index of few rows: replicas not answered yet, and held tasks.
    const { rows } = await this.db.query(
      `SELECT * FROM quorum_groups WHERE parent_id IN (
         SELECT r.parent_id FROM quorum_replicas r LEFT JOIN tasks t ON t.id = r.replica_id
         WHERE r.answer IS NULL AND r.verdict IS NULL AND r.created_at < $1 AND (t.id IS NULL OR t.finished_at < $1)
         UNION
         SELECT g.parent_id FROM tasks p JOIN quorum_groups g ON g.parent_id = p.id
         WHERE p.state = 'queued' AND p.run_at = $2 AND g.decided_at < $1)`,
      [before, HELD_RUN_AT],
    );
    return rows.map(toGroup);
  }

  async group(parentId: string): Promise<GroupRow | null> {
    const { rows } = await this.db.query('SELECT * FROM quorum_groups WHERE parent_id = $1', [parentId]);
    return rows.length === 0 ? null : toGroup(rows[0]);
  }

  replicasOf(parentId: string): Promise<ReplicaRow[]> {
    return readReplicas(this.db, parentId);
  }

  async lookup(taskIds: string[]): Promise<{ replicas: Map<string, string>; parents: Set<string> }> {
    const { rows } = await this.db.query<{ id: string; parent_id: string; kind: string }>(
      `SELECT replica_id AS id, parent_id, 'replica' AS kind FROM quorum_replicas WHERE replica_id = ANY($1::text[])
       UNION ALL SELECT parent_id, parent_id, 'parent' FROM quorum_groups WHERE parent_id = ANY($1::text[])`,
      [taskIds],
    );
    const replicas = new Map<string, string>();
    const parents = new Set<string>();
    for (const r of rows) {
      if (r.kind === 'replica') replicas.set(r.id, r.parent_id);
      else parents.add(r.id);
    }
    return { replicas, parents };
  }

  async exclusions(parentIds: string[]): Promise<Map<string, { distinct: QuorumSpec['distinct']; workers: string[] }>> {
    // Every worker a sibling ran on: its answer's, its current attempt's, and each earlier attempt's (lost ones too).
    const { rows } = await this.db.query<{ parent_id: string; spec: string; workers: string[] | null }>(
      `SELECT g.parent_id, g.spec, (
         SELECT array_agg(DISTINCT w) FROM (
           SELECT r.worker_id AS w FROM quorum_replicas r WHERE r.parent_id = g.parent_id AND r.worker_id IS NOT NULL
           UNION SELECT t.worker_id FROM quorum_replicas r JOIN tasks t ON t.id = r.replica_id WHERE r.parent_id = g.parent_id AND t.worker_id IS NOT NULL
           UNION SELECT a.worker_id FROM quorum_replicas r JOIN tasks t ON t.id = r.replica_id JOIN attempts a ON a.task_seq = t.seq WHERE r.parent_id = g.parent_id
         ) used) AS workers
       FROM quorum_groups g WHERE g.parent_id = ANY($1::text[])`,
      [parentIds],
    );
    return new Map(rows.map((r) => [r.parent_id, { distinct: (JSON.parse(r.spec) as QuorumSpec).distinct, workers: r.workers ?? [] }]));
  }

  async quarantined(): Promise<string[]> {
    const { rows } = await this.db.query<{ worker_id: string }>('SELECT worker_id FROM worker_scores WHERE quarantined_at IS NOT NULL');
    return rows.map((r) => r.worker_id);
  }

  async top(limit: number): Promise<WorkerScore[]> {
    const { rows } = await this.db.query('SELECT * FROM worker_scores ORDER BY points DESC, reputation DESC, worker_id LIMIT $1', [limit]);
    return rows.map(toScore);
  }

  async leaderboard(sort: LeaderboardSort, order: 'asc' | 'desc', limit: number, offset: number): Promise<{ workers: WorkerScore[]; total: number }> {
    // `sort` and `order` come from the route's enums (LEADERBOARD_SORTS), never from free text.
    const [page, count] = await Promise.all([
      this.db.query(`SELECT * FROM worker_scores ORDER BY ${sort} ${order === 'asc' ? 'ASC' : 'DESC'}, worker_id LIMIT $1 OFFSET $2`, [limit, offset]),
      this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM worker_scores'),
    ]);
    return { workers: page.rows.map(toScore), total: count.rows[0].n };
  }

  purgeOrphans(): Promise<number> {
    return this.db.transaction(async (c) => {
      const orphans = `SELECT parent_id FROM quorum_groups g WHERE decided_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = g.parent_id)`;
      await c.query(`DELETE FROM quorum_replicas WHERE parent_id IN (${orphans})`);
      const { rowCount } = await c.query(`DELETE FROM quorum_groups WHERE parent_id IN (${orphans})`);
      return rowCount ?? 0;
    });
  }
}

async function readReplicas(c: pg.ClientBase | PgDb, parentId: string): Promise<ReplicaRow[]> {
  const { rows } = await (c as PgDb).query('SELECT * FROM quorum_replicas WHERE parent_id = $1 ORDER BY created_at, replica_id', [parentId]);
  return rows.map(toReplica);
}
