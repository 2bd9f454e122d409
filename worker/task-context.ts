/** What a handler sees: the task, its cancellation signal, and ways to report. */
import type { HotCache } from './hot-cache.js';

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
  /** A dependent task's parents' results, by parent task id (`dependsOn` at submission); empty for other tasks. */
  parents: Readonly<Record<string, unknown>>;
  /** Blob references found in the params, each mapped to the local file it was downloaded to (the params hold the paths too). */
  files: Readonly<Record<string, string>>;
  /** The worker's payload directory: files the handler returns by path from inside it are uploaded as blobs. */
  payloadDir: string;
  /** Uploads a file to the foreman's blob store; resolves with its `blob:sha256:…` reference. */
  upload(path: string): Promise<string>;
  /** The worker's loaded models: `add(name)` after loading one, `remove(name)` after unloading it (see `skillDependencies`). */
  hotCache: HotCache;
}

/** A task handler: return a value to succeed, throw to fail (PermanentError: no retry). */
export type TaskHandler<P = any, R = unknown> = (params: P, ctx: TaskContext) => Promise<R> | R;

export interface TaskRegistration {
  /** Concurrency group: tasks of one group share the worker's `limits[group]`. Default: the task type. */
  group?: string;
}

/**
 * A handler result with a custom status, made by `customStatus()`: stored as `data`, and the task shows
 * `status` (e.g. `needs_review`) instead of plain `succeeded`. Only values made by `customStatus()` are read this
 * way; a plain object such as `{ status: 'ok', data: {...} }` is always just the result.
 */
export interface CustomStatusResult<D = unknown> {
  readonly status: string;
  readonly data: D;
}

// Symbol.for, not Symbol(): a handler file that loads its own copy of Gaffer (CommonJS beside ESM) still matches.
const CUSTOM_STATUS = Symbol.for('gaffer.customStatus');
const STATUS = /^[a-z][a-z0-9_]{0,63}$/;

/**
 * Marks a handler's return value as succeeding with a custom status: `return customStatus('needs_review', { score })`.
 * @param status a snake_case word, 1-64 characters.
 * @throws TypeError when `status` is not one.
 */
export function customStatus<D>(status: string, data: D): CustomStatusResult<D> {
  if (typeof status !== 'string' || !STATUS.test(status)) throw new TypeError(`customStatus: status must be a snake_case word of 1-64 characters, got ${JSON.stringify(status)}`);
  return Object.freeze({ status, data, [CUSTOM_STATUS]: true });
}

/** Whether a returned value was made by `customStatus()`. */
export function isCustomStatus(value: unknown): value is CustomStatusResult {
  return value !== null && typeof value === 'object' && (value as Record<symbol, unknown>)[CUSTOM_STATUS] === true;
}
