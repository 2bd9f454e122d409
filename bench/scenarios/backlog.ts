/**
 * backlog: 1,000,000 echo tasks (100,000 with --quick) submitted with no
 * worker connected, so all wait queued; then 2 workers × 100 slots drain them.
 * Reports the submit rate, the foreman's RSS while they wait, and the drain time
 * (dispatch is paused until both workers are registered, then resumed).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { buildBodies, submitJobs, waitJobsComplete } from '../bulk.js';
import { killAll, procStats, removeDir, startForeman, startWorkers, stop } from '../harness.js';
import type { Scenario } from '../scenario.js';

export const backlog: Scenario = {
  name: 'backlog',
  description: 'N queued echo tasks with no worker: submit rate and foreman RSS; then drain with 2 × 100 slots',
  metrics: [
    { key: 'submitPerSec', label: 'submission', unit: 'tasks/s' },
    { key: 'rssQueuedMb', label: 'foreman RSS, all queued', unit: 'MB', target: '≤ 300 (1M)' },
    { key: 'peakRssMb', label: 'foreman peak RSS', unit: 'MB' },
    { key: 'drainSec', label: 'drain time', unit: 's' },
    { key: 'drainPerSec', label: 'drain rate', unit: 'tasks/s' },
  ],
  defaultRuns: { quick: 1, full: 3 },
  async run(ctx) {
    const total = ctx.quick ? 100_000 : 1_000_000;
    const foreman = await startForeman({ profileDir: ctx.profileDir });
    try {
      const pid = foreman.proc.pid as number;
      let peak = 0;
      const sampler = setInterval(() => (peak = Math.max(peak, procStats(pid).rssBytes)), 200);
      const bodies = buildBodies(total, 1000, (i) => ({ type: 'echo', params: { i } }));
      const sub = await submitJobs(foreman.client, bodies);
      const submitPerSec = total / ((sub.submittedAt - sub.startedAt) / 1000);
      ctx.log(`${total} queued at ${submitPerSec.toFixed(0)} tasks/s`);
      // Idle a moment so what we read is the resting footprint, not garbage from the submissions.
      await delay(2000);
      const rssQueued = procStats(pid).rssBytes;
      await foreman.client.request('POST', '/ops/drain');
      const workers = await startWorkers(foreman, { count: 2, concurrency: 100, profileDir: ctx.profileDir });
      const t0 = performance.now();
      await foreman.client.request('POST', '/ops/resume');
      const doneAt = await waitJobsComplete(foreman.client, sub.jobIds, 900_000, 20);
      clearInterval(sampler);
      const drainSec = (doneAt - t0) / 1000;
      ctx.log(`drained in ${drainSec.toFixed(1)} s`);
      if (ctx.profileDir) {
        await Promise.all(workers.map((w) => stop(w)));
        await stop(foreman.proc);
      }
      return {
        metrics: {
          submitPerSec,
          rssQueuedMb: rssQueued / 2 ** 20,
          peakRssMb: Math.max(peak, rssQueued) / 2 ** 20,
          drainSec,
          drainPerSec: total / drainSec,
        },
        sizes: { tasks: total, workers: 2, slotsPerWorker: 100 },
      };
    } finally {
      await killAll();
      removeDir(foreman.dir);
    }
  },
};
