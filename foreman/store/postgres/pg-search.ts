/**
 * Task filters (`GET /tasks`, `POST /tasks/retry`) as PostgreSQL conditions: the same filters as the
 * SQLite store's task-search.ts, each a condition on `t` with numbered parameters. A task claimed
 * by a foreman but not handed out yet counts as queued.
 */
import type { TaskState } from '../../task-types.js';
import type { TaskFilter } from '../task-search.js';

const LIVE = new Set<TaskState>(['queued', 'running', 'cancelling']);

/** Builds `WHERE` conditions for `filter`, numbering parameters after the `values` already bound (it appends to them). */
export function filterConditions(filter: TaskFilter, values: unknown[]): string[] {
  const where: string[] = [];
  const bind = (v: unknown): string => {
    values.push(v);
    return `$${values.length}`;
  };
  if (filter.type !== undefined) where.push(`t.type = ${bind(filter.type)}`);
  if (filter.state !== undefined) {
    const s = filter.state;
    where.push(`t.state = ANY(${bind(s === 'queued' ? ['queued', 'claimed'] : [s])}::text[])`);
    // Name the partial indexes' conditions so the planner can use them.
    if (LIVE.has(s)) where.push('t.finished_at IS NULL');
    else if (s === 'failed' || s === 'cancelled') where.push(`t.state IN ('failed', 'cancelled')`);
  }
  if (filter.status !== undefined) where.push(`t.status = ${bind(filter.status)}`);
  if (filter.workerId !== undefined) {
    const w = bind(filter.workerId);
    where.push(`(t.worker_id = ${w} OR EXISTS (SELECT 1 FROM attempts a WHERE a.task_seq = t.seq AND a.worker_id = ${w}))`);
  }
  if (filter.key !== undefined) where.push(`t.idem_key = ${bind(filter.key)}`);
  if (filter.jobId !== undefined) where.push(`t.job_id = ${bind(filter.jobId)}`);
  if (filter.code !== undefined) where.push(`(t.error::jsonb ->> 'code') = ${bind(filter.code)}`);
  if (filter.createdAfter !== undefined) where.push(`t.created_at >= ${bind(filter.createdAfter)}`);
  if (filter.createdBefore !== undefined) where.push(`t.created_at < ${bind(filter.createdBefore)}`);
  return where;
}
