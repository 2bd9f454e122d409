import { describe, expect, it } from 'vitest';
import { spawnWorker, startForeman } from '../helpers/processes.js';
import { storeArgs, STORES } from '../helpers/stores.js';
import { waitFor } from '../helpers/wait-for.js';

describe.each(STORES)('push dispatch (%s)', (store) => {
  it('runs a submitted task on a connected worker and records its result', async () => {
    // Pushed, not polled: PostgreSQL's fallback poll is put out of reach, so only the push can start it.
    const foreman = await startForeman([...(await storeArgs(store)), '--poll-interval-ms', '600000']);
    const worker = await spawnWorker(foreman.wsUrl);
    const { id } = await foreman.api.request('POST', '/tasks', { type: 'reverse', params: { text: 'gaffer' } });
    const task = await waitFor(async () => {
      const t = await foreman.api.request('GET', `/tasks/${id}`);
      return t.state === 'succeeded' && t;
    }, 'task succeeded');
    expect(task.result).toBe('reffag');
    expect(task.workerId).toBe(worker.id);
    expect(task.attempt).toBe(1);
    expect(task.attempts).toHaveLength(1);
    expect(task.attempts[0]).toMatchObject({ attempt: 1, workerId: worker.id, outcome: 'succeeded' });
  });

  it('runs every built-in handler', async () => {
    const foreman = await startForeman(await storeArgs(store));
    await spawnWorker(foreman.wsUrl);
    const tasks = [
      { type: 'echo', params: { a: [1, 2] } },
      { type: 'sum', params: { numbers: [1, 2, 3.5] } },
      { type: 'reverse', params: { text: 'abc' } },
      { type: 'sleep', params: { ms: 10 } },
      { type: 'sha256', params: { text: 'abc' } },
      { type: 'fail', params: { kind: 'permanent', message: 'no' } },
    ];
    const { jobId } = await foreman.api.request('POST', '/jobs', tasks);
    const results = [];
    for await (const r of foreman.api.results(jobId)) results.push(r);
    const byType = Object.fromEntries(results.map((r) => [r.type, r]));
    expect(byType.echo.result).toEqual({ a: [1, 2] });
    expect(byType.sum.result).toBe(6.5);
    expect(byType.reverse.result).toBe('cba');
    expect(byType.sleep.result).toEqual({ slept: 10 });
    expect(byType.sha256.result).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(byType.fail).toMatchObject({ state: 'failed', error: { code: 'PERMANENT', message: 'no' } });
  });

  it('takes higher priority first and never assigns beyond declared capacity', async () => {
    const foreman = await startForeman(await storeArgs(store));
    // Queue first, then connect a one-slot worker: the order it runs them in is the dispatch order.
    const low = await foreman.api.request('POST', '/tasks', { type: 'sleep', params: { ms: 20 }, priority: 0 });
    const high = await foreman.api.request('POST', '/tasks', { type: 'sleep', params: { ms: 20 }, priority: 5 });
    const low2 = await foreman.api.request('POST', '/tasks', { type: 'sleep', params: { ms: 20 }, priority: 0 });
    await spawnWorker(foreman.wsUrl, { concurrency: 1 });
    const starts = await waitFor(async () => {
      const ts = await Promise.all([high, low, low2].map((t) => foreman.api.request('GET', `/tasks/${t.id}`)));
      return ts.every((t) => t.state === 'succeeded') && ts.map((t) => t.startedAt as number);
    }, 'all three succeeded');
    expect(starts[0]).toBeLessThanOrEqual(starts[1]);
    expect(starts[1]).toBeLessThanOrEqual(starts[2]);
    const { workers } = await foreman.api.request('GET', '/workers');
    expect(workers[0]).toMatchObject({ capacity: 1, slotsInUse: 0, state: 'active' });
  });

  it('never exceeds a concurrency group limit, measured inside the handlers', async () => {
    const foreman = await startForeman(await storeArgs(store));
    await spawnWorker(foreman.wsUrl, { concurrency: 8, args: ['--limit', 'gpu=2'] });
    const tasks = Array.from({ length: 24 }, (_, i) => ({ type: i % 2 ? 'gpu-a' : 'gpu-b', params: { ms: 30 } }));
    const { jobId } = await foreman.api.request('POST', '/jobs', tasks);
    const results = [];
    for await (const r of foreman.api.results(jobId)) results.push(r);
    expect(results).toHaveLength(24);
    expect(results.every((r) => r.state === 'succeeded')).toBe(true);
    const maxSeen = Math.max(...results.map((r) => r.result.maxSeen));
    expect(maxSeen).toBe(2);
  });

  it('accepts a task nobody can run yet and says why it waits', async () => {
    const foreman = await startForeman(await storeArgs(store));
    const { id } = await foreman.api.request('POST', '/tasks', { type: 'transcode', params: {} });
    const t = await foreman.api.request('GET', `/tasks/${id}`);
    expect(t.state).toBe('queued');
    expect(t.waitingFor).toMatch(/no connected worker handles type "transcode"/);
  });

  it('stores custom statuses returned by handlers', async () => {
    const foreman = await startForeman(await storeArgs(store));
    await spawnWorker(foreman.wsUrl);
    const { id } = await foreman.api.request('POST', '/tasks', { type: 'needs-review', params: { score: 0.4 } });
    const t = await waitFor(async () => {
      const t = await foreman.api.request('GET', `/tasks/${id}`);
      return t.state === 'succeeded' && t;
    }, 'task settled');
    expect(t.status).toBe('needs_review');
    expect(t.result).toEqual({ score: 0.4 });

    // A plain object that happens to have `status` and `data` is an ordinary result, kept whole.
    const plain = await foreman.api.request('POST', '/tasks', { type: 'identity', params: { status: 'ok', data: { n: 1 } } });
    const p = await waitFor(async () => {
      const v = await foreman.api.request('GET', `/tasks/${plain.id}`);
      return v.state === 'succeeded' && v;
    }, 'plain task settled');
    expect(p.status).toBe('succeeded');
    expect(p.result).toEqual({ status: 'ok', data: { n: 1 } });
  });
});
