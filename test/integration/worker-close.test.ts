/**
 * `Worker.close()` without `drain()` hands its tasks back as releases, never as losses (issue 9.17):
 * an SDK worker in this process against a real foreman process. The foreman must not push the
 * released task straight back to the closing session.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Worker } from '../../worker/worker.js';
import { spawnWorker, startForeman } from '../helpers/processes.js';
import { submit, waitForTask } from '../helpers/tasks.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe('Worker.close() without drain', () => {
  it('releases its running task, which runs again elsewhere as attempt 2 with no loss', async () => {
    const foreman = await startForeman(['--grace-ms', '300']);
    const sdk = new Worker({ foreman: foreman.wsUrl, id: 'closing-sdk', concurrency: 2, status: false, logger: pino(new Writable({ write: (_c, _e, done) => done() })) });
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    sdk.task('honours-abort', async (_p, ctx) => {
      started();
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
      return 'aborted';
    });
    cleanups.push(() => sdk.close());
    await sdk.start();
    await sdk.whenReady();
    const id = await submit(foreman.api, { type: 'honours-abort' });
    await running;

    await sdk.close();
    const released = await waitForTask(foreman.api, id, (t) => t.attempts.some((a: any) => a.outcome === 'released'), 'the release recorded');
    expect(released.attempts.map((a: any) => [a.attempt, a.outcome])).toEqual([[1, 'released']]);
    expect(released.state).toBe('queued');
    expect(released.losses).toBe(0);

    // Another worker takes it as attempt 2; the closing session never got it.
    const other = await spawnWorker(foreman.wsUrl, { args: [] });
    const requeued = await waitForTask(foreman.api, id, (t) => t.state === 'running' && t.attempt === 2, 'attempt 2 on the other worker');
    expect(requeued.workerId).toBe(other.id);
    expect(requeued.losses).toBe(0);
  });
});
