/**
 * recovery: 100,000 short `nap` tasks queued (20,000 with --quick) and 4
 * workers × 250 slots running ~1,000 of them; the foreman is SIGKILLed and
 * restarted on the same SQLite file and port. Measures, from the restart:
 * the API answering, the first new dispatch (the job's queued count drops
 * below what the file held at the kill), and every worker re-attached.
 * Workers redial with --reconnect-min-ms 50 --reconnect-max-ms 500.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { exited, killAll, removeDir, startForeman, startWorkers, stop } from '../harness.js';
import type { Scenario } from '../scenario.js';
import { waitUntil } from '../wait.js';

const WORKERS = 4;
const SLOTS = 250;
const NAP_MS = 100;

type JobView = { counts: Record<string, number> };

export const recovery: Scenario = {
  name: 'recovery',
  description: 'foreman SIGKILLed with ~N queued and 1,000 running; restart → API up, first dispatch, all workers back',
  metrics: [
    { key: 'healthMs', label: 'restart → API answers', unit: 'ms' },
    { key: 'firstDispatchMs', label: 'restart → first dispatch', unit: 'ms', target: '≤ 2,000' },
    { key: 'reattachedMs', label: 'restart → all workers re-attached', unit: 'ms' },
  ],
  defaultRuns: { quick: 1, full: 3 },
  async run(ctx) {
    const queued = ctx.quick ? 20_000 : 100_000;
    let foreman = await startForeman({ profileDir: ctx.profileDir });
    const dir = foreman.dir;
    try {
      const task = JSON.stringify(Array.from({ length: 1000 }, () => ({ type: 'nap', params: { ms: NAP_MS } })));
      const { jobId } = await foreman.client.request<{ jobId: string }>('POST', '/jobs', `{"open":true,"tasks":${task}}`);
      for (let n = 1000; n < queued + 2 * WORKERS * SLOTS; n += 4000) {
        await Promise.all([0, 1, 2, 3].map(() => foreman.client.request('POST', `/jobs/${jobId}/tasks`, task)));
      }
      const workers = await startWorkers(foreman, {
        count: WORKERS, concurrency: SLOTS, args: ['--reconnect-min-ms', '50', '--reconnect-max-ms', '500'],
      });
      await waitUntil(async () => (await foreman.client.request<JobView>('GET', `/jobs/${jobId}`)).counts.running >= WORKERS * SLOTS, 'all slots busy', 30_000, 5);
      foreman.proc.kill('SIGKILL');
      await exited(foreman.proc);

      const db = new Database(join(dir, 'gaffer.db'), { readonly: true });
      const atKill = db.prepare(`SELECT state, count(*) AS n FROM tasks GROUP BY state`).all() as Array<{ state: string; n: number }>;
      db.close();
      const count = (s: string) => atKill.find((r) => r.state === s)?.n ?? 0;
      const queuedAtKill = count('queued');

      const t0 = performance.now();
      foreman = await startForeman({ dir, port: foreman.port, profileDir: ctx.profileDir });
      const healthMs = performance.now() - t0;
      let firstDispatchMs = Number.NaN;
      let reattachedMs = Number.NaN;
      const deadline = t0 + 60_000;
      while ((Number.isNaN(firstDispatchMs) || Number.isNaN(reattachedMs)) && performance.now() < deadline) {
        const [job, fleet] = await Promise.all([
          foreman.client.request<JobView>('GET', `/jobs/${jobId}`),
          Number.isNaN(reattachedMs) ? foreman.client.request<{ workers: Array<{ state: string }> }>('GET', '/workers') : null,
        ]);
        const now = performance.now() - t0;
        if (Number.isNaN(firstDispatchMs) && job.counts.queued < queuedAtKill) firstDispatchMs = now;
        if (fleet && fleet.workers.filter((w) => w.state === 'active').length >= WORKERS) reattachedMs = now;
        await delay(2);
      }
      if (Number.isNaN(firstDispatchMs) || Number.isNaN(reattachedMs)) throw new Error('recovery did not complete within 60 s');
      ctx.log(`queued ${queuedAtKill}, running ${count('running')} at kill; API ${healthMs.toFixed(0)} ms, dispatch ${firstDispatchMs.toFixed(0)} ms, workers ${reattachedMs.toFixed(0)} ms`);
      if (ctx.profileDir) await stop(foreman.proc);
      void workers;
      return {
        metrics: { healthMs, firstDispatchMs, reattachedMs },
        sizes: { queuedAtKill, runningAtKill: count('running'), workers: WORKERS, slotsPerWorker: SLOTS, napMs: NAP_MS },
      };
    } finally {
      await killAll();
      removeDir(dir);
    }
  },
};
