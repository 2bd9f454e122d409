/**
 * Jobs and counters read from PostgreSQL: the whole fleet's, since every foreman writes there.
 * A job's counters are counted from its tasks when asked (one index range per job); the totals by
 * state are in pg-totals.ts.
 */
import { emptyCounts, type JobState } from '../../task-tally.js';
import type { TaskState } from '../../task-types.js';
import { toJob, type JobRow } from '../task-rows.js';
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

export async function getJobHead(db: PgDb, id: string): Promise<JobRow | null> {
  const { rows } = await db.query('SELECT * FROM jobs WHERE id = $1', [id]);
  return rows[0] ? toJob(rows[0]) : null;
}

export async function recentJobs(db: PgDb, limit: number): Promise<JobState[]> {
  const { rows } = await db.query(`SELECT j.*, ${JOB_COUNTS} FROM (SELECT * FROM jobs ORDER BY created_at DESC, id DESC LIMIT $1) j ORDER BY j.created_at DESC, j.id DESC`, [limit]);
  return rows.map(toJobState);
}
