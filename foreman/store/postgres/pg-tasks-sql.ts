/**
 * The statements that move tasks outside the per-turn batch (pg-turn.ts): claiming ready tasks,
 * submitting, cancelling, retrying, adopting a worker's tasks, purging. Each is one statement
 * whose conditions are its compare-and-set: several foremen run them at once.
 */
import type pg from 'pg';
import { encodeValue } from '../../../shared/codec.js';
import { newTimeOrderedId } from '../../../shared/ids.js';
import { HELD_RUN_AT, type LiveTask, type TaskInput } from '../../task-types.js';
import { LedgerError } from '../../ledger-error.js';
import { startAtOf } from '../../start-at.js';
import type { NewJob } from '../../ledger.js';
import { unblob } from '../task-rows.js';
import type { PgDb } from './pg-db.js';
import { jobRefusal } from './pg-submit-one.js';

/** Columns of a task held in memory, as `toLive` reads them. */
const LIVE_COLUMNS = `t.seq, t.id, t.job_id, t.idem_key, t.type, t.priority, t.state, t.attempt, t.failures, t.losses, t.max_attempts,
  t.timeout_ms, t.worker_id, t.run_at, t.created_at, t.started_at`;

interface LiveRow {
  seq: number; id: string; job_id: string | null; idem_key: string | null; type: string; priority: number; state: string;
  attempt: number; failures: number; losses: number; max_attempts: number; timeout_ms: number | null; worker_id: string | null;
  run_at: number; created_at: number; started_at: number | null; params?: Buffer | null;
  cp_state?: Buffer | null; cp_attempt?: number | null; cp_saved_at?: number | null;
  parent_ids?: string[] | null; parent_results?: Array<Buffer | null> | null; quorum_parent?: string | null;
}

function toLive(r: LiveRow): LiveTask {
  return {
    seq: r.seq, id: r.id, jobId: r.job_id, key: r.idem_key, type: r.type, priority: r.priority,
    params: r.params === undefined ? undefined : unblob(r.params), paramsLoaded: r.params !== undefined,
    state: r.state === 'cancelling' ? 'cancelling' : r.state === 'running' ? 'running' : 'queued',
    attempt: r.attempt, failures: r.failures, losses: r.losses, maxAttempts: r.max_attempts, timeoutMs: r.timeout_ms,
    workerId: r.worker_id, runAt: r.run_at, createdAt: r.created_at, startedAt: r.started_at, progress: null, queued: false,
    ...(r.cp_state ? { storedCheckpoint: { state: r.cp_state, attempt: r.cp_attempt as number, savedAt: r.cp_saved_at as number } } : {}),
    ...(r.parent_ids ? { parentResults: parentResultsOf(r.parent_ids, r.parent_results ?? []) } : {}),
    ...(r.quorum_parent ? { quorumParent: r.quorum_parent } : {}),
  };
}

function parentResultsOf(ids: string[], results: Array<Buffer | null>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  ids.forEach((id, i) => (out[id] = unblob(results[i] ?? null)));
  return out;
}

/**
 * Claims up to `want` ready tasks of each type (and `total` in all), best first (priority, then
 * oldest), skipping rows another foreman is claiming right now. They become `claimed` by `foremanId`.
 * Each type walks its own slice of the ready index with a literal-free LIMIT taken from the array,
 * so the planner cannot fall back to a scan of the table. Types with a fleet-wide limit or a pause
 * in force are left alone: their claims go through pg-limited-claim.ts, under the limit's lock.
 * @param workers this foreman's workers: a quorum replica whose siblings ran on every one of them is
 *   left for other foremen (it could run on none of these); null claims without looking.
 */
export async function claimReady(db: PgDb, foremanId: string, want: Map<string, number>, total: number, now: number, workers: readonly string[] | null = null): Promise<LiveTask[]> {
  return claimReadyOn({ query: (text, values) => db.queryRelaxed(text, values) }, foremanId, want, total, now, false, workers);
}

