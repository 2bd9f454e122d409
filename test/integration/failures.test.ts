import { describe, expect, it } from 'vitest';
import { FAST_LIVENESS } from '../helpers/fast-liveness.js';
import { spawnWorker, startForeman } from '../helpers/processes.js';
import { storeArgs, STORES } from '../helpers/stores.js';
import { settled, submit, waitForHandler, waitForTask } from '../helpers/tasks.js';
import { waitFor } from '../helpers/wait-for.js';

describe.each(STORES)('when workers die, stall or misbehave (%s)', (store) => {
  it('finishes a task elsewhere after its worker is killed with SIGKILL mid-task', async () => {
    const foreman = await startForeman([...(await storeArgs(store)), ...FAST_LIVENESS, '--grace-ms', '200']);
    const a = await spawnWorker(foreman.wsUrl);
    const id = await submit(foreman.api, { type: 'sleep', params: { ms: 800 } });
    await waitForTask(foreman.api, id, (t) => t.state === 'running' && t.workerId === a.id, 'running on A');
    a.kill('SIGKILL');
    const b = await spawnWorker(foreman.wsUrl);
    const t = await waitForTask(foreman.api, id, settled, 'task settled');
    expect(t.state).toBe('succeeded');
    expect(t.workerId).toBe(b.id);
    expect(t.attempts.map((x: any) => [x.workerId, x.outcome])).toEqual([
      [a.id, 'lost'],
      [b.id, 'succeeded'],
    ]);
    // A lost worker is not the task's fault: it used no handler attempt.
    expect(t.failures).toBe(0);
    expect(t.losses).toBe(1);
  });

  it('keeps the task with its worker when the worker reconnects within the grace period', async () => {
    const foreman = await startForeman([...(await storeArgs(store)), ...FAST_LIVENESS]);
    const a = await spawnWorker(foreman.wsUrl);
    const id = await submit(foreman.api, { type: 'sleep', params: { ms: 1500 } });
    await waitForTask(foreman.api, id, (t) => t.state === 'running', 'running');
    // Freeze the worker until the foreman drops its socket, then thaw it inside the grace period.
    a.kill('SIGSTOP');
    await waitFor(async () => {
      const { workers } = await foreman.api.request('GET', '/workers');
      return workers.find((w: any) => w.id === a.id)?.state === 'offline';
    }, 'foreman sees the worker offline');
    a.kill('SIGCONT');
    await a.registered(2);
    const t = await waitForTask(foreman.api, id, settled, 'task settled');
    expect(t.state).toBe('succeeded');
    expect(t.attempt).toBe(1);
    expect(t.attempts).toHaveLength(1);
    expect(t.attempts[0]).toMatchObject({ workerId: a.id, outcome: 'succeeded' });
    const reg = a.lines.filter((l) => l.msg === 'registered with foreman');
    expect(reg[1]).toMatchObject({ adopted: 1, revoked: 0 });
  });

  it('rejects the late result of a worker that was frozen past its lease', async () => {
    const foreman = await startForeman([...(await storeArgs(store)), ...FAST_LIVENESS, '--grace-ms', '100']);
    const a = await spawnWorker(foreman.wsUrl);
    const id = await submit(foreman.api, { type: 'record', params: { file: '/dev/null', ms: 1200 } });
    await waitForTask(foreman.api, id, (t) => t.state === 'running' && t.workerId === a.id, 'running on A');
    a.kill('SIGSTOP');
    const b = await spawnWorker(foreman.wsUrl);
    await waitForTask(foreman.api, id, (t) => t.workerId === b.id && t.attempt === 2, 'reassigned to B');
    a.kill('SIGCONT');
    // A comes back reporting attempt 1, which is no longer current: it is told to drop it.
    await a.registered(2);
    const reg = a.lines.filter((l) => l.msg === 'registered with foreman');
    expect(reg[1]).toMatchObject({ revoked: 1 });
    const t = await waitForTask(foreman.api, id, settled, 'task settled');
    expect(t.state).toBe('succeeded');
    expect(t.result).toMatchObject({ by: b.id, attempt: 2 });
    expect(t.attempts.map((x: any) => [x.attempt, x.workerId, x.outcome])).toEqual([
      [1, a.id, 'lost'],
      [2, b.id, 'succeeded'],
    ]);
  });

  it('pushes a cancel that reaches the running handler', async () => {
    const foreman = await startForeman(await storeArgs(store));
    const w = await spawnWorker(foreman.wsUrl);
    const id = await submit(foreman.api, { type: 'honours-abort', params: {} });
    await waitForHandler(w.statusUrl, id);
    const res = await foreman.api.request('POST', `/tasks/${id}/cancel`);
    expect(['cancelling', 'cancelled']).toContain(res.state);
    const t = await waitForTask(foreman.api, id, settled, 'task settled', 5000);
    expect(t.state).toBe('cancelled');
    expect(t.error.code).toBe('CANCELLED');
    const stats = await fetch(`${w.statusUrl}/stats`).then((r) => r.json());
    expect(stats.cancelled).toBe(1);
  });

  it('shows a task whose handler ignores the abort as cancelling, and never records it as succeeded', async () => {
    const foreman = await startForeman(await storeArgs(store));
    const w = await spawnWorker(foreman.wsUrl);
    const id = await submit(foreman.api, { type: 'ignores-abort', params: { ms: 1500 } });
    // On the worker, not only 'running' on the foreman (PostgreSQL shows that before the assignment commits,
    // and a cancel then settles it before any handler runs, never showing 'cancelling').
    await waitForHandler(w.statusUrl, id);
    await foreman.api.request('POST', `/tasks/${id}/cancel`);
    const during = await waitForTask(foreman.api, id, (t) => t.state === 'cancelling', 'cancelling');
    expect(during.state).toBe('cancelling');
    const t = await waitForTask(foreman.api, id, settled, 'task settled');
    expect(t.state).toBe('cancelled');
    expect(t.result).toBeNull();
  });

  it('cancels a queued task at once', async () => {
    const foreman = await startForeman(await storeArgs(store));
    const id = await submit(foreman.api, { type: 'sleep', params: { ms: 10 } });
    const res = await foreman.api.request('POST', `/tasks/${id}/cancel`);
    expect(res.state).toBe('cancelled');
  });

  it('aborts an attempt past its timeout and fails it as transient', async () => {
    const foreman = await startForeman([...(await storeArgs(store)), ...FAST_LIVENESS]);
    await spawnWorker(foreman.wsUrl);
    const id = await submit(foreman.api, { type: 'honours-abort', params: { ms: 60_000 }, timeoutMs: 150, maxAttempts: 2 });
    const t = await waitForTask(foreman.api, id, settled, 'task settled');
    expect(t.state).toBe('failed');
    // Transient, so the first attempt's error was retryable; the final failure says it will not be retried.
    expect(t.attempts[0].error).toMatchObject({ code: 'TIMEOUT', retryable: true });
    expect(t.error).toMatchObject({ code: 'TIMEOUT', retryable: false });
    // Transient: it was retried once, up to maxAttempts.
    expect(t.attempts.map((a: any) => a.outcome)).toEqual(['failed', 'failed']);
  });

  it('retries transient failures up to maxAttempts and does not retry permanent ones', async () => {
    const foreman = await startForeman([...(await storeArgs(store)), ...FAST_LIVENESS]);
    await spawnWorker(foreman.wsUrl);
    const transient = await submit(foreman.api, { type: 'fail', params: { kind: 'transient' }, maxAttempts: 3 });
    const permanent = await submit(foreman.api, { type: 'fail', params: { kind: 'permanent' }, maxAttempts: 3 });
    const recovers = await submit(foreman.api, { type: 'fail', params: { kind: 'transient', succeedOnAttempt: 2 }, maxAttempts: 3 });
    const t = await waitForTask(foreman.api, transient, settled, 'transient settled');
    const p = await waitForTask(foreman.api, permanent, settled, 'permanent settled');
    const r = await waitForTask(foreman.api, recovers, settled, 'recovering settled');
    expect(t).toMatchObject({ state: 'failed', failures: 3, error: { code: 'HANDLER_ERROR', retryable: false } });
    expect(t.attempts[0].error).toMatchObject({ code: 'HANDLER_ERROR', retryable: true });
    expect(t.attempts).toHaveLength(3);
    expect(p).toMatchObject({ state: 'failed', failures: 1, error: { code: 'PERMANENT', retryable: false } });
    expect(p.attempts).toHaveLength(1);
    expect(r).toMatchObject({ state: 'succeeded', result: { succeededOnAttempt: 2 } });
  });
});
