/**
 * Every SQL statement on tasks, jobs and attempts, prepared once. Writes are
 * plain synchronous calls meant to run inside a GroupCommit transaction.
 */
import { decodeValue, encodeValue } from '../../shared/codec.js';
import type { LiveTask, TaskError, TaskState } from '../task-types.js';
import type { Db } from './database.js';

/** A task row as read back for the API. */
export interface TaskRow {
  seq: number;
  id: string;
  jobId: string | null;
  key: string | null;
  type: string;
  params: unknown;
  priority: number;
  state: TaskState;
  status: string | null;
  attempt: number;
  failures: number;
  losses: number;
  maxAttempts: number;
  timeoutMs: number | null;
  workerId: string | null;
  runAt: number;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  result: unknown;
  error: TaskError | null;
}

export interface AttemptRow {
  attempt: number;
  workerId: string;
  startedAt: number;
  finishedAt: number | null;
  outcome: string | null;
  error: TaskError | null;
}

export interface JobRow {
  id: string;
  key: string | null;
  createdAt: number;
  closedAt: number | null;
  cancelledAt: number | null;
}

interface RawTask {
  seq: number;
  id: string;
  job_id: string | null;
  idem_key: string | null;
  type: string;
  params: Buffer | null;
  priority: number;
  state: TaskState;
  status: string | null;
  attempt: number;
  failures: number;
  losses: number;
  max_attempts: number;
  timeout_ms: number | null;
  worker_id: string | null;
  run_at: number;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  result: Buffer | null;
  error: string | null;
}

const blob = (v: unknown): Buffer | null => (v === undefined ? null : encodeValue(v));
const unblob = (b: Buffer | null): unknown => (b === null ? null : decodeValue(b));
const parseError = (s: string | null): TaskError | null => (s === null ? null : (JSON.parse(s) as TaskError));

function toRow(r: RawTask): TaskRow {
  return {
    seq: r.seq,
    id: r.id,
    jobId: r.job_id,
    key: r.idem_key,
    type: r.type,
    params: unblob(r.params),
    priority: r.priority,
    state: r.state,
    status: r.status,
    attempt: r.attempt,
    failures: r.failures,
    losses: r.losses,
    maxAttempts: r.max_attempts,
    timeoutMs: r.timeout_ms,
    workerId: r.worker_id,
    runAt: r.run_at,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    result: unblob(r.result),
    error: parseError(r.error),
  };
}

export class TaskStore {
  private readonly s;