/**
 * `claimReady` on a given connection. `limitsChecked`: the caller holds the wanted types' limit rows
 * locked and sized `want` by them (pg-limited-claim.ts), so limited types are claimed too.
 */
export async function claimReadyOn(
  q: { query(text: string, values: unknown[]): Promise<pg.QueryResult> },
  foremanId: string,
  want: Map<string, number>,
  total: number,
  now: number,
  limitsChecked: boolean,
  workers: readonly string[] | null = null,
): Promise<LiveTask[]> {
  const { rows } = (await q.query(
    `WITH cand AS (
       SELECT c.seq, c.priority, c.id FROM (
         SELECT * FROM unnest($2::text[], $3::int[]) AS w(type, n)
         WHERE $6 OR NOT EXISTS (
           SELECT 1 FROM type_limits l WHERE l.type = w.type
             AND (l.max_running IS NOT NULL OR l.rate_per_second IS NOT NULL OR l.paused_until > (extract(epoch from clock_timestamp()) * 1000)::bigint))
       ) w
       CROSS JOIN LATERAL (
         SELECT seq, priority, id FROM tasks k
         WHERE state = 'queued' AND type = w.type AND run_at <= $4
           AND ($7::text[] IS NULL OR NOT EXISTS (
             SELECT 1 FROM quorum_replicas q WHERE q.replica_id = k.id AND NOT EXISTS (
               SELECT 1 FROM unnest($7::text[]) AS mine(id) WHERE NOT EXISTS (
                 SELECT 1 FROM quorum_replicas s JOIN tasks st ON st.id = s.replica_id
                 WHERE s.parent_id = q.parent_id AND (st.worker_id = mine.id OR s.worker_id = mine.id)))))
         ORDER BY priority DESC, seq LIMIT w.n
         FOR UPDATE SKIP LOCKED
       ) c
     ), pick AS (SELECT seq, id FROM cand ORDER BY priority DESC, seq LIMIT $5)
     UPDATE tasks t SET state = 'claimed', foreman_id = $1
     -- The latest checkpoint rides along: the next attempt resumes from it, whichever foreman took it.
     -- So do a dependent task's parents' results (task_deps), for ctx.parents, and the quorum task a
     -- replica belongs to (its exclusion is read before it is dispatched).
     FROM pick LEFT JOIN checkpoints cp ON cp.task_id = pick.id
       LEFT JOIN LATERAL (
         SELECT array_agg(d.parent_id) AS ids, array_agg(p.result) AS results
         FROM task_deps d LEFT JOIN tasks p ON p.id = d.parent_id WHERE d.child_id = pick.id
       ) deps ON true
       LEFT JOIN quorum_replicas qr ON qr.replica_id = pick.id
     WHERE t.seq = pick.seq
     RETURNING ${LIVE_COLUMNS}, t.params, cp.state AS cp_state, cp.attempt AS cp_attempt, cp.saved_at AS cp_saved_at,
       deps.ids AS parent_ids, deps.results AS parent_results, qr.parent_id AS quorum_parent`,
    [foremanId, [...want.keys()], [...want.values()], now, total, limitsChecked, workers],
  )) as pg.QueryResult<LiveRow>;
  rows.sort((a, b) => b.priority - a.priority || a.seq - b.seq);
  return rows.map(toLive);
}

/** Gives claims that were not handed out back to the queue (this foreman's only). */
export async function unclaim(db: PgDb, foremanId: string, seqs: number[]): Promise<string[]> {
  // Durable: a hand-back lost in a crash would leave the tasks claimed by a foreman that forgot them.
  const { rows } = await db.query<{ type: string }>(
    `UPDATE tasks SET state = 'queued', foreman_id = NULL WHERE seq = ANY($2::bigint[]) AND state = 'claimed' AND foreman_id = $1 RETURNING type`,
    [foremanId, seqs],
  );
  return rows.map((r) => r.type);
}

