import { describe, expect, it } from 'vitest';
import { decideLoss, decideRelease, decideResult } from '../../foreman/task-outcome.js';

const policy = { maxLosses: 2, retryBackoffMs: 100, retryBackoffMaxMs: 1000 };
const running = { cancelling: false, failures: 0, losses: 0, maxAttempts: 3 };
const half = () => 0.5;

describe('task outcome decisions', () => {
  it('settles a success with its status and value', () => {
    const d = decideResult(running, { taskId: 't', attempt: 1, outcome: 'succeeded', value: 7, status: 'ok', durationMs: 1 }, policy);
    expect(d.outcome).toMatchObject({ kind: 'settle', state: 'succeeded', result: 7, status: 'ok', attempt: 'succeeded' });
  });

  it('requeues a retryable failure with backoff until the attempts run out', () => {
    const failed = { taskId: 't', attempt: 1, outcome: 'failed' as const, durationMs: 1, error: { code: 'X', message: 'x', retryable: true } };
    const first = decideResult(running, failed, policy, half);
    expect(first).toMatchObject({ failures: 1, outcome: { kind: 'requeue', delayMs: 75, attempt: 'failed' } });
    const last = decideResult({ ...running, failures: 2 }, failed, policy, half);
    expect(last).toMatchObject({ failures: 3, outcome: { kind: 'settle', state: 'failed', error: { code: 'X' } } });
    const permanent = decideResult(running, { ...failed, error: { ...failed.error, retryable: false } }, policy);
    expect(permanent.outcome).toMatchObject({ kind: 'settle', state: 'failed' });
  });

  it('lets a pushed cancel win over any ending', () => {
    const cancelling = { ...running, cancelling: true };
    expect(decideResult(cancelling, { taskId: 't', attempt: 1, outcome: 'succeeded', durationMs: 1 }, policy).outcome).toMatchObject({ state: 'cancelled' });
    expect(decideRelease(cancelling).outcome).toMatchObject({ state: 'cancelled', attempt: 'cancelled' });
    expect(decideLoss(cancelling, policy).outcome).toMatchObject({ state: 'cancelled', attempt: 'lost' });
  });

  it('counts losses apart from failures and fails a task lost too often', () => {
    expect(decideLoss(running, policy)).toMatchObject({ losses: 1, failures: 0, outcome: { kind: 'requeue', delayMs: 0, error: { code: 'WORKER_LOST' } } });
    expect(decideLoss({ ...running, losses: 1 }, policy).outcome).toMatchObject({ kind: 'settle', state: 'failed', error: { code: 'TOO_MANY_LOSSES' } });
    expect(decideRelease(running)).toMatchObject({ losses: 0, failures: 0, outcome: { kind: 'requeue', delayMs: 0, error: null } });
  });
});
