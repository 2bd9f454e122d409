/**
 * Runs one attempt of one task: one AbortController for cancel and
 * shutdown, combined with the task's timeout, and one outcome at the end.
 */
import { GafferError, toWireError } from '../shared/errors.js';
import type { Assignment, WireError } from '../shared/protocol.js';
import { isCustomStatus, type TaskContext, type TaskHandler } from './task-context.js';

/** Why a running attempt was aborted by the worker (a timeout is the other reason a signal aborts). */
export type AbortCause = 'CANCELLED' | 'REVOKED' | 'SHUTDOWN';

/** How an attempt ended, before it is turned into a wire result (or a release). */
export type RunOutcome =
  | { kind: 'succeeded'; value: unknown; status?: string }
  | { kind: 'failed'; error: WireError }
  | { kind: 'aborted'; cause: AbortCause };

export class TaskRun {
  readonly startedAt = Date.now();
  readonly controller = new AbortController();
  readonly signal: AbortSignal;
  progress: { fraction: number; message?: string } | null = null;
  /** Set when a cancel arrived and the handler has not returned yet. */
  cancelRequestedAt: number | null = null;
  readonly done: Promise<RunOutcome>;

  constructor(
    readonly assignment: Assignment,
    handler: TaskHandler,
    hooks: { onProgress(run: TaskRun): void; log(run: TaskRun, message: string, fields?: Record<string, unknown>): void },
  ) {
    const signals = [this.controller.signal];
    if (assignment.timeoutMs !== null) signals.push(AbortSignal.timeout(assignment.timeoutMs));
    this.signal = signals.length === 1 ? signals[0] : AbortSignal.any(signals);
    const ctx: TaskContext = {
      taskId: assignment.taskId,
      jobId: assignment.jobId,
      type: assignment.type,
      attempt: assignment.attempt,
      priority: assignment.priority,
      signal: this.signal,
      progress: (fraction, message) => {
        const f = Math.min(1, Math.max(0, Number(fraction) || 0));
        this.progress = message === undefined ? { fraction: f } : { fraction: f, message: String(message).slice(0, 1000) };
        hooks.onProgress(this);
      },
      log: (message, fields) => hooks.log(this, message, fields),
    };
    this.done = this.run(handler, ctx);
  }

  /** Aborts the handler's signal with a reason whose code is `cause`. */
  abort(cause: AbortCause): void {
    if (cause === 'CANCELLED') this.cancelRequestedAt ??= Date.now();
    if (!this.controller.signal.aborted) this.controller.abort(new GafferError(cause, `task ${cause.toLowerCase()}`));
  }

  get ref() {
    return { taskId: this.assignment.taskId, attempt: this.assignment.attempt };
  }

  private async run(handler: TaskHandler, ctx: TaskContext): Promise<RunOutcome> {
    let value: unknown;
    let thrown: unknown;
    let ok = false;
    try {
      value = await handler(this.assignment.params, ctx);
      ok = true;
    } catch (err) {
      thrown = err;
    }
    // Whatever the handler did, an abort decides the outcome: a cancelled task is never a success.
    if (this.controller.signal.aborted) {
      return { kind: 'aborted', cause: (this.controller.signal.reason as GafferError).code as AbortCause };
    }
    if (this.signal.aborted) {
      return { kind: 'failed', error: { code: 'TIMEOUT', message: `attempt exceeded timeoutMs ${this.assignment.timeoutMs}`, retryable: true } };
    }
    if (!ok) return { kind: 'failed', error: toWireError(thrown) };
    if (isCustomStatus(value)) return { kind: 'succeeded', value: value.data, status: value.status };
    return { kind: 'succeeded', value: value === undefined ? null : value };
  }
}