  constructor(private readonly db: Db) {
    this.s = {
      insertTask: db.prepare(
        `INSERT INTO tasks (seq, id, job_id, idem_key, type, params, priority, state, max_attempts, timeout_ms, run_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?)`,
      ),
      insertJob: db.prepare(`INSERT INTO jobs (id, idem_key, created_at, closed_at) VALUES (?, ?, ?, ?)`),
      markRunning: db.prepare(`UPDATE tasks SET state = 'running', attempt = ?, worker_id = ?, started_at = ? WHERE seq = ?`),
      insertAttempt: db.prepare(`INSERT OR REPLACE INTO attempts (task_seq, attempt, worker_id, started_at) VALUES (?, ?, ?, ?)`),
      finishAttempt: db.prepare(`UPDATE attempts SET finished_at = ?, outcome = ?, error = ? WHERE task_seq = ? AND attempt = ?`),
      markQueued: db.prepare(
        `UPDATE tasks SET state = 'queued', worker_id = NULL, run_at = ?, failures = ?, losses = ?, error = ? WHERE seq = ?`,
      ),
      markCancelling: db.prepare(`UPDATE tasks SET state = 'cancelling' WHERE seq = ?`),
      markSettled: db.prepare(
        `UPDATE tasks SET state = ?, status = ?, result = ?, error = ?, failures = ?, losses = ?, finished_at = ? WHERE seq = ?`,
      ),
      requeueSettled: db.prepare(
        `UPDATE tasks SET state = 'queued', status = NULL, result = NULL, worker_id = NULL, failures = 0, losses = 0,
           run_at = ?, finished_at = NULL WHERE seq = ?`,
      ),
      byId: db.prepare(`SELECT * FROM tasks WHERE id = ?`),
      byKey: db.prepare(`SELECT * FROM tasks WHERE idem_key = ?`),
      paramsBySeq: db.prepare(`SELECT params FROM tasks WHERE seq = ?`).pluck(),
      attempts: db.prepare(`SELECT * FROM attempts WHERE task_seq = ? ORDER BY attempt`),
      listByState: db.prepare(`SELECT * FROM tasks WHERE state = ? AND seq > ? ORDER BY seq LIMIT ?`),
      listAll: db.prepare(`SELECT * FROM tasks WHERE seq > ? ORDER BY seq LIMIT ?`),
      listJob: db.prepare(`SELECT * FROM tasks WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?`),
      live: db.prepare(
        `SELECT seq, id, job_id, idem_key, type, priority, state, attempt, failures, losses, max_attempts, timeout_ms, worker_id,
                run_at, created_at, started_at
           FROM tasks WHERE state IN ('queued', 'running', 'cancelling') ORDER BY seq`,
      ),
      settledOfJob: db.prepare(
        `SELECT * FROM tasks WHERE job_id = ? AND state IN ('succeeded', 'failed', 'cancelled') ORDER BY seq`,
      ),
      failedOfJob: db.prepare(`SELECT * FROM tasks WHERE job_id = ? AND state = 'failed' ORDER BY seq`),
      stateCounts: db.prepare(`SELECT state, count(*) AS n FROM tasks GROUP BY state`),
      jobStateCounts: db.prepare(
        `SELECT job_id AS jobId, state, count(*) AS n FROM tasks WHERE job_id IS NOT NULL GROUP BY job_id, state`,
      ),
      oldestQueued: db.prepare(`SELECT created_at FROM tasks WHERE state = 'queued' ORDER BY seq LIMIT 1`).pluck(),
      queuedByPriority: db.prepare(`SELECT priority, count(*) AS n FROM tasks WHERE state = 'queued' GROUP BY priority`),
      maxSeq: db.prepare(`SELECT coalesce(max(seq), 0) FROM tasks`).pluck(),
      jobById: db.prepare(`SELECT * FROM jobs WHERE id = ?`),
      jobByKey: db.prepare(`SELECT * FROM jobs WHERE idem_key = ?`),
      allJobs: db.prepare(`SELECT * FROM jobs ORDER BY created_at`),
      closeJob: db.prepare(`UPDATE jobs SET closed_at = ? WHERE id = ? AND closed_at IS NULL`),
      cancelJob: db.prepare(`UPDATE jobs SET cancelled_at = ? WHERE id = ? AND cancelled_at IS NULL`),
      purgeTasks: db.prepare(
        `DELETE FROM tasks WHERE seq IN (SELECT seq FROM tasks WHERE finished_at IS NOT NULL AND finished_at < ? LIMIT ?)
         RETURNING seq, job_id, state`,
      ),
      purgeAttempts: db.prepare(`DELETE FROM attempts WHERE task_seq = ?`),
      purgeEmptyJobs: db.prepare(
        `DELETE FROM jobs WHERE closed_at IS NOT NULL AND closed_at < ? AND NOT EXISTS (SELECT 1 FROM tasks WHERE job_id = jobs.id)
         RETURNING id`,
      ),
    };
  }

  insertTask(t: LiveTask): void {
    this.s.insertTask.run(t.seq, t.id, t.jobId, t.key, t.type, blob(t.params), t.priority, t.maxAttempts, t.timeoutMs, t.runAt, t.createdAt);
  }

  insertJob(id: string, key: string | null, createdAt: number, closedAt: number | null): void {
    this.s.insertJob.run(id, key, createdAt, closedAt);
  }

  markRunning(t: LiveTask): void {
    this.s.markRunning.run(t.attempt, t.workerId, t.startedAt, t.seq);
    this.s.insertAttempt.run(t.seq, t.attempt, t.workerId, t.startedAt);
  }

  markCancelling(seq: number): void {
    this.s.markCancelling.run(seq);
  }

  finishAttempt(seq: number, attempt: number, finishedAt: number, outcome: string, error: TaskError | null): void {
    this.s.finishAttempt.run(finishedAt, outcome, error && JSON.stringify(error), seq, attempt);
  }

  markQueued(t: LiveTask, error: TaskError | null): void {
    this.s.markQueued.run(t.runAt, t.failures, t.losses, error && JSON.stringify(error), t.seq);
  }

  markSettled(
    t: LiveTask,
    state: TaskState,
    status: string | null,
    result: unknown,
    error: TaskError | null,
    finishedAt: number,
  ): void {
    this.s.markSettled.run(state, status, blob(result), error && JSON.stringify(error), t.failures, t.losses, finishedAt, t.seq);
  }

  requeueSettled(seq: number, runAt: number): void {
    this.s.requeueSettled.run(runAt, seq);
  }

  getTask(id: string): TaskRow | null {
    const r = this.s.byId.get(id) as RawTask | undefined;
    return r ? toRow(r) : null;
  }

  getTaskByKey(key: string): TaskRow | null {
    const r = this.s.byKey.get(key) as RawTask | undefined;
    return r ? toRow(r) : null;
  }

  getParams(seq: number): unknown {
    return unblob((this.s.paramsBySeq.get(seq) as Buffer | null | undefined) ?? null);
  }

