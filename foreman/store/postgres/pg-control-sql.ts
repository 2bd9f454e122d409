/**
 * The statements behind the API's commands on tasks and jobs (cancel, close, retry, purge), one
 * compare-and-set each: a cancel takes a task only from a state it can leave, a retry only from a
 * settled one. The ledger announces what they changed to the other foremen.
 */
import { errorText, parseError } from '../task-rows.js';
import type { SettledTask } from '../../ledger.js';
import { CANCELLED_QUEUED } from '../../task-outcome.js';
import { HELD_RUN_AT, type TaskState } from '../../task-types.js';
import type { TaskFilter } from '../task-search.js';
import type { PgDb } from './pg-db.js';
import { filterConditions } from './pg-search.js';

/** One task, or every task of one job. */
export type Target = { id: string } | { jobId: string };

const where = (t: Target): string => ('id' in t ? 'id = $1' : 'job_id = $1');
const value = (t: Target): string => ('id' in t ? t.id : t.jobId);

/** A running task whose cancel must reach the foreman holding it. */
export interface Cancelling {
  taskId: string;
  attempt: number;
  workerId: string;
  foremanId: string | null;
}

const SETTLED_RETURNING = 'id, job_id, idem_key, type, state, status, error, attempt, worker_id, started_at, finished_at';

interface SettledRow {
  id: string; job_id: string | null; idem_key: string | null; type: string; state: SettledTask['state']; status: string | null;
  error: string | null; attempt: number; worker_id: string | null; started_at: number | null; finished_at: number;
}

const toSettled = (r: SettledRow): SettledTask => ({
  id: r.id, jobId: r.job_id, key: r.idem_key, type: r.type, state: r.state, status: r.status, result: null, error: parseError(r.error),
  attempt: r.attempt, workerId: r.worker_id, startedAt: r.started_at, finishedAt: r.finished_at,
});

/** Cancels the target's tasks that are queued (or claimed, not yet handed out): settled at once. */
export async function cancelQueued(db: PgDb, target: Target, now: number): Promise<SettledTask[]> {
  const { rows } = await db.query<SettledRow>(
    `UPDATE tasks SET state = 'cancelled', error = $2, finished_at = $3, foreman_id = NULL
     WHERE ${where(target)} AND state IN ('queued', 'claimed') RETURNING ${SETTLED_RETURNING}`,
    [value(target), errorText(CANCELLED_QUEUED), now],
  );
  return rows.map(toSettled);
}

/** Marks the target's running tasks `cancelling`; their foremen push the cancel to the workers. */
export async function markCancelling(db: PgDb, target: Target): Promise<Cancelling[]> {
  const { rows } = await db.query<{ id: string; attempt: number; worker_id: string; foreman_id: string | null }>(
    `UPDATE tasks SET state = 'cancelling' WHERE ${where(target)} AND state = 'running' RETURNING id, attempt, worker_id, foreman_id`,
    [value(target)],
  );
  return rows.map((r) => ({ taskId: r.id, attempt: r.attempt, workerId: r.worker_id, foremanId: r.foreman_id }));
}

/** A task's state as the API shows it, or null. */
export async function stateOf(db: PgDb, id: string): Promise<TaskState | null> {
  const { rows } = await db.query<{ state: TaskState }>(`SELECT CASE WHEN state = 'claimed' THEN 'queued' ELSE state END AS state FROM tasks WHERE id = $1`, [id]);
  return rows[0]?.state ?? null;
}

/** Closes a job (and, with `cancel`, marks it cancelled); false for an unknown job. */
export async function closeJobRow(db: PgDb, jobId: string, now: number, cancel: boolean): Promise<boolean> {
  const { rows } = await db.query(
    `UPDATE jobs SET closed_at = coalesce(closed_at, $2)${cancel ? ', cancelled_at = coalesce(cancelled_at, $2)' : ''} WHERE id = $1 RETURNING id`,
    [jobId, now],
  );
  return rows.length > 0;
}

export async function jobExists(db: PgDb, jobId: string): Promise<boolean> {
  return (await db.query('SELECT 1 FROM jobs WHERE id = $1', [jobId])).rows.length > 0;
}

/**
 * Requeues settled tasks matching `filter` with a fresh budget; returns their types. A held task (a
 * quorum task) is left alone, as on SQLite: requeued, it would run once, as a plain task, unchecked.
 */
export async function requeueSettled(db: PgDb, filter: TaskFilter & { state: 'failed' | 'cancelled' }, now: number): Promise<string[]> {
  const values: unknown[] = [now, HELD_RUN_AT];
  const conditions = [...filterConditions(filter, values), 't.run_at <> $2'];
  const { rows } = await db.query<{ type: string }>(
    `UPDATE tasks t SET state = 'queued', status = NULL, result = NULL, worker_id = NULL, foreman_id = NULL, failures = 0, losses = 0,
       run_at = $1, finished_at = NULL WHERE ${conditions.join(' AND ')} RETURNING t.type`,
    values,
  );
  return rows.map((r) => r.type);
}

/** Requeues one failed or cancelled task with a fresh budget; returns its type, or null when it is not settled that way. */
export async function requeueTask(db: PgDb, id: string, now: number): Promise<string | null> {
  const { rows } = await db.query<{ type: string }>(
    `UPDATE tasks SET state = 'queued', status = NULL, result = NULL, worker_id = NULL, foreman_id = NULL, failures = 0, losses = 0,
       run_at = $2, finished_at = NULL WHERE id = $1 AND state IN ('failed', 'cancelled') RETURNING type`,
    [id, now],
  );
  return rows[0]?.type ?? null;
}

/** Deletes up to `limit` tasks settled before `cutoff` (with their history and dependency edges), and emptied closed jobs; returns how many tasks. */
export async function purgeSettled(db: PgDb, cutoff: number, limit: number): Promise<number> {
  const { rows } = await db.query<{ seq: number }>(
    `WITH gone AS (
       DELETE FROM tasks WHERE seq IN (
         SELECT seq FROM tasks WHERE state IN ('succeeded', 'failed', 'cancelled') AND finished_at < $1 ORDER BY seq LIMIT $2)
       RETURNING seq, id
     ), history AS (DELETE FROM attempts WHERE task_seq IN (SELECT seq FROM gone)),
     -- A purged task's own edges (foreman/dependencies/); those naming it as a parent go with their children.
     deps AS (DELETE FROM task_deps WHERE child_id IN (SELECT id FROM gone))
     SELECT seq FROM gone`,
    [cutoff, limit],
  );
  await db.query('DELETE FROM jobs j WHERE closed_at IS NOT NULL AND closed_at < $1 AND NOT EXISTS (SELECT 1 FROM tasks WHERE job_id = j.id)', [cutoff]);
  return rows.length;
}
