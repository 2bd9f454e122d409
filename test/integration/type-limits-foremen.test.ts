/**
 * Fleet-wide type limits with two foremen over one PostgreSQL database, real processes: a cap set on
 * one foreman holds across the workers of both (the workers count what runs at once themselves), and
 * a handler's RateLimitedError on a worker of one foreman pauses the type on the other.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { postgresAvailable } from '../helpers/postgres.js';
import { spawnWorker, startForeman, tempDir, type ForemanProcess } from '../helpers/processes.js';
import { storeArgs } from '../helpers/stores.js';
import { getTask, settled, submit, waitForHeld, waitForTask } from '../helpers/tasks.js';
import { waitFor } from '../helpers/wait-for.js';

async function twoForemen(): Promise<[ForemanProcess, ForemanProcess]> {
  const store = await storeArgs('postgres');
  // One after the other: the first migrates, the second finds the schema in place.
  const a = await startForeman(store, { startTimeoutMs: 60_000 });
  const b = await startForeman(store, { startTimeoutMs: 60_000 });
  return [a, b];
}

describe.runIf(postgresAvailable())('type limits across foremen over PostgreSQL', () => {
  it('holds maxRunning across the workers of every foreman, set on one and seen by the other', async () => {
    const [a, b] = await twoForemen();
    const onA = await spawnWorker(a.wsUrl, { concurrency: 4, startTimeoutMs: 60_000 });
    const onB = await spawnWorker(b.wsUrl, { concurrency: 4, startTimeoutMs: 60_000 });
    await a.api.request('PUT', '/types/count-running/limits', { maxRunning: 3 });
    // B hears of the change (NOTIFY) and shows it.
    await waitFor(async () => (await b.api.request('GET', '/types/count-running/limits')).maxRunning === 3, 'the cap seen on B');

    const dir = join(tempDir(), 'running');
    mkdirSync(dir);
    const ids: string[] = [];
    for (let i = 0; i < 24; i++) ids.push(await submit((i % 2 ? a : b).api, { type: 'count-running', params: { dir, ms: 500 } }));
    // Eight slots are free, so the tasks left queued are held by the cap, as either foreman says.
    const held = await waitForHeld(b.api, ids, 'maxRunning');
    expect(held.heldBy).toBe('maxRunning');
    const stats = await a.api.request('GET', '/stats');
    expect(stats.typeLimits['count-running'].maxRunning).toBe(3);
    expect(stats.typeLimits['count-running'].running).toBeLessThanOrEqual(3);

    const done = await Promise.all(ids.map((id) => waitForTask(a.api, id, settled, `task ${id} settled`, 60_000)));
    expect(done.every((t) => t.state === 'succeeded')).toBe(true);
    // Each start saw at most three running, its own included, whichever worker and foreman it ran under.
    const seen = readFileSync(`${dir}.log`, 'utf8').trim().split('\n').map(Number);
    expect(seen).toHaveLength(24);
    expect(Math.max(...seen)).toBeLessThanOrEqual(3);
    // Both foremen's workers ran some: the cap is shared, not one foreman's.
    const ranOn = new Set(done.map((t) => t.workerId));
    expect(ranOn).toEqual(new Set([onA.id, onB.id]));
  }, 240_000);

  it("pauses a type on every foreman when a handler under one throws RateLimitedError", async () => {
    const [a, b] = await twoForemen();
    const onA = await spawnWorker(a.wsUrl, { concurrency: 2, startTimeoutMs: 60_000 });
    const file = join(tempDir(), 'hit');
    const first = await submit(a.api, { type: 'rate-limited-once', params: { file, retryAfterMs: 4000 }, maxAttempts: 1 });
    const bounced = await waitForTask(a.api, first, (t) => t.attempts?.[0]?.outcome === 'released', 'rate limited on A');
    const pausedAt = bounced.attempts[0].finishedAt as number;
    // From now on only B has a worker: what runs, runs under B.
    onA.kill('SIGKILL');
    const onB = await spawnWorker(b.wsUrl, { concurrency: 2, startTimeoutMs: 60_000 });
    const second = await submit(b.api, { type: 'rate-limited-once', params: { file, retryAfterMs: 1 } });
    const waiting = await getTask(b.api, second);
    if (Date.now() < pausedAt + 3500) {
      expect(waiting).toMatchObject({ state: 'queued', heldBy: 'rate' });
      const { types } = await b.api.request('GET', '/types/limits');
      expect(types.find((t: { type: string }) => t.type === 'rate-limited-once').pausedUntil).toBeGreaterThanOrEqual(pausedAt + 4000);
    }
    const x = await waitForTask(b.api, first, settled, 'first settled', 30_000);
    const y = await waitForTask(b.api, second, settled, 'second settled', 30_000);
    expect(x).toMatchObject({ state: 'succeeded', failures: 0, workerId: onB.id, result: { attempt: 2 } });
    expect(y).toMatchObject({ state: 'succeeded', workerId: onB.id, result: { attempt: 1 } });
    expect(y.startedAt).toBeGreaterThanOrEqual(pausedAt + 4000);
  }, 240_000);
});