  getAttempts(seq: number): AttemptRow[] {
    return (this.s.attempts.all(seq) as Array<Record<string, unknown>>).map((a) => ({
      attempt: a.attempt as number,
      workerId: a.worker_id as string,
      startedAt: a.started_at as number,
      finishedAt: a.finished_at as number | null,
      outcome: a.outcome as string | null,
      error: parseError(a.error as string | null),
    }));
  }

  /** One page of tasks, in submission order, after the cursor `afterSeq`. */
  listTasks(filter: { state?: TaskState; jobId?: string }, afterSeq: number, limit: number): TaskRow[] {
    const rows = filter.jobId
      ? this.s.listJob.all(filter.jobId, afterSeq, limit)
      : filter.state
        ? this.s.listByState.all(filter.state, afterSeq, limit)
        : this.s.listAll.all(afterSeq, limit);
    return (rows as RawTask[]).map(toRow).filter((r) => !filter.state || r.state === filter.state);
  }

  /** Every unsettled task, oldest first, without params (loaded lazily at dispatch). */
  loadLive(): LiveTask[] {
    return (this.s.live.all() as RawTask[]).map((r) => ({
      seq: r.seq,
      id: r.id,
      jobId: r.job_id,
      key: r.idem_key,
      type: r.type,
      priority: r.priority,
      params: undefined,
      paramsLoaded: false,
      state: r.state === 'queued' ? 'queued' : r.state === 'cancelling' ? 'cancelling' : 'running',
      attempt: r.attempt,
      failures: r.failures,
      losses: r.losses,
      maxAttempts: r.max_attempts,
      timeoutMs: r.timeout_ms,
      workerId: r.worker_id,
      runAt: r.run_at,
      createdAt: r.created_at,
      startedAt: r.started_at,
      progress: null,
      queued: false,
    }));
  }

  settledOfJob(jobId: string): IterableIterator<TaskRow> {
    const it = this.s.settledOfJob.iterate(jobId) as IterableIterator<RawTask>;
    return (function* () {
      for (const r of it) yield toRow(r);
    })();
  }

  failedOfJob(jobId: string): TaskRow[] {
    return (this.s.failedOfJob.all(jobId) as RawTask[]).map(toRow);
  }

  stateCounts(): Array<{ state: TaskState; n: number }> {
    return this.s.stateCounts.all() as Array<{ state: TaskState; n: number }>;
  }

  jobStateCounts(): Array<{ jobId: string; state: TaskState; n: number }> {
    return this.s.jobStateCounts.all() as Array<{ jobId: string; state: TaskState; n: number }>;
  }

  /** Submission time of the oldest queued task, or null. */
  oldestQueued(): number | null {
    return (this.s.oldestQueued.get() as number | undefined) ?? null;
  }

  queuedByPriority(): Record<string, number> {
    const rows = this.s.queuedByPriority.all() as Array<{ priority: number; n: number }>;
    return Object.fromEntries(rows.map((r) => [String(r.priority), r.n]));
  }

  maxSeq(): number {
    return this.s.maxSeq.get() as number;
  }

  getJob(id: string): JobRow | null {
    const r = this.s.jobById.get(id) as Record<string, unknown> | undefined;
    return r ? toJob(r) : null;
  }

  getJobByKey(key: string): JobRow | null {
    const r = this.s.jobByKey.get(key) as Record<string, unknown> | undefined;
    return r ? toJob(r) : null;
  }

  allJobs(): JobRow[] {
    return (this.s.allJobs.all() as Array<Record<string, unknown>>).map(toJob);
  }

  closeJob(id: string, at: number): void {
    this.s.closeJob.run(at, id);
  }

  cancelJob(id: string, at: number): void {
    this.s.cancelJob.run(at, id);
  }

  /** Deletes up to `limit` tasks finished before `cutoff`, with their attempts; returns what was deleted. */
  purgeFinished(cutoff: number, limit: number): Array<{ seq: number; job_id: string | null; state: TaskState }> {
    const gone = this.s.purgeTasks.all(cutoff, limit) as Array<{ seq: number; job_id: string | null; state: TaskState }>;
    for (const g of gone) this.s.purgeAttempts.run(g.seq);
    return gone;
  }

  /** Deletes closed jobs with no tasks left that closed before `cutoff`; returns their ids. */
  purgeEmptyJobs(cutoff: number): string[] {
    return (this.s.purgeEmptyJobs.all(cutoff) as Array<{ id: string }>).map((r) => r.id);
  }

  /** Dev only: deletes every task and job. */
  resetAll(): void {
    this.db.exec('DELETE FROM attempts; DELETE FROM tasks; DELETE FROM jobs;');
  }
}

function toJob(r: Record<string, unknown>): JobRow {
  return {
    id: r.id as string,
    key: r.idem_key as string | null,
    createdAt: r.created_at as number,
    closedAt: r.closed_at as number | null,
    cancelledAt: r.cancelled_at as number | null,
  };
}
