/**
 * What happens to a task when an attempt ends: the one place that decides it, whichever store is in
 * use. A result, a failure, a lost worker, a release or a cancel goes in; out comes whether the task
 * settles (and how) or goes back to the queue (and when), with its new failure and loss counters.
 * Pure: no clock, no store, no I/O; both ledgers (SQLite's in-memory one and PostgreSQL's
 * compare-and-set one) apply the decision their own way.
 */
import type { TaskResult } from '../shared/protocol.js';
import { retryDelayMs } from './backoff.js';
import type { TaskError } from './task-types.js';

/** How an attempt ended, as recorded in the attempt history. */
export type AttemptOutcome = 'succeeded' | 'failed' | 'lost' | 'released' | 'cancelled';

export type Outcome =
  /** The task settles: one accepted outcome. */
  | { kind: 'settle'; state: 'succeeded' | 'failed' | 'cancelled'; status: string | null; result: unknown; error: TaskError | null; attempt: AttemptOutcome }
  /** The task goes back to the queue, ready again `delayMs` from now. */
  | { kind: 'requeue'; delayMs: number; error: TaskError | null; attempt: AttemptOutcome };

export interface Decision {
  outcome: Outcome;
  failures: number;
  losses: number;
}

/** The task's counters the decision reads. */
export interface AttemptCounters {
  /** True when a cancel was pushed for this attempt: whatever ends it, the task is cancelled. */
  cancelling: boolean;
  failures: number;
  losses: number;
  maxAttempts: number;
}

export interface RetryPolicy {
  maxLosses: number;
  retryBackoffMs: number;
  retryBackoffMaxMs: number;
}

export const CANCELLED: TaskError = Object.freeze({ code: 'CANCELLED', message: 'cancelled', retryable: false });
export const CANCELLED_QUEUED: TaskError = Object.freeze({ code: 'CANCELLED', message: 'cancelled before it ran', retryable: false });
export const WORKER_LOST: TaskError = Object.freeze({ code: 'WORKER_LOST', message: 'the worker was lost while running this attempt', retryable: true });
const NO_ERROR: TaskError = Object.freeze({ code: 'HANDLER_ERROR', message: 'failed without an error', retryable: true });

const cancelled = (t: AttemptCounters, attempt: AttemptOutcome): Decision => ({
  outcome: { kind: 'settle', state: 'cancelled', status: null, result: null, error: CANCELLED, attempt },
  failures: t.failures,
  losses: t.losses,
});

/** The worker reported a result for the current attempt. */
export function decideResult(t: AttemptCounters, r: TaskResult, policy: RetryPolicy, random?: () => number): Decision {
  // A cancel wins over whatever the handler did after it was asked to stop.
  if (t.cancelling) return cancelled(t, 'cancelled');
  if (r.outcome === 'succeeded') {
    return { outcome: { kind: 'settle', state: 'succeeded', status: r.status ?? null, result: r.value ?? null, error: null, attempt: 'succeeded' }, failures: t.failures, losses: t.losses };
  }
  if (r.outcome === 'failed') {
    const error = r.error ?? NO_ERROR;
    // A rate limit the handler hit is not the task's fault: back to the queue after the wait, using no attempt.
    if (error.code === 'HANDLER_RATE_LIMITED' && error.retryAfterMs !== undefined) {
      return { outcome: { kind: 'requeue', delayMs: error.retryAfterMs, error, attempt: 'released' }, failures: t.failures, losses: t.losses };
    }
    const failures = t.failures + 1;
    if (error.retryable && failures < t.maxAttempts) {
      const delayMs = retryDelayMs(failures, policy.retryBackoffMs, policy.retryBackoffMaxMs, random);
      return { outcome: { kind: 'requeue', delayMs, error, attempt: 'failed' }, failures, losses: t.losses };
    }
    // The final failure says so: nothing will retry it (a transient error that used up the attempts included).
    const final = error.retryable ? { ...error, retryable: false } : error;
    return { outcome: { kind: 'settle', state: 'failed', status: null, result: null, error: final, attempt: 'failed' }, failures, losses: t.losses };
  }
  // The worker gave the task up on its own (shutdown): not the task's fault.
  return decideRelease(t);
}

/** The worker handed the attempt back (drain, shutdown): requeue at once, counting nothing against it. */
export function decideRelease(t: AttemptCounters): Decision {
  if (t.cancelling) return cancelled(t, 'cancelled');
  return { outcome: { kind: 'requeue', delayMs: 0, error: null, attempt: 'released' }, failures: t.failures, losses: t.losses };
}

/** The worker running the attempt is gone (lease, grace, its foreman died): requeue, or fail a task lost too often. */
export function decideLoss(t: AttemptCounters, policy: Pick<RetryPolicy, 'maxLosses'>): Decision {
  if (t.cancelling) return cancelled(t, 'lost');
  const losses = t.losses + 1;
  if (losses >= policy.maxLosses) {
    const error: TaskError = { code: 'TOO_MANY_LOSSES', message: `lost with its worker ${losses} times`, retryable: false };
    return { outcome: { kind: 'settle', state: 'failed', status: null, result: null, error, attempt: 'lost' }, failures: t.failures, losses };
  }
  return { outcome: { kind: 'requeue', delayMs: 0, error: WORKER_LOST, attempt: 'lost' }, failures: t.failures, losses };
}
