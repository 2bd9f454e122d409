/**
 * Finding tasks by any combination of filters (`GET /tasks`, `POST /tasks/retry`),
 * a page at a time in submission order either way. Each combination of filters is
 * one statement, prepared the first time it is used. The conditions are written
 * so that SQLite can use the partial indexes: a job's tasks by (job_id, seq), a
 * key by its unique index, live states by `tasks_unfinished`, failed and
 * cancelled by `tasks_failed`; other filters are checked walking seq order,
 * which stops at the page size.
 */
import type { TaskState } from '../task-types.js';
import type { Db } from './database.js';
import type { Statement } from 'better-sqlite3';
import { NOT_STAGED } from './staged-submissions.js';

/** What a search may filter on; every filter given must match. */
export interface TaskFilter {
  type?: string;
  state?: TaskState;
  /** The status a handler returned with its result. */
  status?: string;
  /** A worker that ran the current or any earlier attempt. */
  workerId?: string;
  key?: string;
  jobId?: string;
  /** Error code of the task's last failure. */
  code?: string;
  /** Created at or after, epoch ms. */
  createdAfter?: number;
  /** Created before, epoch ms. */
  createdBefore?: number;
}

export type SearchOrder = 'asc' | 'desc';

const LIVE = new Set<TaskState>(['queued', 'running', 'cancelling']);

/** Condition per filter, with how many parameters it binds. */
const CONDITIONS: { [K in keyof Required<TaskFilter>]: (f: TaskFilter) => [string, unknown[]] } = {
  type: (f) => ['t.type = ?', [f.type]],
  state: (f) => {
    const s = f.state as TaskState;
    if (LIVE.has(s)) return ['t.finished_at IS NULL AND t.state = ?', [s]];
    if (s === 'failed' || s === 'cancelled') return [`t.state IN ('failed', 'cancelled') AND t.state = ?`, [s]];
    return ['t.state = ?', [s]];
  },
  status: (f) => ['t.status = ?', [f.status]],
  workerId: (f) => ['(t.worker_id = ? OR EXISTS (SELECT 1 FROM attempts a WHERE a.task_seq = t.seq AND a.worker_id = ?))', [f.workerId, f.workerId]],
  key: (f) => ['t.idem_key = ?', [f.key]],
  jobId: (f) => ['t.job_id = ?', [f.jobId]],
  code: (f) => [`json_extract(t.error, '$.code') = ?`, [f.code]],
  createdAfter: (f) => ['t.created_at >= ?', [f.createdAfter]],
  createdBefore: (f) => ['t.created_at < ?', [f.createdBefore]],
};

export class TaskSearch {
  private readonly statements = new Map<string, Statement>();

  /** @param columns the task columns to select; @param from the tables, aliasing tasks as `t`. */
  constructor(
    private readonly db: Db,
    private readonly columns: string,
    private readonly from: string,
  ) {}

  /**
   * One page of raw task rows matching `filter`, after the cursor `afterSeq` in `order`
   * (for `desc`, 0 means from the newest).
   */
  page(filter: TaskFilter, order: SearchOrder, afterSeq: number, limit: number): unknown[] {
    const names = (Object.keys(CONDITIONS) as Array<keyof TaskFilter>).filter((k) => filter[k] !== undefined);
    // Tasks of a submission still being written in slices are not there yet.
    const where: string[] = [NOT_STAGED];
    const args: unknown[] = [];
    for (const name of names) {
      const [sql, values] = CONDITIONS[name](filter);
      where.push(sql);
      args.push(...values);
    }
    if (order === 'asc' || afterSeq > 0) {
      where.push(order === 'asc' ? 't.seq > ?' : 't.seq < ?');
      args.push(afterSeq);
    }
    const signature = `${order}:${afterSeq > 0 || order === 'asc'}:${names.join(',')}`;
    let stmt = this.statements.get(signature);
    if (!stmt) {
      stmt = this.db.prepare(
        `SELECT ${this.columns} FROM ${this.from} WHERE ${where.join(' AND ')} ORDER BY t.seq ${order === 'asc' ? 'ASC' : 'DESC'} LIMIT ?`,
      );
      this.statements.set(signature, stmt);
    }
    return stmt.all(...args, limit);
  }
}
