/** What a handler sees: the task, its cancellation signal, and ways to report. */

export interface TaskContext {
  taskId: string;
  jobId: string | null;
  type: string;
  /** 1 for the first attempt; grows with each retry or reassignment. */
  attempt: number;
  priority: number;
  /** Aborts on cancel, timeout or worker shutdown; `signal.reason` is a GafferError whose code says which. */
  signal: AbortSignal;
  /** Reports progress in [0, 1], with an optional message; sent to the foreman batched. */
  progress(fraction: number, message?: string): void;
  /** Logs a line tagged with the task id and attempt. */
  log(message: string, fields?: Record<string, unknown>): void;
  /**
   * Saves a small state (at most the foreman's `maxCheckpointBytes`, 64 KiB by default) from which a later
   * attempt can continue; resolves once the foreman has stored it durably. Rejects with a GafferError
   * CHECKPOINT_REFUSED when this attempt is no longer current or the state is too big.
   */
  checkpoint(state: unknown): Promise<void>;
  /** The state of the latest checkpoint a previous attempt saved, or null (the first attempt, or none saved). */
  lastCheckpoint: unknown;
  /** Blob references found in the params, each mapped to the local file it was downloaded to (the params hold the paths too). */
  files: Readonly<Record<string, string>>;
  /** The worker's payload directory: files the handler returns by path from inside it are uploaded as blobs. */
  payloadDir: string;
  /** Uploads a file to the foreman's blob store; resolves with its `blob:sha256:…` reference. */
  upload(path: string): Promise<string>;
}

/** A task handler: return a value to succeed, throw to fail (PermanentError: no retry). */
export type TaskHandler<P = any, R = unknown> = (params: P, ctx: TaskContext) => Promise<R> | R;

export interface TaskRegistration {
  /** Concurrency group: tasks of one group share the worker's `limits[group]`. Default: the task type. */
  group?: string;
}

/** A handler result with a custom status, e.g. `{ status: 'needs_review', data }`, stored and shown as that status. */
export interface CustomStatusResult<D = unknown> {
  status: string;
  data: D;
}

const STATUS = /^[a-z][a-z0-9_]{0,63}$/;

/** Whether a returned value is a custom-status result: exactly the keys `status` (a snake_case word) and `data`. */
export function isCustomStatus(value: unknown): value is CustomStatusResult {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const v = value as { status?: unknown; data?: unknown };
  return Object.keys(v).length === 2 && 'data' in v && typeof v.status === 'string' && STATUS.test(v.status);
}
