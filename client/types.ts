/** The shapes the client sends and receives (the foreman's OpenAPI document describes the same ones). */

/** Task lifecycle as the foreman reports it. */
export type TaskState = 'queued' | 'running' | 'cancelling' | 'succeeded' | 'failed' | 'cancelled';

/** An error as stored: a stable code, a message, and whether a retry could help; newer foremen add the handler's class and stack. */
export interface TaskError {
  code: string;
  message: string;
  retryable: boolean;
  name?: string;
  stack?: string;
}

/** One attempt of a task. */
export interface AttemptView {
  attempt: number;
  workerId: string;
  startedAt: number;
  finishedAt: number | null;
  /** succeeded, failed, lost, released, cancelled; null while running. */
  outcome: string | null;
  error: TaskError | null;
}

/** A task as `GET /tasks/:id` returns it. */
export interface TaskView<Params = unknown, Result = unknown> {
  id: string;
  jobId: string | null;
  key: string | null;
  type: string;
  state: TaskState;
  status: string | null;
  priority: number;
  attempt: number;
  failures: number;
  losses: number;
  maxAttempts: number;
  timeoutMs: number | null;
  workerId: string | null;
  createdAt: number;
  runAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  progress: Progress | null;
  params: Params;
  result: Result | null;
  error: TaskError | null;
  waitingFor?: string;
  attempts?: AttemptView[];
}

/** Progress a handler reported with `ctx.progress()`. */
export interface Progress {
  fraction: number;
  message?: string;
}

/** A job as `GET /jobs/:id` returns it. */
export interface JobView {
  id: string;
  key: string | null;
  createdAt: number;
  closedAt: number | null;
  cancelledAt: number | null;
  total: number;
  counts: Record<TaskState, number>;
  settled: number;
  progress: number;
  complete: boolean;
}

/** One line of a job's result stream, as each task settles. */
export interface ResultLine<Result = unknown> {
  id: string;
  key: string | null;
  type: string;
  state: 'succeeded' | 'failed' | 'cancelled';
  status: string;
  result: Result | null;
  error: TaskError | null;
  attempt: number;
  workerId: string | null;
}

/** Options of one task. */
export interface SubmitOptions {
  /** Higher runs first. Default 0. */
  priority?: number;
  /** Handler failures allowed before the task fails. Default: the foreman's. */
  maxAttempts?: number;
  /** Per attempt, in ms: the handler's signal aborts at expiry. Default none. */
  timeoutMs?: number;
  /** Idempotency key: submitting the same key again returns the first task. */
  key?: string;
  /** Delayed task: not dispatched until this many ms after submission. */
  delayMs?: number;
  /** Delayed task: not dispatched before this time (epoch ms, or an ISO 8601 string). */
  runAt?: number | string;
  /** Ids of existing tasks that must all succeed first; their results reach the handler as `ctx.parents`. */
  dependsOn?: string[];
}

/** A task for `submitJob`. */
export interface TaskInput<Type extends string = string, Params = unknown> extends SubmitOptions {
  type: Type;
  params?: Params;
  /** Keys of tasks of the same job (earlier in this submission, or added before) that must all succeed first; as `dependsOn`. */
  dependsOnKeys?: string[];
}

/** Filters of `listTasks` and `retryTasks`; every one given must match. */
export interface TaskFilter {
  type?: string;
  state?: TaskState;
  status?: string;
  /** A worker that ran any attempt of the task. */
  workerId?: string;
  key?: string;
  jobId?: string;
  /** Error code of the last failure. */
  code?: string;
  /** Epoch ms or a Date: created at or after. */
  createdAfter?: number | Date;
  /** Epoch ms or a Date: created before. */
  createdBefore?: number | Date;
}

/**
 * The task types a client knows: `{ resize: { params: { url: string }; result: { bytes: number } } }`.
 * Without one, any type name is accepted and params and results are `unknown`.
 */
export type TaskMap = Record<string, { params: unknown; result: unknown }>;

/** The map used when none is given. */
export type AnyTasks = Record<string, { params: any; result: any }>;
