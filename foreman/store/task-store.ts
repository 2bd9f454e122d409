/**
 * Every SQL statement on tasks, jobs and attempts, prepared once. Writes are
 * plain synchronous calls meant to run inside a GroupCommit transaction.
 *
 * Where attempts live: a task row holds its current attempt (attempt,
 * worker_id, started_at), so starting an attempt is one UPDATE. An attempt
 * gets its own `attempts` row when it ends in anything but the task's
 * success (failed, lost, released, cancelled); a successful final attempt is
 * read back from the task row itself. That saves two of the five statements
 * a task used to cost, and `getAttempts` shows the same history as before.
 */
import type { LiveTask, TaskError, TaskState } from '../task-types.js';
import type { Db } from './database.js';
import { SpillStore } from './spill-store.js';
import { NOT_STAGED, StagedSubmissions } from './staged-submissions.js';
import { TaskSearch, type SearchOrder, type TaskFilter } from './task-search.js';
import {
  blob, errorText, LIVE_COLUMNS, toAttempt, toJob, toLiveTask, toRow, unblob, type AttemptRow, type JobRow, type LiveColumns, type RawTask,
  type TaskRow,
} from './task-rows.js';

export type { AttemptRow, JobRow, TaskRow } from './task-rows.js';
export type { SearchOrder, TaskFilter } from './task-search.js';

/**
 * Params bigger than this (encoded) live in `task_params`, out of the task row. Starting and settling an
 * attempt rewrite the task row, and SQLite rewrites a row's overflow pages with it: a 10 KB param inline
 * was written to the WAL three times per task; out of line it is written once.
 */
const INLINE_PARAMS_MAX_BYTES = 512;

/** Every task column, params read from wherever they live; use with TASKS (`t` is the task row). */
const TASK_COLUMNS = `t.seq, t.id, t.job_id, t.idem_key, t.type, coalesce(t.params, p.params) AS params, t.priority, t.state, t.status,
  t.attempt, t.failures, t.losses, t.max_attempts, t.timeout_ms, t.worker_id, t.run_at, t.created_at, t.started_at, t.finished_at,
  t.result, t.error`;
const TASKS = 'tasks t LEFT JOIN task_params p ON p.seq = t.seq';

/** A settled task as a retry reads it: no params, no result. */
export interface RetryCandidate {
  seq: number;
  id: string;
  jobId: string | null;
  key: string | null;
  type: string;
  priority: number;
  state: TaskState;
  attempt: number;
  maxAttempts: number;
  timeoutMs: number | null;
  createdAt: number;
  /** HELD_RUN_AT for a held task (a quorum task), which a retry leaves alone. */
  runAt: number;
}
const RETRY_COLUMNS = `seq, id, job_id AS jobId, idem_key AS key, type, priority, state, attempt, max_attempts AS maxAttempts,
  timeout_ms AS timeoutMs, created_at AS createdAt, run_at AS runAt`;

export class TaskStore {
  private readonly s;
  /** The spill: queued tasks held only in the store (see foreman/spill.ts). */
  readonly spill: SpillStore;
  /** Big submissions being written in slices (see staged-submissions.ts). */
  readonly staged: StagedSubmissions;
  private bound = { cutoff: Number.NaN, seq: 0 };
  private readonly search: TaskSearch;
  /** The same filters over the columns a retry needs: no params, no results. */
  private readonly retrySearch: TaskSearch;