/** Gives every claim of foreman `foremanId` back to the queue (it died); returns the tasks' types. */
export async function unclaimAll(db: PgDb, foremanId: string): Promise<string[]> {
  const { rows } = await db.query<{ type: string }>(
    `UPDATE tasks SET state = 'queued', foreman_id = NULL WHERE foreman_id = $1 AND state = 'claimed' RETURNING type`,
    [foremanId],
  );
  return rows.map((r) => r.type);
}

/** The running tasks whose owner is `foremanId`. */
export async function runningOf(db: PgDb, foremanId: string): Promise<LiveTask[]> {
  const { rows } = await db.query<LiveRow>(
    `SELECT ${LIVE_COLUMNS} FROM tasks t WHERE foreman_id = $1 AND state IN ('running', 'cancelling')`,
    [foremanId],
  );
  return rows.map(toLive);
}

/**
 * Takes over the running tasks of `workerId` (it said hello here): whichever foreman held them,
 * this one does now. Returns them, as the store has them.
 */
export async function adoptWorkerTasks(db: PgDb, foremanId: string, workerId: string): Promise<LiveTask[]> {
  const { rows } = await db.query<LiveRow>(
    `UPDATE tasks t SET foreman_id = $1 WHERE worker_id = $2 AND state IN ('running', 'cancelling') RETURNING ${LIVE_COLUMNS}`,
    [foremanId, workerId],
  );
  return rows.map(toLive);
}

export interface Submitted {
  ids: string[];
  /** Types of the tasks actually inserted (for the work notification). */
  types: Set<string>;
}

/**
 * Rows per INSERT: keeps each statement's parameters well under the protocol's limits, and the turn
 * that builds and serializes them short (5,000 rows took ~40 ms of one turn, the driver escaping
 * every array element); the round trips in between let the foreman serve others.
 */
const INSERT_CHUNK = 1000;

/**
 * Inserts a job (optionally) and its tasks in one transaction, and announces the new work to every
 * foreman at commit. A task whose idempotency key exists already (from any foreman, or earlier in
 * this batch) comes back as that task's id instead, if it has the same type and params.
 * @throws LedgerError KEY_CONFLICT when a key names a task of another type or params; JOB_NOT_FOUND or
 *   JOB_CLOSED when adding to a job that does not exist or was closed (the row lock makes a close wait
 *   for additions in flight, so a close covers every addition accepted before it); the unique
 *   violation when `newJob` has a key another job took first (the route answers with that job).
 */
