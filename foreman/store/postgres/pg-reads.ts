/**
 * What the HTTP API reads from PostgreSQL: tasks, their attempts, pages of tasks, jobs by key, a
 * job's settled tasks. The same rows and shapes as the SQLite store (task-rows.ts), so the views do
 * not know which store answered. A task claimed by a foreman but not yet handed out shows as queued.
 */
import type { SettledTask, StoreReads } from '../../ledger.js';
import type { TaskState } from '../../task-types.js';
import type { SearchOrder, TaskFilter } from '../task-search.js';
import { toAttempt, toJob, toRow, type AttemptRow, type JobRow, type RawTask, type TaskRow } from '../task-rows.js';
import type { PgDb } from './pg-db.js';
import { filterConditions } from './pg-search.js';

/** Every task column as the SQLite store names them, the claim shown as queued. */
export const PG_TASK_COLUMNS = `t.seq, t.id, t.job_id, t.idem_key, t.type, t.params, t.priority,
  CASE WHEN t.state = 'claimed' THEN 'queued' ELSE t.state END AS state, t.status, t.attempt, t.failures, t.losses, t.max_attempts,
  t.timeout_ms, t.worker_id, t.run_at, t.created_at, t.started_at, t.finished_at, t.result, t.error`;

export class PgReads implements StoreReads {
  /** Refreshed with the counters (see PgLedger): the oldest queued task's submission time. */
  oldest: number | null = null;

  constructor(private readonly db: PgDb) {}

  async getTask(id: string): Promise<TaskRow | null> {
    const { rows } = await this.db.query<RawTask>(`SELECT ${PG_TASK_COLUMNS} FROM tasks t WHERE t.id = $1`, [id]);
    return rows[0] ? toRow(rows[0]) : null;
  }

  async getTasks(ids: readonly string[]): Promise<TaskRow[]> {
    const { rows } = await this.db.query<RawTask>(`SELECT ${PG_TASK_COLUMNS} FROM tasks t WHERE t.id = ANY($1::text[])`, [ids]);
    return rows.map(toRow);
  }

  /** Those of these tasks that are settled, as result streams announce them (another foreman settled them). */
  async settledByIds(ids: readonly string[]): Promise<SettledTask[]> {
    const out: SettledTask[] = [];
    for (const r of await this.getTasks(ids)) {
      if (r.state !== 'succeeded' && r.state !== 'failed' && r.state !== 'cancelled') continue;
      out.push({
        id: r.id, jobId: r.jobId, key: r.key, type: r.type, state: r.state, status: r.status, result: r.result, error: r.error,
        attempt: r.attempt, workerId: r.workerId, startedAt: r.startedAt, finishedAt: r.finishedAt ?? Date.now(),
      });
    }
    return out;
  }

  async getAttempts(seq: number): Promise<AttemptRow[]> {
    const [{ rows }, current] = await Promise.all([
      this.db.query('SELECT * FROM attempts WHERE task_seq = $1 ORDER BY attempt', [seq]),
      this.db.query<{ state: TaskState; attempt: number; worker_id: string | null; started_at: number | null; finished_at: number | null }>(
        'SELECT state, attempt, worker_id, started_at, finished_at FROM tasks WHERE seq = $1',
        [seq],
      ),
    ]);
    const out = rows.map(toAttempt);
    const t = current.rows[0];
    if (!t || t.attempt === 0 || t.worker_id === null || t.started_at === null) return out;
    const running = t.state === 'running' || t.state === 'cancelling';
    if (!running && t.state !== 'succeeded') return out;
    if (out.some((r) => r.attempt === t.attempt)) return out;
    out.push({ attempt: t.attempt, workerId: t.worker_id, startedAt: t.started_at, finishedAt: running ? null : t.finished_at, outcome: running ? null : 'succeeded', error: null });
    return out;
  }

  async searchTasks(filter: TaskFilter, afterSeq: number, limit: number, order: SearchOrder = 'asc'): Promise<TaskRow[]> {
    const values: unknown[] = [limit];
    const where = filterConditions(filter, values);
    if (order === 'asc' || afterSeq > 0) {
      values.push(afterSeq);
      where.push(`t.seq ${order === 'asc' ? '>' : '<'} $${values.length}`);
    }
    const { rows } = await this.db.query<RawTask>(
      `SELECT ${PG_TASK_COLUMNS} FROM tasks t ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY t.seq ${order === 'asc' ? 'ASC' : 'DESC'} LIMIT $1`,
      values,
    );
    return rows.map(toRow);
  }

  async getJobByKey(key: string): Promise<JobRow | null> {
    const { rows } = await this.db.query('SELECT * FROM jobs WHERE idem_key = $1', [key]);
    return rows[0] ? toJob(rows[0]) : null;
  }

  async settledOfJob(jobId: string): Promise<TaskRow[]> {
    const { rows } = await this.db.query<RawTask>(
      `SELECT ${PG_TASK_COLUMNS} FROM tasks t WHERE t.job_id = $1 AND t.state IN ('succeeded', 'failed', 'cancelled') ORDER BY t.seq`,
      [jobId],
    );
    return rows.map(toRow);
  }

  oldestQueued(): number | null {
    return this.oldest;
  }
}
