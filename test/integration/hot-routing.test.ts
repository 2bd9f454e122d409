/** Hot-model routing with real workers: tasks go where their model is loaded, waiting at most --cold-start-wait-ms for it. */
import { describe, expect, it } from 'vitest';
import { spawnWorker, startForeman } from '../helpers/processes.js';
import { settled, submit, waitForTask } from '../helpers/tasks.js';
import { waitFor } from '../helpers/wait-for.js';

const DEPS = ['--skill-dependency', 'caption=blip', '--skill-dependency', 'upscale=esrgan'];

async function fleet(foremanArgs: string[] = []) {
  const foreman = await startForeman(foremanArgs);
  const a = await spawnWorker(foreman.wsUrl, { concurrency: 1, args: DEPS });
  const b = await spawnWorker(foreman.wsUrl, { concurrency: 1, args: DEPS });
  return { foreman, a, b };
}

const hotOf = async (foreman: { api: any }, id: string): Promise<string[]> =>
  ((await foreman.api.request('GET', '/workers')).workers.find((w: any) => w.id === id)?.hotSkills ?? []) as string[];

describe('hot-model routing', () => {
  it('reports hot skills in GET /workers and sends every later task of the type to the hot worker', async () => {
    const { foreman, a, b } = await fleet();
    expect(await hotOf(foreman, a.id)).toEqual([]);
    const first = await waitForTask(foreman.api, await submit(foreman.api, { type: 'caption' }), settled, 'first caption');
    expect(first.result.loaded).toBe(true);
    const hot = first.workerId as string;
    const cold = hot === a.id ? b.id : a.id;
    await waitFor(async () => (await hotOf(foreman, hot)).includes('caption'), 'caption hot in GET /workers');
    expect(await hotOf(foreman, cold)).toEqual([]);
    // One at a time, so both workers are free for each: plain routing would alternate between them.
    for (let i = 0; i < 8; i++) {
      const t = await waitForTask(foreman.api, await submit(foreman.api, { type: 'caption' }), settled, `caption ${i}`);
      expect(t.workerId).toBe(hot);
      expect(t.result.loaded).toBe(false);
    }
    // The other model on the hot worker's rival: now each worker is hot for one type.
    const up = await waitForTask(foreman.api, await submit(foreman.api, { type: 'upscale' }), settled, 'upscale');
    expect(up.workerId).toBe(cold);
    await waitFor(async () => (await hotOf(foreman, cold)).includes('upscale'), 'upscale hot on the other worker');
  });

  it('gives a task to a cold worker after --cold-start-wait-ms when the hot one stays busy', async () => {
    const { foreman, a, b } = await fleet(['--cold-start-wait-ms', '400']);
    const first = await waitForTask(foreman.api, await submit(foreman.api, { type: 'caption' }), settled, 'first caption');
    const hot = first.workerId as string;
    await waitFor(async () => (await hotOf(foreman, hot)).includes('caption'), 'caption hot');
    const long = await submit(foreman.api, { type: 'caption', params: { ms: 4000 } });
    await waitForTask(foreman.api, long, (t) => t.state === 'running' && t.workerId === hot, 'long task on the hot worker');
    const waiting = await submit(foreman.api, { type: 'caption' });
    const t = await waitForTask(foreman.api, waiting, settled, 'waiting task settled');
    expect(t.workerId).toBe(hot === a.id ? b.id : a.id);
    expect(t.result.loaded).toBe(true);
    // It waited for the hot slot, but not past the bound (nor for the long task).
    expect(t.startedAt - t.createdAt).toBeGreaterThanOrEqual(400);
    expect((await foreman.api.request('GET', `/tasks/${long}`)).state).toBe('running');
  });
});
