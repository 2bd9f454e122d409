/**
 * hot-models: 2,000 tasks of two types, interleaved, over four single-slot workers; each type needs its
 * own model, a worker holds one model at a time, and loading one (a cold start) takes 200 ms. Run twice,
 * back to back, on fresh processes: with hot-model routing (workers declare their skill dependencies and
 * report loads) and with plain routing (the same handlers, but the foreman is told nothing). Reports the
 * time to finish and the number of cold loads of each.
 */
import { buildBodies, submitJobs, waitJobsComplete } from '../bulk.js';
import { killAll, removeDir, startForeman, startWorkers } from '../harness.js';
import type { RunContext, Scenario } from '../scenario.js';

const WORKERS = 4;
const LOAD_MS = 200;
const WORK_MS = 5;
const DEPS = ['--skill-dependency', 'caption=model-a', '--skill-dependency', 'upscale=model-b'];

async function runOnce(ctx: RunContext, total: number, hotAware: boolean): Promise<{ seconds: number; loads: number }> {
  const foreman = await startForeman({ profileDir: ctx.profileDir });
  try {
    await startWorkers(foreman, { count: WORKERS, concurrency: 1, profileDir: ctx.profileDir, args: hotAware ? DEPS : [] });
    const bodies = buildBodies(total, 1000, (i) => ({ type: i % 2 === 0 ? 'caption' : 'upscale', params: { ms: WORK_MS, loadMs: LOAD_MS } }));
    const sub = await submitJobs(foreman.client, bodies);
    const doneAt = await waitJobsComplete(foreman.client, sub.jobIds, 600_000);
    let loads = 0;
    for (const jobId of sub.jobIds) {
      // The job is complete, so its result stream holds every result and ends.
      await foreman.client.stream(`/jobs/${jobId}/results`, (r: { result?: { loaded?: boolean } | null }) => {
        if (r.result?.loaded) loads++;
      }).ended;
    }
    const seconds = (doneAt - sub.startedAt) / 1000;
    ctx.log(`${hotAware ? 'hot-aware' : 'plain'} routing: ${total} tasks in ${seconds.toFixed(2)} s, ${loads} cold loads`);
    return { seconds, loads };
  } finally {
    await killAll();
    removeDir(foreman.dir);
  }
}

export const hotModels: Scenario = {
  name: 'hot-models',
  description: `2,000 tasks of 2 types over ${WORKERS} single-slot workers, one model each at a time, ${LOAD_MS} ms per cold load: hot-aware vs plain routing, back to back`,
  metrics: [
    { key: 'hotSeconds', label: 'hot-aware routing: total time', unit: 's' },
    { key: 'hotLoads', label: 'hot-aware routing: cold loads', unit: 'loads' },
    { key: 'plainSeconds', label: 'plain routing: total time', unit: 's' },
    { key: 'plainLoads', label: 'plain routing: cold loads', unit: 'loads' },
    { key: 'loadRatio', label: 'plain loads / hot-aware loads', unit: '×', target: 'many times' },
    { key: 'speedup', label: 'plain time / hot-aware time', unit: '×' },
  ],
  defaultRuns: { quick: 1, full: 1 },
  async run(ctx) {
    const total = ctx.quick ? 500 : 2000;
    const hot = await runOnce(ctx, total, true);
    const plain = await runOnce(ctx, total, false);
    return {
      metrics: {
        hotSeconds: hot.seconds,
        hotLoads: hot.loads,
        plainSeconds: plain.seconds,
        plainLoads: plain.loads,
        loadRatio: plain.loads / Math.max(1, hot.loads),
        speedup: plain.seconds / hot.seconds,
      },
      sizes: { tasks: total, workers: WORKERS, slotsPerWorker: 1, loadMs: LOAD_MS, workMs: WORK_MS },
    };
  },
};
