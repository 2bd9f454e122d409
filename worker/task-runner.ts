/**
 * Runs one attempt of one task: one AbortController for cancel and
 * shutdown, combined with the task's timeout, and one outcome at the end.
 *
 * The controller is made the first time the handler reads `ctx.signal` (or
 * at once when the task has a timeout): in Node 20 an AbortController costs
 * more than everything else a no-op task does on the worker, and most
 * short handlers never look at it. An abort that comes first is remembered
 * and the signal is born aborted, with the same reason.
 */
import { GafferError, toWireError } from '../shared/errors.js';
import type { Assignment, WireError } from '../shared/protocol.js';
import type { HotCache } from './hot-cache.js';
import type { AttemptLog } from './attempt-log.js';
import { isCustomStatus, type TaskContext, type TaskHandler } from './task-context.js';

/** Why a running attempt was aborted by the worker (a timeout is the other reason a signal aborts). */
export type AbortCause = 'CANCELLED' | 'REVOKED' | 'SHUTDOWN';

/** How an attempt ended, before it is turned into a wire result (or a release). */
export type RunOutcome =
  | { kind: 'succeeded'; value: unknown; status?: string }
  | { kind: 'failed'; error: WireError }
  | { kind: 'aborted'; cause: AbortCause };

/** What a run tells its worker; one object per worker, shared by all its runs. */
export interface RunHooks {
  onProgress(run: TaskRun): void;
  log(run: TaskRun, message: string, fields?: Record<string, unknown>): void;
  checkpoint(run: TaskRun, state: unknown): Promise<void>;
  upload(run: TaskRun, path: string): Promise<string>;
  payloadDir(): string;
  hotCache(): HotCache;
  /** The attempt ended; called once. A handler that returns without awaiting ends inside `start()`. */
  onDone(run: TaskRun, outcome: RunOutcome): void;
}

const abortReason = (cause: AbortCause) => new GafferError(cause, `task ${cause.toLowerCase()}`);

// The context's functions come from factories: tsx compiles with keepNames, which wraps an arrow written
// as an object property in a defineProperty call, once per task; an arrow returned from a function is not.
function progressOf(run: TaskRun, hooks: RunHooks): TaskContext['progress'] {
  return (fraction, message) => {
    const f = Math.min(1, Math.max(0, Number(fraction) || 0));
    run.progress = message === undefined ? { fraction: f } : { fraction: f, message: String(message).slice(0, 1000) };
    hooks.onProgress(run);
  };
}

function logOf(run: TaskRun, hooks: RunHooks): TaskContext['log'] {
  return (message, fields) => hooks.log(run, message, fields);
}

function checkpointOf(run: TaskRun, hooks: RunHooks): TaskContext['checkpoint'] {
  return (state) => hooks.checkpoint(run, state);
}

function uploadOf(run: TaskRun, hooks: RunHooks): TaskContext['upload'] {
  return (path) => hooks.upload(run, path);
}

const NO_PARENTS: Readonly<Record<string, unknown>> = Object.freeze({});
const NO_FILES: Readonly<Record<string, string>> = Object.freeze({});

const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';

export class TaskRun {
  readonly startedAt = Date.now();
  progress: { fraction: number; message?: string } | null = null;
  /** The attempt's ctx.log() lines, made on the first line (most handlers log nothing). */
  attemptLog: AttemptLog | null = null;
  /** Set when a cancel arrived and the handler has not returned yet. */
  cancelRequestedAt: number | null = null;
  /** Why the worker aborted this attempt, once it has (the first cause wins). */
  private abortCause: AbortCause | null = null;
  private controller: AbortController | null = null;
  private readonly timeout: AbortSignal | null;
  private handlerSignal: AbortSignal | null = null;
  private ended = false;

  constructor(
    readonly assignment: Assignment,
    private readonly handler: TaskHandler,
    private readonly hooks: RunHooks,
  ) {
    // The deadline runs from the start of the attempt, whether or not the handler ever looks at its signal.
    this.timeout = assignment.timeoutMs === null ? null : AbortSignal.timeout(assignment.timeoutMs);
  }

  /** The handler's signal: aborts on cancel, revoke, shutdown or timeout. Made on first use. */
  get signal(): AbortSignal {
    if (this.handlerSignal) return this.handlerSignal;
    const controller = (this.controller = new AbortController());
    if (this.abortCause !== null) controller.abort(abortReason(this.abortCause));
    this.handlerSignal = this.timeout ? AbortSignal.any([controller.signal, this.timeout]) : controller.signal;
    return this.handlerSignal;
  }

  /** Calls the handler. The outcome goes to `hooks.onDone`. */
  start(): void {
    const run = this;
    const a = this.assignment;
    const ctx: TaskContext = {
      taskId: a.taskId,
      jobId: a.jobId,
      type: a.type,
      attempt: a.attempt,
      priority: a.priority,
      get signal() {
        return run.signal;
      },
      progress: progressOf(this, this.hooks),
      log: logOf(this, this.hooks),
      checkpoint: checkpointOf(this, this.hooks),
      lastCheckpoint: a.checkpoint === undefined ? null : a.checkpoint.state,
      parents: (a.parents as Record<string, unknown> | undefined) ?? NO_PARENTS,
      files: NO_FILES,
      payloadDir: this.hooks.payloadDir(),
      upload: uploadOf(this, this.hooks),
      hotCache: this.hooks.hotCache(),
    };
    let value: unknown;
    try {
      value = this.handler(a.params, ctx);
    } catch (err) {
      return this.end(false, err);
    }
    if (isThenable(value)) {
      try {
        value.then(
          (v) => this.end(true, v),
          (err) => this.end(false, err),
        );
      } catch (err) {
        // A thenable whose then() throws is a failed handler, as `await` would have made it.
        this.end(false, err);
      }
    } else {
      this.end(true, value);
    }
  }

  /** Aborts the handler's signal with a reason whose code is `cause`. */
  abort(cause: AbortCause): void {
    if (cause === 'CANCELLED') this.cancelRequestedAt ??= Date.now();
    if (this.abortCause !== null) return;
    this.abortCause = cause;
    this.controller?.abort(abortReason(cause));
  }

  get ref() {
    return { taskId: this.assignment.taskId, attempt: this.assignment.attempt };
  }

  private end(ok: boolean, valueOrError: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.hooks.onDone(this, this.outcome(ok, valueOrError));
  }

  private outcome(ok: boolean, value: unknown): RunOutcome {
    // Whatever the handler did, an abort decides the outcome: a cancelled task is never a success.
    if (this.abortCause !== null) return { kind: 'aborted', cause: this.abortCause };
    if (this.timeout?.aborted) {
      return { kind: 'failed', error: { code: 'TIMEOUT', message: `attempt exceeded timeoutMs ${this.assignment.timeoutMs}`, retryable: true } };
    }
    if (!ok) return { kind: 'failed', error: toWireError(value) };
    if (isCustomStatus(value)) return { kind: 'succeeded', value: value.data, status: value.status };
    return { kind: 'succeeded', value: value === undefined ? null : value };
  }
}
