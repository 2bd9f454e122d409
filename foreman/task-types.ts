/** The task model shared by the foreman's components. */

/**
 * Task lifecycle:
 * - `queued`: waiting for a worker (or for `runAt`, after a failed attempt);
 * - `running`: assigned to a worker under the current attempt;
 * - `cancelling`: cancel pushed to the worker, waiting for its handler to stop;
 * - `succeeded` | `failed` | `cancelled`: settled, with exactly one accepted outcome.
 */
export type TaskState = 'queued' | 'running' | 'cancelling' | 'succeeded' | 'failed' | 'cancelled';

export const TASK_STATES: readonly TaskState[] = ['queued', 'running', 'cancelling', 'succeeded', 'failed', 'cancelled'];
export const SETTLED_STATES: readonly TaskState[] = ['succeeded', 'failed', 'cancelled'];

export function isSettled(state: TaskState): boolean {
  return state === 'succeeded' || state === 'failed' || state === 'cancelled';
}

/** What a client submits for one task. */
export interface TaskInput {
  type: string;
  params?: unknown;
  priority?: number;
  maxAttempts?: number;
  timeoutMs?: number;
  /** Idempotency key: a second submission with the same key returns the first task. */
  key?: string;
  /** Quorum (foreman/quorum/): run on this many distinct workers and accept an agreed result. Not stored on the task. */
  quorum?: unknown;
  /** Delayed task (foreman/start-at.ts): not dispatched before this time, epoch ms or an ISO 8601 string. */
  runAt?: number | string;
  /** Delayed task: not dispatched until this many ms after submission. */
  delayMs?: number;
  /** Dependencies (foreman/dependencies/): ids of existing tasks that must all succeed before this one runs. */
  dependsOn?: string[];
  /** Dependencies by idempotency key (jobs only): keys of tasks earlier in the same submission or already in the job. */
  dependsOnKeys?: string[];
  /** Points a worker earns for a result that matches the quorum's canonical one (default 1). */
  points?: number;
  /** Internal (never from the API): the task id, when a room made it in advance. */
  id?: string;
  /** Internal (never from the API): the task waits, queued but never dispatched, until `settleHeld` settles it. */
  hold?: boolean;
  /** Internal (never from the API): workers the task must not run on (see LiveTask.excludeWorkers). */
  excludeWorkers?: { has(workerId: string): boolean };
}

/**
 * Tasks read a slice at a time (a big NDJSON import: http/ndjson-task-list.ts), so that a submission
 * need not hold an object per task until it is durable. Each is plain: no key, dependency or quorum.
 */
export interface TaskSlices {
  /** How many tasks the slices hold in all. */
  readonly count: number;
  /** The tasks in order, at most `size()` per slice (asked before each is cut); each call reads them again from the start. */
  slices(size: () => number): AsyncIterable<TaskInput[]>;
}

/** `runAt` of a held task: queued and never due, so only `settleHeld` ends it (a quorum task waiting for its replicas). Durable in the task row. */
export const HELD_RUN_AT = Number.MAX_SAFE_INTEGER;

/** Whether a task is held (see `TaskInput.hold`). */
export const isHeld = (task: { runAt: number }): boolean => task.runAt === HELD_RUN_AT;

/** A task that is not settled, as the foreman holds it in memory. */
export interface LiveTask {
  seq: number;
  id: string;
  jobId: string | null;
  /** Idempotency key given at submission, echoed in results. */
  key: string | null;
  type: string;
  priority: number;
  /** Decoded params; undefined when not loaded yet (tasks loaded at start fetch them at dispatch). */
  params: unknown;
  paramsLoaded: boolean;
  state: 'queued' | 'running' | 'cancelling' | 'settled';
  attempt: number;
  failures: number;
  losses: number;
  maxAttempts: number;
  timeoutMs: number | null;
  workerId: string | null;
  runAt: number;
  createdAt: number;
  startedAt: number | null;
  progress: { fraction: number; message?: string } | null;
  /** True while the task sits in a ready or delayed heap (removal from heaps is lazy). */
  queued: boolean;
  /** Workers the dispatcher must not give this task to (a quorum replica: its siblings' workers, quarantined ones). */
  excludeWorkers?: { has(workerId: string): boolean } | null;
  /** The quorum task this task is a replica of, as a claim from a shared store reads it (foreman/quorum/). */
  quorumParent?: string | null;
  /** The latest checkpoint as the PostgreSQL claim read it (another foreman may have taken it); the SQLite ledger leaves it unset. */
  storedCheckpoint?: { state: Buffer; attempt: number; savedAt: number } | null;
  /** A dependent task's parents' results, by parent id, as the PostgreSQL claim read them; the SQLite ledger leaves it unset. */
  parentResults?: Record<string, unknown> | null;
}

/** An error as stored and shown: `{ code, message, retryable }`. */
export interface TaskError {
  code: string;
  message: string;
  retryable: boolean;
  /** With HANDLER_RATE_LIMITED: how long the handler asked to wait (see RateLimitedError). */
  retryAfterMs?: number;
}
