import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnWorker, startForeman, tempDir } from '../helpers/processes.js';
import { getTask, settled, submit, waitForHeld, waitForTask } from '../helpers/tasks.js';
import { storeArgs, STORES } from '../helpers/stores.js';
import { waitFor } from '../helpers/wait-for.js';

/** The most attempts whose [startedAt, finishedAt) intervals overlap at one moment. */
function maxOverlap(attempts: Array<{ startedAt: number; finishedAt: number }>): number {
  const edges = attempts.flatMap((a) => [[a.startedAt, 1], [a.finishedAt, -1]] as const).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let n = 0;
  let max = 0;
  for (const [, d] of edges) max = Math.max(max, (n += d));
  return max;
}

async function holdsMetric(url: string, type: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`gaffer_rate_limit_holds_total{type="${type}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe.each(STORES)('fleet-wide type limits (%s)', (store) => {
  it('caps running tasks of a type across workers, says so, and keeps the cap across a restart', async () => {
    let foreman = await startForeman(await storeArgs(store));
    await spawnWorker(foreman.wsUrl, { concurrency: 4 });
    await spawnWorker(foreman.wsUrl, { concurrency: 4 });
    const set = await foreman.api.request('PUT', '/types/record/limits', { maxRunning: 2 });
    expect(set).toMatchObject({ type: 'record', maxRunning: 2, ratePerSecond: null, running: 0 });

    const file = join(tempDir(), 'runs');
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await submit(foreman.api, { type: 'record', params: { file, ms: 700, n: i } }));
    // While two run, the others wait, held by the cap, which GET /tasks/:id and GET /stats say.
    const held = await waitForHeld(foreman.api, ids, 'maxRunning');
    expect(held.heldBy).toBe('maxRunning');
    const stats = await foreman.api.request('GET', '/stats');
    expect(stats.typeLimits.record).toMatchObject({ maxRunning: 2, running: 2, heldBy: 'maxRunning' });

    const done = await Promise.all(ids.map((id) => waitForTask(foreman.api, id, settled, `task ${id} settled`)));
    expect(done.every((t) => t.state === 'succeeded')).toBe(true);
    // Eight slots were free, yet never more than two ran at once (the foreman's own attempt times).
    expect(maxOverlap(done.flatMap((t) => t.attempts))).toBe(2);
    expect(await holdsMetric(foreman.url, 'record')).toBeGreaterThan(0);

    foreman.kill('SIGTERM');
    await foreman.exited();
    foreman = await startForeman(foreman.args, { dbPath: foreman.dbPath, port: foreman.port });
    expect(await foreman.api.request('GET', '/types/record/limits')).toMatchObject({ maxRunning: 2, ratePerSecond: null });
    expect(await foreman.api.request('DELETE', '/types/record/limits')).toEqual({ type: 'record', removed: true });
    expect(await foreman.api.request('GET', '/types/limits')).toEqual({ types: [] });
  }, 180_000);

  it('starts no more than ratePerSecond allows (token bucket, burst of one second)', async () => {
    const foreman = await startForeman(await storeArgs(store));
    await spawnWorker(foreman.wsUrl, { concurrency: 8 });
    await foreman.api.request('PUT', '/types/identity/limits', { ratePerSecond: 4 });
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push(await submit(foreman.api, { type: 'identity', params: i }));
    const done = await Promise.all(ids.map((id) => waitForTask(foreman.api, id, settled, `task ${id} settled`)));
    const starts = done.map((t) => t.startedAt as number).sort((a, b) => a - b);
    // Starts in any span of d ms are at most 4 (the burst) + 4·d/1000: the k-th start after one is ≥ (k − 4)·250 ms later.
    // On PostgreSQL the bucket is spent when a task is claimed and `startedAt` is stamped when it is assigned, a
    // little later and not always equally late: the bounds allow that much jitter (without a limit, all ten
    // would start within a few ms).
    const jitter = store === 'postgres' ? 150 : 5;
    for (let i = 0; i < starts.length; i++) {
      for (let k = 5; i + k < starts.length; k++) expect(starts[i + k] - starts[i]).toBeGreaterThanOrEqual((k - 4) * 250 - jitter);
    }
    expect(starts[starts.length - 1] - starts[0]).toBeGreaterThanOrEqual(1500 - jitter);
    expect(await holdsMetric(foreman.url, 'identity')).toBeGreaterThan(0);
  }, 180_000);

  it("requeues a handler's RateLimitedError without using an attempt and pauses the type fleet-wide", async () => {
    const foreman = await startForeman(await storeArgs(store));
    await spawnWorker(foreman.wsUrl, { concurrency: 2 });
    await spawnWorker(foreman.wsUrl, { concurrency: 2 });
    const file = join(tempDir(), 'hit');
    // One attempt only: had the rate limit used it, the task would fail.
    const first = await submit(foreman.api, { type: 'rate-limited-once', params: { file, retryAfterMs: 2500 }, maxAttempts: 1 });
    const bounced = await waitForTask(foreman.api, first, (t) => t.attempts?.[0]?.outcome === 'released', 'first attempt rate limited');
    expect(bounced).toMatchObject({ failures: 0 });
    expect(bounced.attempts[0].error).toMatchObject({ code: 'HANDLER_RATE_LIMITED', retryAfterMs: 2500 });
    const pausedAt = bounced.attempts[0].finishedAt as number;
    // Queued until the pause ends; a loaded machine may first see the release after that, when it runs again.
    if (Date.now() < pausedAt + 2400) expect(bounced).toMatchObject({ state: 'queued' });
    // Another task of the type, which would succeed at once, waits out the pause too, on any worker.
    const second = await submit(foreman.api, { type: 'rate-limited-once', params: { file, retryAfterMs: 1 } });
    const waiting = await getTask(foreman.api, second);
    if (Date.now() < pausedAt + 2400) expect(waiting).toMatchObject({ state: 'queued', heldBy: 'rate' });
    const a = await waitForTask(foreman.api, first, settled, 'first settled');
    const b = await waitForTask(foreman.api, second, settled, 'second settled');
    expect(a).toMatchObject({ state: 'succeeded', failures: 0, result: { attempt: 2 } });
    expect(a.attempts).toHaveLength(2);
    expect(a.attempts[1].startedAt).toBeGreaterThanOrEqual(pausedAt + 2500);
    expect(b).toMatchObject({ state: 'succeeded', result: { attempt: 1 } });
    expect(b.startedAt).toBeGreaterThanOrEqual(pausedAt + 2500);
  }, 180_000);

  it("keeps a handler's RateLimitedError pause across a foreman restart", async () => {
    let foreman = await startForeman(await storeArgs(store));
    const first = await spawnWorker(foreman.wsUrl, { concurrency: 2 });
    const file = join(tempDir(), 'hit');
    // Long enough to outlast any restart here (a start may take up to 20 s on a loaded machine).
    const retryAfterMs = 60_000;
    const bouncedId = await submit(foreman.api, { type: 'rate-limited-once', params: { file, retryAfterMs } });
    const bounced = await waitForTask(foreman.api, bouncedId, (t) => t.attempts?.[0]?.outcome === 'released', 'first attempt rate limited');
    const pausedAt = bounced.attempts[0].finishedAt as number;
    // Listed at once; its write is queued with it, and a graceful stop (SIGTERM) commits what is queued.
    await waitFor(async () => (await foreman.api.request('GET', '/types/limits')).types.length > 0, 'the pause listed');
    first.kill('SIGKILL');
    foreman.kill('SIGTERM');
    await foreman.exited();
    foreman = await startForeman(foreman.args, { dbPath: foreman.dbPath, port: foreman.port });
    const { types } = await foreman.api.request('GET', '/types/limits');
    expect(types).toEqual([expect.objectContaining({ type: 'rate-limited-once', maxRunning: null, ratePerSecond: null, heldBy: 'rate' })]);
    expect(types[0].pausedUntil).toBeGreaterThanOrEqual(pausedAt + retryAfterMs);
    // A task of the type submitted after the restart, which would succeed at once, is held by the pause.
    await spawnWorker(foreman.wsUrl, { concurrency: 2 });
    const after = await submit(foreman.api, { type: 'rate-limited-once', params: { file, retryAfterMs: 1 } });
    expect(await getTask(foreman.api, after)).toMatchObject({ state: 'queued', heldBy: 'rate' });
    // Its limits removed, the type stays paused: DELETE removes limits, not a handler's pause.
    expect(await foreman.api.request('DELETE', '/types/rate-limited-once/limits')).toEqual({ type: 'rate-limited-once', removed: false });
    expect((await foreman.api.request('GET', '/types/rate-limited-once/limits')).heldBy).toBe('rate');
  }, 180_000);
});