export async function submitTasks(
  db: PgDb,
  inputs: TaskInput[],
  jobId: string | null,
  newJob: NewJob | undefined,
  keyField: (i: number) => string,
  defaultMaxAttempts: number,
  now: number,
): Promise<Submitted> {
  return db.transaction(async (client: pg.PoolClient) => {
    if (jobId && newJob) {
      await client.query('INSERT INTO jobs (id, idem_key, created_at, closed_at, params) VALUES ($1, $2, $3, $4, $5)', [
        jobId, newJob.key, now, newJob.open ? null : now, newJob.params ? encodeValue(newJob.params) : null,
      ]);
    } else if (jobId) {
      const { rows } = await client.query<{ closed_at: number | null }>('SELECT closed_at FROM jobs WHERE id = $1 FOR SHARE', [jobId]);
      const refusal = jobRefusal(jobId, rows[0]);
      if (refusal) throw refusal;
    }
    const ids: string[] = new Array(inputs.length);
    const types = new Set<string>();
    const keyed = new Map<string, number[]>();
    for (let start = 0; start < inputs.length; start += INSERT_CHUNK) {
      const chunk = inputs.slice(start, start + INSERT_CHUNK);
      // Encoded a chunk at a time, between the chunks' round trips: all at once held the event loop for
      // 100-200 ms in one turn for a 200,000-line import.
      const params = chunk.map((t) => encodeValue(t.params ?? null));
      // A room (quorum, dependencies) may have made a task's id in advance.
      const rowIds = chunk.map((t) => t.id ?? newTimeOrderedId('t_'));
      const { rows } = await client.query<{ id: string; type: string }>(
        `INSERT INTO tasks (id, job_id, idem_key, type, params, priority, state, max_attempts, timeout_ms, run_at, created_at)
         SELECT v.id, $1, v.idem_key, v.type, v.params, v.priority, 'queued', v.max_attempts, v.timeout_ms, v.run_at, $2
         FROM unnest($3::text[], $4::text[], $5::text[], $6::bytea[], $7::int[], $8::int[], $9::int[], $10::bigint[])
           AS v(id, idem_key, type, params, priority, max_attempts, timeout_ms, run_at)
         ON CONFLICT (idem_key) WHERE idem_key IS NOT NULL DO NOTHING
         RETURNING id, type`,
        [
          jobId,
          now,
          rowIds,
          chunk.map((t) => t.key ?? null),
          chunk.map((t) => t.type),
          params,
          chunk.map((t) => t.priority ?? 0),
          chunk.map((t) => t.maxAttempts ?? defaultMaxAttempts),
          chunk.map((t) => t.timeoutMs ?? null),
          // A held task is never due, so no claim takes it until it is released (pg-held-sql.ts).
          chunk.map((t) => (t.hold ? HELD_RUN_AT : startAtOf(t, now))),
        ],
      );
      const made = new Set(rows.map((r) => r.id));
      const held = new Set(chunk.filter((t) => t.hold).map((t) => t.id));
      for (const r of rows) if (!held.has(r.id)) types.add(r.type);
      for (let i = 0; i < chunk.length; i++) {
        if (made.has(rowIds[i])) ids[start + i] = rowIds[i];
        else {
          const key = chunk[i].key as string;
          keyed.set(key, [...(keyed.get(key) ?? []), start + i]);
        }
      }
    }
    if (keyed.size > 0) {
      // Keys that existed (or came twice): the task that holds each, committed or ours, is visible to this statement.
      const { rows } = await client.query<{ id: string; idem_key: string; type: string; params: Buffer | null }>(
        'SELECT id, idem_key, type, params FROM tasks WHERE idem_key = ANY($1::text[])',
        [[...keyed.keys()]],
      );
      for (const r of rows) {
        for (const i of keyed.get(r.idem_key) ?? []) {
          if (r.type !== inputs[i].type || !(r.params ?? encodeValue(null)).equals(encodeValue(inputs[i].params ?? null))) {
            throw new LedgerError(409, 'KEY_CONFLICT', `key ${JSON.stringify(r.idem_key)} already names a task with a different type or params`, keyField(i));
          }
          ids[i] = r.id;
        }
      }
    }
    // Delivered to every foreman when this transaction commits, never before.
    if (types.size > 0) await client.query(`SELECT pg_notify('gaffer_work', $1)`, [JSON.stringify([...types])]);
    return { ids, types };
  });
}

/**
 * The task a key names, or null; with `input`, KEY_CONFLICT (naming `field`) when it has another type or params.
 */
export async function taskByKey(db: PgDb, key: string, input: TaskInput | undefined, field: string): Promise<string | null> {
  const { rows } = await db.query<{ id: string; type: string; params: Buffer | null }>('SELECT id, type, params FROM tasks WHERE idem_key = $1', [key]);
  const r = rows[0];
  if (!r) return null;
  if (input && (r.type !== input.type || !(r.params ?? encodeValue(null)).equals(encodeValue(input.params ?? null)))) {
    throw new LedgerError(409, 'KEY_CONFLICT', `key ${JSON.stringify(key)} already names a task with a different type or params`, field);
  }
  return r.id;
}

/** The shared params of these jobs (null for none), by job id. */
export async function jobParamsOf(db: PgDb, jobIds: string[]): Promise<Map<string, Record<string, unknown> | null>> {
  const { rows } = await db.query<{ id: string; params: Buffer | null }>('SELECT id, params FROM jobs WHERE id = ANY($1::text[])', [jobIds]);
  return new Map(rows.map((r) => [r.id, (unblob(r.params) as Record<string, unknown> | null) ?? null]));
}
