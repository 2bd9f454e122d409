/**
 * The common small submission in one statement: tasks without idempotency keys, few enough for one
 * INSERT. The job row (made, or checked open under a share lock, so that a close waits for it as in
 * submitTasks), the tasks and the work notification are one implicit transaction: one round trip to
 * the database where submitTasks takes five (BEGIN, the job, the tasks, NOTIFY, COMMIT). On this
 * machine each round trip costs the foreman 0.3-1 ms of waking the server and being woken, so a
 * single task's 202 comes that much sooner. Keys (which read back the tasks that already hold them)
 * and large submissions (in chunks) go through submitTasks.
 */
import { encodeValue } from '../../../shared/codec.js';
import { newTimeOrderedId } from '../../../shared/ids.js';
import { LedgerError } from '../../ledger-error.js';
import type { NewJob } from '../../ledger.js';
import { startAtOf } from '../../start-at.js';
import { HELD_RUN_AT, type TaskInput } from '../../task-types.js';
import type { PgDb } from './pg-db.js';
import type { Submitted } from './pg-tasks-sql.js';

/** The most tasks one statement takes here (larger submissions are chunked by submitTasks). */
const ONE_STATEMENT_MAX = 1000;

/** Why tasks cannot be added to a job: it does not exist (404) or it was closed (409); null when it is open. */
export function jobRefusal(jobId: string, row: { closed_at: number | null } | undefined): LedgerError | null {
  if (!row) return new LedgerError(404, 'JOB_NOT_FOUND', `no job ${jobId}`, 'id');
  if (row.closed_at !== null) return new LedgerError(409, 'JOB_CLOSED', 'job is closed and takes no more tasks', 'id');
  return null;
}

/** Whether `inputs` can be submitted by `submitInOneStatement`. */
export function fitsOneStatement(inputs: readonly TaskInput[]): boolean {
  return inputs.length <= ONE_STATEMENT_MAX && inputs.every((t) => t.key === undefined || t.key === null);
}

// $1 job id (or null), $2 'none' | 'new' | 'existing', $3-$5 the new job's key, closed_at, params,
// $6 now, $7-$13 the tasks' columns, $14 the work notification's payload ('' for none).
const SUBMIT_SQL = `
  WITH made AS (
    INSERT INTO jobs (id, idem_key, created_at, closed_at, params)
    SELECT $1::text, $3::text, $6::bigint, $4::bigint, $5::bytea WHERE $2::text = 'new'
    RETURNING id
  ), existing AS (
    SELECT closed_at FROM jobs WHERE id = $1::text AND $2::text = 'existing' FOR SHARE
  ), open AS (
    SELECT $2::text <> 'existing' OR EXISTS (SELECT 1 FROM existing WHERE closed_at IS NULL) AS ok
  ), ins AS (
    INSERT INTO tasks (id, job_id, idem_key, type, params, priority, state, max_attempts, timeout_ms, run_at, created_at)
    SELECT v.id, $1::text, NULL, v.type, v.params, v.priority, 'queued', v.max_attempts, v.timeout_ms, v.run_at, $6::bigint
    FROM unnest($7::text[], $8::text[], $9::bytea[], $10::int[], $11::int[], $12::int[], $13::bigint[])
      AS v(id, type, params, priority, max_attempts, timeout_ms, run_at), open
    WHERE open.ok
    RETURNING 1
  )
  SELECT EXISTS (SELECT 1 FROM existing) AS found, (SELECT closed_at FROM existing) AS closed_at,
    (SELECT count(*) FROM ins)::int AS inserted,
    CASE WHEN $14::text <> '' AND EXISTS (SELECT 1 FROM ins) THEN pg_notify('gaffer_work', $14::text) END AS notified`;

/**
 * Inserts a job (optionally) and its tasks, and announces the new work at commit, as submitTasks
 * does for tasks without keys.
 * @throws LedgerError JOB_NOT_FOUND or JOB_CLOSED when adding to a job that does not exist or was
 *   closed; the unique violation when `newJob` has a key another job took first (the route answers
 *   with that job).
 */
export async function submitInOneStatement(
  db: PgDb,
  inputs: readonly TaskInput[],
  jobId: string | null,
  newJob: NewJob | undefined,
  defaultMaxAttempts: number,
  now: number,
): Promise<Submitted> {
  // A room (quorum, dependencies) may have made a task's id in advance.
  const ids = inputs.map((t) => t.id ?? newTimeOrderedId('t_'));
  const types = new Set(inputs.filter((t) => !t.hold).map((t) => t.type));
  const { rows } = await db.query<{ found: boolean; closed_at: number | null; inserted: number }>(SUBMIT_SQL, [
    jobId,
    jobId === null ? 'none' : newJob ? 'new' : 'existing',
    newJob?.key ?? null,
    newJob && !newJob.open ? now : null,
    newJob?.params ? encodeValue(newJob.params) : null,
    now,
    ids,
    inputs.map((t) => t.type),
    inputs.map((t) => encodeValue(t.params ?? null)),
    inputs.map((t) => t.priority ?? 0),
    inputs.map((t) => t.maxAttempts ?? defaultMaxAttempts),
    inputs.map((t) => t.timeoutMs ?? null),
    // A held task is never due, so no claim takes it until it is released (pg-held-sql.ts).
    inputs.map((t) => (t.hold ? HELD_RUN_AT : startAtOf(t, now))),
    types.size > 0 ? JSON.stringify([...types]) : '',
  ]);
  const r = rows[0];
  if (jobId !== null && !newJob) {
    const refusal = jobRefusal(jobId, r.found ? r : undefined);
    if (refusal) throw refusal;
  }
  if (r.inserted !== inputs.length) throw new Error(`submission inserted ${r.inserted} of ${inputs.length} tasks`);
  return { ids, types };
}