  constructor(private readonly db: Db) {
    this.spill = new SpillStore(db);
    this.staged = new StagedSubmissions(db);
    this.search = new TaskSearch(db, TASK_COLUMNS, TASKS);
    this.retrySearch = new TaskSearch(db, RETRY_COLUMNS, 'tasks t');
    // Queries name the partial indexes' conditions (finished_at IS NULL, state IN (...)) so SQLite can use them.
    this.s = {
      insertTask: db.prepare(
        `INSERT INTO tasks (seq, id, job_id, idem_key, type, params, priority, state, max_attempts, timeout_ms, run_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?)`,
      ),
      insertJob: db.prepare(`INSERT INTO jobs (id, idem_key, created_at, closed_at, params) VALUES (?, ?, ?, ?, ?)`),
      markRunning: db.prepare(`UPDATE tasks SET state = 'running', attempt = ?, worker_id = ?, started_at = ? WHERE seq = ?`),
      recordAttempt: db.prepare(
        `INSERT OR REPLACE INTO attempts (task_seq, attempt, worker_id, started_at, finished_at, outcome, error) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      markQueued: db.prepare(
        `UPDATE tasks SET state = 'queued', worker_id = NULL, run_at = ?, failures = ?, losses = ?, error = ? WHERE seq = ?`,
      ),
      markCancelling: db.prepare(`UPDATE tasks SET state = 'cancelling' WHERE seq = ?`),
      markSettled: db.prepare(
        `UPDATE tasks SET state = ?, status = ?, result = ?, error = ?, failures = ?, losses = ?, finished_at = ? WHERE seq = ?`,
      ),
      // Only a row still settled as failed or cancelled: a purge or another retry may have got there first.
      requeueSettled: db.prepare(
        `UPDATE tasks SET state = 'queued', status = NULL, result = NULL, worker_id = NULL, failures = 0, losses = 0,
           run_at = ?, finished_at = NULL WHERE seq = ? AND state IN ('failed', 'cancelled')`,
      ),
      retryCandidates: db.prepare(
        `SELECT ${RETRY_COLUMNS} FROM tasks WHERE job_id = ? AND state = 'failed' AND seq > ? ORDER BY seq LIMIT ?`,
      ),
      retryCandidate: db.prepare(`SELECT ${RETRY_COLUMNS} FROM tasks WHERE id = ?`),
      insertParams: db.prepare(`INSERT INTO task_params (seq, params) VALUES (?, ?)`),
      byId: db.prepare(`SELECT ${TASK_COLUMNS} FROM ${TASKS} WHERE t.id = ? AND ${NOT_STAGED}`),
      byKey: db.prepare(`SELECT ${TASK_COLUMNS} FROM ${TASKS} WHERE t.idem_key = ?`),
      paramsBySeq: db.prepare(`SELECT coalesce(t.params, p.params) FROM ${TASKS} WHERE t.seq = ?`).pluck(),
      attempts: db.prepare(`SELECT * FROM attempts WHERE task_seq = ? ORDER BY attempt`),
      currentAttempt: db.prepare(`SELECT state, attempt, worker_id, started_at, finished_at FROM tasks WHERE seq = ?`),
      // Raw rows (arrays): loading 100,000 live tasks at start-up is ~40% faster without the row objects.
      live: db
        .prepare(
          `SELECT ${LIVE_COLUMNS}, NULL FROM tasks
            WHERE finished_at IS NULL AND state IN ('queued', 'running', 'cancelling')
              AND NOT EXISTS (SELECT 1 FROM spill WHERE spill.seq = tasks.seq)
            ORDER BY seq`,
        )
        .raw(true),
      settledOfJob: db.prepare(
        `SELECT ${TASK_COLUMNS} FROM ${TASKS} WHERE (t.job_id = ? OR t.seq IN (SELECT task_seq FROM job_links WHERE job_id = ?))
           AND t.state IN ('succeeded', 'failed', 'cancelled') ORDER BY t.seq`,
      ),
      linkTask: db.prepare(`INSERT OR IGNORE INTO job_links (job_id, task_seq) VALUES (?, ?)`),
      linksOf: db.prepare(`SELECT job_id FROM job_links WHERE task_seq = ?`).pluck(),
      allLinks: db.prepare(
        `SELECT l.job_id AS jobId, t.id, t.state, t.finished_at IS NOT NULL AS settled FROM job_links l JOIN tasks t ON t.seq = l.task_seq`,
      ),
      unlink: db.prepare(`DELETE FROM job_links WHERE task_seq = ? RETURNING job_id`).pluck(),
      settledCounts: db.prepare(
        `SELECT job_id AS jobId, state, count(*) AS n FROM tasks WHERE finished_at IS NOT NULL GROUP BY job_id, state`,
      ),
      oldestQueued: db.prepare(
        `SELECT created_at FROM tasks WHERE finished_at IS NULL AND state = 'queued' ORDER BY seq LIMIT 1`,
      ).pluck(),
      maxSeq: db.prepare(`SELECT coalesce(max(seq), 0) FROM tasks`).pluck(),
      jobById: db.prepare(`SELECT * FROM jobs WHERE id = ?`),
      jobByKey: db.prepare(`SELECT * FROM jobs WHERE idem_key = ?`),
      allJobs: db.prepare(`SELECT * FROM jobs ORDER BY created_at`),
      closeJob: db.prepare(`UPDATE jobs SET closed_at = ? WHERE id = ? AND closed_at IS NULL`),
      cancelJob: db.prepare(`UPDATE jobs SET cancelled_at = ? WHERE id = ? AND cancelled_at IS NULL`),
      // NOT INDEXED: walk the rowid range, oldest first, rather than every settled task in a partial index.
      purgeTasks: db.prepare(
        `DELETE FROM tasks WHERE seq IN (
           SELECT seq FROM tasks NOT INDEXED WHERE seq < ? AND finished_at IS NOT NULL AND finished_at < ? ORDER BY seq LIMIT ?)
         RETURNING seq, id, job_id, state`,
      ),
      firstFrom: db.prepare(`SELECT seq, created_at AS createdAt FROM tasks WHERE seq >= ? ORDER BY seq LIMIT 1`),
      purgeAttempts: db.prepare(`DELETE FROM attempts WHERE task_seq = ?`),
      purgeParams: db.prepare(`DELETE FROM task_params WHERE seq = ?`),
      // A purged task's own edges (foreman/dependencies/); those naming it as a parent go with their children.
      purgeDeps: db.prepare(`DELETE FROM task_deps WHERE child_id = ?`),
      purgeEmptyJobs: db.prepare(
        `DELETE FROM jobs WHERE closed_at IS NOT NULL AND closed_at < ? AND NOT EXISTS (SELECT 1 FROM tasks WHERE job_id = jobs.id)
           AND NOT EXISTS (SELECT 1 FROM job_links WHERE job_id = jobs.id)
         RETURNING id`,
      ),
    };
  }

  /** Stores a new queued task; `params` is `t.params` already encoded, when the caller has it. */
  insertTask(t: LiveTask, params: Buffer | null = blob(t.params)): void {
    const inline = params === null || params.length <= INLINE_PARAMS_MAX_BYTES;
    this.s.insertTask.run(t.seq, t.id, t.jobId, t.key, t.type, inline ? params : null, t.priority, t.maxAttempts, t.timeoutMs, t.runAt, t.createdAt);
    if (!inline) this.s.insertParams.run(t.seq, params);
  }

  insertJob(id: string, key: string | null, createdAt: number, closedAt: number | null, params: Record<string, unknown> | null = null): void {
    this.s.insertJob.run(id, key, createdAt, closedAt, params === null ? null : blob(params));
  }

  /** Starts attempt `attempt` on `workerId`: the task row is the record of a running attempt. */
  markRunning(seq: number, attempt: number, workerId: string, startedAt: number): void {
    this.s.markRunning.run(attempt, workerId, startedAt, seq);
  }

  markCancelling(seq: number): void {
    this.s.markCancelling.run(seq);
  }

  /** Records an attempt that ended other than in its task's success (failed, lost, released, cancelled). */
  recordAttempt(
    seq: number,
    attempt: number,
    workerId: string,
    startedAt: number,
    finishedAt: number,
    outcome: string,
    error: TaskError | null,
  ): void {
    this.s.recordAttempt.run(seq, attempt, workerId, startedAt, finishedAt, outcome, errorText(error));
  }

  markQueued(seq: number, runAt: number, failures: number, losses: number, error: TaskError | null): void {
    this.s.markQueued.run(runAt, failures, losses, errorText(error), seq);
  }

  markSettled(
    seq: number,
    state: TaskState,
    status: string | null,
    result: unknown,
    error: TaskError | null,
    failures: number,
    losses: number,
    finishedAt: number,
  ): void {
    this.s.markSettled.run(state, status, blob(result), errorText(error), failures, losses, finishedAt, seq);
  }

  /** Requeues a failed or cancelled task; false when the row is gone or no longer settled that way. */
  requeueSettled(seq: number, runAt: number): boolean {
    return this.s.requeueSettled.run(runAt, seq).changes > 0;
  }

  /** Up to `limit` failed tasks of a job after `afterSeq`, without params or results (what a retry needs). */
  retryCandidates(jobId: string, afterSeq: number, limit: number): RetryCandidate[] {
    return this.s.retryCandidates.all(jobId, afterSeq, limit) as RetryCandidate[];
  }

  /** One task as a retry needs it, or null. */
  retryCandidate(id: string): RetryCandidate | null {
    return (this.s.retryCandidate.get(id) as RetryCandidate | undefined) ?? null;
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

  /** Every attempt of a task, oldest first, including the one running now or the one that succeeded. */
  getAttempts(seq: number): AttemptRow[] {
    const rows = (this.s.attempts.all(seq) as Array<Record<string, unknown>>).map(toAttempt);
    const t = this.s.currentAttempt.get(seq) as
      | { state: TaskState; attempt: number; worker_id: string | null; started_at: number | null; finished_at: number | null }
      | undefined;
    if (!t || t.attempt === 0 || t.worker_id === null || t.started_at === null) return rows;
    const running = t.state === 'running' || t.state === 'cancelling';
    if (!running && t.state !== 'succeeded') return rows;
    const current: AttemptRow = {
      attempt: t.attempt,
      workerId: t.worker_id,
      startedAt: t.started_at,
      finishedAt: running ? null : t.finished_at,
      outcome: running ? null : 'succeeded',
      error: null,
    };
    const i = rows.findIndex((r) => r.attempt === t.attempt);
    if (i < 0) rows.push(current);
    // A foreman before schema 3 wrote an open row when the attempt started; the task row has how it ended.
    else if (rows[i].outcome === null) rows[i] = current;
    return rows;
  }

  /** One page of tasks matching `filter`, in submission order (`desc`: newest first), after the cursor `afterSeq` (a seq). */
  searchTasks(filter: TaskFilter, afterSeq: number, limit: number, order: SearchOrder = 'asc'): TaskRow[] {
    return (this.search.page(filter, order, afterSeq, limit) as RawTask[]).map(toRow);
  }

  /** One page of tasks matching `filter` as a retry reads them (no params or results), oldest first. */
  searchRetryCandidates(filter: TaskFilter, afterSeq: number, limit: number): RetryCandidate[] {
    return this.retrySearch.page(filter, 'asc', afterSeq, limit) as RetryCandidate[];
  }

  /** Every unsettled task that is not spilled, oldest first, without params (loaded lazily at dispatch). */
  loadLive(): LiveTask[] {
    return (this.s.live.all() as LiveColumns[]).map(toLiveTask);
  }

  /** Makes a task (of another job) belong to `jobId` too; false when it already did. */
  linkTask(jobId: string, seq: number): boolean {
    return this.s.linkTask.run(jobId, seq).changes > 0;
  }

  /** The jobs a task belongs to besides its own. */
  linksOf(seq: number): string[] {
    return this.s.linksOf.all(seq) as string[];
  }

  /** Every link, with its task's state (loaded at start). */
  allLinks(): Array<{ jobId: string; id: string; state: TaskState; settled: number }> {
    return this.s.allLinks.all() as Array<{ jobId: string; id: string; state: TaskState; settled: number }>;
  }

  /** Settled tasks of a job (its own and those linked to it), in submission order. */
  settledOfJob(jobId: string): IterableIterator<TaskRow> {
    const it = this.s.settledOfJob.iterate(jobId, jobId) as IterableIterator<RawTask>;
    return (function* () {
      for (const r of it) yield toRow(r);
    })();
  }

  /** Settled tasks counted by job (null for tasks without one) and state; live tasks are counted from `loadLive`. */
  settledCounts(): Array<{ jobId: string | null; state: TaskState; n: number }> {
    return this.s.settledCounts.all() as Array<{ jobId: string | null; state: TaskState; n: number }>;
  }

  /** Submission time of the oldest queued task, or null. */
  oldestQueued(): number | null {
    return (this.s.oldestQueued.get() as number | undefined) ?? null;
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
  purgeFinished(cutoff: number, limit: number): Array<{ seq: number; job_id: string | null; state: TaskState; linked: string[] }> {
    const gone = this.s.purgeTasks.all(this.purgeBound(cutoff), cutoff, limit) as Array<{ seq: number; id: string; job_id: string | null; state: TaskState; linked: string[] }>;
    for (const g of gone) {
      this.s.purgeAttempts.run(g.seq);
      this.s.purgeParams.run(g.seq);
      this.s.purgeDeps.run(g.id);
      g.linked = this.s.unlink.all(g.seq) as string[];
    }
    return gone;
  }

  /**
   * The first seq of a task created at or after `cutoff`: no task from there on can have finished
   * before it, so a purge walks only the rows below, which are mostly the ones it deletes. Seqs are
   * handed out in creation order, so a binary search over rowid seeks finds it in ~30 steps, however
   * many old rows wait. For a given cutoff it never changes (later tasks are created later), so the
   * batches of one purge share one search.
   */
  private purgeBound(cutoff: number): number {
    if (this.bound.cutoff !== cutoff) {
      let lo = 0;
      let hi = (this.s.maxSeq.get() as number) + 1;
      while (lo < hi) {
        const mid = Math.floor((lo + hi) / 2);
        const row = this.s.firstFrom.get(mid) as { seq: number; createdAt: number } | undefined;
        if (!row || row.createdAt >= cutoff) hi = mid;
        else lo = row.seq + 1;
      }
      this.bound = { cutoff, seq: lo };
    }
    return this.bound.seq;
  }

  /** Deletes closed jobs with no tasks left that closed before `cutoff`; returns their ids. */
  purgeEmptyJobs(cutoff: number): string[] {
    return (this.s.purgeEmptyJobs.all(cutoff) as Array<{ id: string }>).map((r) => r.id);
  }

  /** Dev only: deletes every task and job. */
  resetAll(): void {
    this.db.exec('DELETE FROM attempts; DELETE FROM spill; DELETE FROM task_params; DELETE FROM tasks; DELETE FROM jobs; DELETE FROM task_deps;');
  }
}
