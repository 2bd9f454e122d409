import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnWorker, startForeman, tempDir } from '../helpers/processes.js';
import { getTask, settled, submit, waitForTask } from '../helpers/tasks.js';
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

describe('fleet-wide type limits (sqlite)', () => {
  it('caps running tasks of a type across workers, says so, and keeps the cap across a restart', async () => {
    let foreman = await startForeman();
    await spawnWorker(foreman.wsUrl, { concurrency: 4 });
    await spawnWorker(foreman.wsUrl, { concurrency: 4 });
    const set = await foreman.api.request('PUT', '/types/record/limits', { maxRunning: 2 });
    expect(set).toMatchObject({ type: 'record', maxRunning: 2, ratePerSecond: null, running: 0 });

    const file = join(tempDir(), 'runs');
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await submit(foreman.api, { type: 'record', params: { file, ms: 700, n: i } }));
    // While two run, the others wait, held by the cap, which GET /tasks/:id and GET /stats say.
    const held = await waitFor(async () => {
      for (const id of ids) {
        const t = await getTask(foreman.api, id);
        if (t.state === 'queued' && t.heldBy === 'maxRunning') return t;
      }
      return null;
    }, 'a task held by maxRunning');
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
  });

  it('starts no more than ratePerSecond allows (token bucket, burst of one second)', async () => {
    const foreman = await startForeman();
    await spawnWorker(foreman.wsUrl, { concurrency: 8 });
    await foreman.api.request('PUT', '/types/identity/limits', { ratePerSecond: 4 });
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push(await submit(foreman.api, { type: 'identity', params: i }));
    const done = await Promise.all(ids.map((id) => waitForTask(foreman.api, id, settled, `task ${id} settled`)));
    const starts = done.map((t) => t.startedAt as number).sort((a, b) => a - b);
    // Starts in any span of d ms are at most 4 (the burst) + 4·d/1000: the k-th start after one is ≥ (k − 4)·250 ms later.
    for (let i = 0; i < starts.length; i++) {
      for (let k = 5; i + k < starts.length; k++) expect(starts[i + k] - starts[i]).toBeGreaterThanOrEqual((k - 4) * 250 - 5);
    }
    expect(starts[starts.length - 1] - starts[0]).toBeGreaterThanOrEqual(1490);
    expect(await holdsMetric(foreman.url, 'identity')).toBeGreaterThan(0);
  });

  it("requeues a handler's RateLimitedError without using an attempt and pauses the type fleet-wide", async () => {
    const foreman = await startForeman();
    await spawnWorker(foreman.wsUrl, { concurrency: 2 });
    await spawnWorker(foreman.wsUrl, { concurrency: 2 });
    const file = join(tempDir(), 'hit');
    // One attempt only: had the rate limit used it, the task would fail.
    const first = await submit(foreman.api, { type: 'rate-limited-once', params: { file, retryAfterMs: 2500 }, maxAttempts: 1 });
    const bounced = await waitForTask(foreman.api, first, (t) => t.attempts?.[0]?.outcome === 'released', 'first attempt rate limited');
    expect(bounced).toMatchObject({ state: 'queued', failures: 0 });
    expect(bounced.attempts[0].error).toMatchObject({ code: 'HANDLER_RATE_LIMITED', retryAfterMs: 2500 });
    const pausedAt = bounced.attempts[0].finishedAt as number;
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
  });
});

describe.each(STORES.filter((s) => s === 'postgres'))('fleet-wide type limits (%s)', (store) => {
  it('refuses limits it cannot enforce across foremen yet, naming the field', async () => {
    const foreman = await startForeman(await storeArgs(store));
    const res = await fetch(`${foreman.url}/types/record/limits`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ratePerSecond: 5 }) });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'INVALID_REQUEST', field: 'body/ratePerSecond' });
  });
});
