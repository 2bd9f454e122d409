/**
 * The store seam: what the fleet, the dispatcher and the HTTP routes use of the task ledger,
 * whichever store is behind it. Two ledgers implement it:
 * - `TaskManager` (SQLite): one writer, so memory is the truth and the file follows by group commit;
 * - `PgLedger` (PostgreSQL, several foremen): the database is the truth; memory holds only what this
 *   foreman claimed or runs, and every transition is a compare-and-set whose outcome decides.
 * What a result, failure, loss or cancel does to a task is decided once, in task-outcome.ts.
 *
 * Dispatch-side methods are synchronous (they run on every frame); API-side ones may return a
 * promise (PostgreSQL answers over the network), so callers always `await` them.
 */
import type { Assignment, TaskRef, TaskResult } from '../shared/protocol.js';
import type { AttemptRow, JobRow, TaskRow } from './store/task-rows.js';
import type { SearchOrder, TaskFilter } from './store/task-search.js';
import type { JobState } from './task-tally.js';
import type { TaskQueues } from './task-queues.js';
import type { LiveTask, TaskError, TaskInput, TaskSlices, TaskState } from './task-types.js';

/** A settled task as announced to result streams, after it is durable. */
export interface SettledTask {
  id: string;
  jobId: string | null;
  /** Other jobs the task belongs to (it was submitted into them again by key): their result streams show it too. */
  alsoJobs?: string[];
  key: string | null;
  type: string;
  state: 'succeeded' | 'failed' | 'cancelled';
  status: string | null;
  result: unknown;
  error: TaskError | null;
  attempt: number;
  workerId: string | null;
  startedAt: number | null;
  finishedAt: number;
}

/**
 * A job created with its first tasks. `params` are shared by its tasks: stored once, on the job, and
 * merged under each task's own at assignment (foreman/job-params.ts); a store keeps them with the job row.
 */
export interface NewJob {
  key: string | null;
  open: boolean;
  params?: Record<string, unknown> | null;
}

/** How a held task ends, decided outside the ledger (a quorum's canonical result, or no consensus). */
export interface HeldOutcome {
  state: 'succeeded' | 'failed';
  result: unknown;
  error: TaskError | null;
}

/** Why a result was not accepted; sent back in `task.ack`. */
export type RejectReason = 'unknown task' | 'stale attempt' | 'not your task' | 'already settled';

export interface TaskManagerHooks {
  /** Queued tasks may now be dispatchable; `submitted` when they are new tasks whose submission is about to be acknowledged. */
  onReady(submitted?: boolean): void;
  /** Push a cancel for these attempts to the worker that runs them. */
  onCancel(workerId: string, refs: TaskRef[]): void;
  /** A task settled and is durable. */
  onSettled(task: SettledTask): void;
  /** A running task's progress changed. */
  onProgress?(taskId: string): void;
  /** An attempt ended (`outcome` as in the attempts table), for metrics. */
  onAttemptEnded?(type: string, outcome: string, error: TaskError | null): void;
}

type Maybe<T> = T | Promise<T>;

/** Reads for the HTTP API; SQLite answers at once, PostgreSQL with a promise. */
export interface StoreReads {
  getTask(id: string): Maybe<TaskRow | null>;
  getAttempts(seq: number): Maybe<AttemptRow[]>;
  /** One page of tasks matching `filter`, in submission order (`desc`: newest first), after the cursor `afterSeq` (a seq). */
  searchTasks(filter: TaskFilter, afterSeq: number, limit: number, order?: SearchOrder): Maybe<TaskRow[]>;
  getJobByKey(key: string): Maybe<JobRow | null>;
  settledOfJob(jobId: string): Maybe<Iterable<TaskRow>>;
  /** Submission time of the oldest queued task, or null (PostgreSQL: as of the last count of the totals, see pg-totals.ts). */
  oldestQueued(): number | null;
}

/** The per-turn write batch the dispatcher plans into (SQLite: GroupCommit; PostgreSQL: PgTurn). */
export interface TurnCommit {
  /** Runs at the start of every flush, so the dispatcher's assignments join the turn's batch. */
  beforeFlush: (() => void) | null;
  /** Runs `callback` once everything queued so far is durable (or has been refused). */
  afterCommit(callback: () => void): void;
  /** Writes what is queued now. */
  flush(): void;
  readonly stats: { queued: number };
  /** `unavailable` while the store cannot write (writes wait and are retried); routes that write answer 503 meanwhile. */
  readonly state: 'writable' | 'unavailable';
  /** How long until the next retry of a held write, in ms (0 when writable). */
  readonly retryInMs: number;
}

export interface TaskLedger {
  /** Tasks this foreman holds in memory: queued ones it may dispatch, and running ones on its workers. */
  readonly live: Map<string, LiveTask>;
  /** The ready queues the dispatcher picks from. */
  readonly queues: TaskQueues;
  /** Tasks by state, in all (fleet-wide on PostgreSQL, counted once a second while read: pg-totals.ts). */
  readonly counts: Record<TaskState, number>;
  /** Jobs kept (PostgreSQL: as of the last refresh). */
  readonly jobCount: number;

