/**
 * Jobs and counters read from PostgreSQL: the whole fleet's, since every foreman writes there.
 * A job's counters are counted from its tasks when asked (one index range per job); the totals by
 * state are refreshed in the background (at most once a second) rather than kept in step with
 * every transition, which would make one counter row the hottest row in the database.
 */
import { emptyCounts, type JobState } from '../../task-tally.js';
import { TASK_STATES, type TaskState } from '../../task-types.js';
import { toJob } from '../task-rows.js';
import type { PgDb } from './pg-db.js';

const JOB_COUNTS = `coalesce((SELECT json_object_agg(s.state, s.n) FROM (
    SELECT CASE WHEN state = 'claimed' THEN 'queued' ELSE state END AS state, count(*) AS n FROM tasks WHERE job_id = j.id GROUP BY 1
  ) s), '{}'::json) AS counts`;

function toJobState(r: Record<string, unknown>): JobState {
  const counts = emptyCounts();
  let total = 0;
  for (const [state, n] of Object.entries((r.counts ?? {}) as Record<string, number>)) {
    if (!(state in counts)) continue;
    counts[state as TaskState] = Number(n);
    total += Number(n);
  }
  const job = toJob(r);
  return { ...job, total, counts, settledDurable: counts.succeeded + counts.failed + counts.cancelled, closing: job.closedAt !== null, adding: new Set() };
}

export async function getJob(db: PgDb, id: string): Promise<JobState | null> {
  const { rows } = await db.query(`SELECT j.*, ${JOB_COUNTS} FROM jobs j WHERE j.id = $1`, [id]);
  return rows[0] ? toJobState(rows[0]) : null;
}

export async function recentJobs(db: PgDb, limit: number): Promise<JobState[]> {
  const { rows } = await db.query(`SELECT j.*, ${JOB_COUNTS} FROM (SELECT * FROM jobs ORDER BY created_at DESC, id DESC LIMIT $1) j ORDER BY j.created_at DESC, j.id DESC`, [limit]);
  return rows.map(toJobState);
}

export interface Totals {
  counts: Record<TaskState, number>;
  jobs: number;
  oldestQueuedAt: number | null;
}

/** Tasks by state in the whole store, the number of jobs, and the oldest queued task's submission time. */
export async function readTotals(db: PgDb): Promise<Totals> {
  const { rows } = await db.query<{ state: string | null; n: number; jobs: number; oldest: number | null }>(
    `SELECT s.state, s.n, (SELECT count(*) FROM jobs) AS jobs,
       (SELECT min(created_at) FROM tasks WHERE state IN ('queued', 'claimed') AND finished_at IS NULL) AS oldest
     FROM (SELECT CASE WHEN state = 'claimed' THEN 'queued' ELSE state END AS state, count(*) AS n FROM tasks GROUP BY 1) s
     RIGHT JOIN (SELECT 1) one ON true`,
  );
  const counts = emptyCounts();
  for (const r of rows) if (r.state !== null && TASK_STATES.includes(r.state as TaskState)) counts[r.state as TaskState] = Number(r.n);
  return { counts, jobs: Number(rows[0]?.jobs ?? 0), oldestQueuedAt: rows[0]?.oldest ?? null };
}