  // Dispatch side: synchronous.
  /** The best ready task of `type`, for the dispatcher. */
  peekReady(type: string): LiveTask | undefined;
  /**
   * Starts a new attempt of a ready task on `workerId`. `send` runs once the attempt is durable;
   * `undone` instead if the store refused it (the task is queued again, or another foreman moved it on).
   */
  assign(task: LiveTask, workerId: string, now: number, send?: (a: Assignment) => void, undone?: () => void): Assignment;
  /** Whether `ref` names the current attempt of a task that `workerId` runs. */
  owns(workerId: string, ref: TaskRef): boolean;
  /**
   * Whether `workerId`'s result for `ref` was taken and is still being written: a worker reconnecting
   * meanwhile lists it in hello; it is neither adopted nor revoked, and its resend is acknowledged
   * (accepted) with that same commit rather than refused as settled.
   */
  resultPending(workerId: string, ref: TaskRef): boolean;
  /**
   * Fences and records a result: returns the reason when it is refused at once, null when it was
   * taken; then `onDurable` runs once it is committed, or `onRejected` if the store refused it
   * (another foreman or a timeout moved the task on first).
   */
  acceptResult(workerId: string, r: TaskResult, now: number, onDurable: () => void, onRejected?: (reason: RejectReason) => void): RejectReason | null;
  progress(workerId: string, ref: TaskRef, fraction: number, message: string | undefined): boolean;
  /** The worker handed these attempts back: requeued (or cancelled); returns the tasks it no longer runs. */
  release(workerId: string, refs: TaskRef[], now: number): LiveTask[];
  /** The worker running these tasks is gone. */
  lose(tasks: Iterable<LiveTask>, now: number): void;
  /**
   * Free slots after a dispatch pass, by task type and in all; a ledger that claims from a shared
   * store fetches that much work (a worker with several skills counts in each type, once in all).
   */
  refill(freeByType: Map<string, number>, freeSlots: number): void;
  /** Whether the dispatcher should report free slots through `refill` (false when everything is in memory). */
  readonly claims: boolean;

  // API side: may return promises.
  /**
   * The task a key names, or null. With `input`: throws KEY_CONFLICT (409, naming `field`) when the key
   * names a task of another type or params.
   */
  findTaskByKey(key: string, input?: TaskInput, field?: string): Maybe<string | null> | Promise<string>;
  /**
   * Inserts tasks (and a new job, or into an existing one). Keys of the same type and params map to the
   * existing task; another type or params is KEY_CONFLICT (`keyField(i)` names input i). Adding to an
   * unknown job is JOB_NOT_FOUND (404); to a job whose close or cancel was asked for, JOB_CLOSED (409):
   * a close or cancel covers every addition accepted before it.
   */
  submit(inputs: TaskInput[], jobId: string | null, newJob?: NewJob, keyField?: (i: number) => string): Promise<string[]>;
  /**
   * Creates job `jobId` with tasks read from `source` a slice at a time; resolves with their count once
   * they are all durable (as `submit`, but without an object per task alive for the whole submission).
   */
  importJob(source: TaskSlices, jobId: string, newJob: NewJob): Promise<number>;
  /** Settles a held task (TaskInput.hold) once durable; false when it is not a held, queued task. */
  settleHeld(id: string, outcome: HeldOutcome): Promise<boolean>;
  /** Queues a held task (TaskInput.hold) to run now; false when it is not a held, queued task. */
  releaseHeld(id: string): Promise<boolean>;
  cancel(id: string): Promise<TaskState | null>;
  cancelJob(jobId: string): Promise<number | null>;
  closeJob(jobId: string): Promise<JobState | null>;
  retry(id: string): Promise<TaskState | null>;
  retryFailed(jobId: string): Promise<number | null>;
  /** Requeues every settled task matching `filter` (its `state` is failed or cancelled) with a fresh budget; resolves with how many. */
  retryWhere(filter: TaskFilter & { state: 'failed' | 'cancelled' }): Promise<number>;
  /** A job with its counters as of now, or null. */
  getJob(id: string): Maybe<JobState | null>;
  /** A job without its counters, or null: what a route needs to take tasks for it, or to know it is open (PostgreSQL counts every task of the job for `getJob`). */
  getJobHead(id: string): Maybe<JobRow | null>;
  /** The most recent jobs, newest first. */
  recentJobs(limit: number): Maybe<JobState[]>;
  /** Whether the job (as returned by getJob) takes no more tasks and every task's outcome is durable. */
  isJobComplete(job: JobState): boolean;
  purge(cutoff: number, limit: number): Promise<number>;
  reset(): Promise<void>;
  close(): void;
}
