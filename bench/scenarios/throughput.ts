/**
 * throughput: N no-op `echo` tasks posted in jobs of 1,000, run by 2 worker
 * processes × 100 slots; time from the first submission to the moment every
 * result is durably accepted. The 10 KB variant carries 10 KB of params, which
 * `echo` returns as its 10 KB result.
 */
import { buildBodies, submitJobs, waitJobsComplete } from '../bulk.js';
import { killAll, procStats, removeDir, startForeman, startWorkers, stop } from '../harness.js';
import type { RunContext, Scenario } from '../scenario.js';

const WORKERS = 2;
const SLOTS = 100;

async function runThroughput(ctx: RunContext, total: number, payloadBytes: number) {
  const foreman = await startForeman({ profileDir: ctx.profileDir });
  try {
    const workers = await startWorkers(foreman, { count: WORKERS, concurrency: SLOTS, profileDir: ctx.profileDir });
    const pad = payloadBytes > 0 ? 'x'.repeat(payloadBytes) : null;
    const bodies = buildBodies(total, 1000, (i) => ({ type: 'echo', params: pad ? { i, pad } : { i } }));
    const pids = [foreman.proc.pid as number, ...workers.map((w) => w.pid as number)];
    const before = pids.map(procStats);
    const sub = await submitJobs(foreman.client, bodies);
    const doneAt = await waitJobsComplete(foreman.client, sub.jobIds, 600_000);
    const after = pids.map(procStats);
    const seconds = (doneAt - sub.startedAt) / 1000;
    const cpu = (i: number) => after[i].cpuMs - before[i].cpuMs;
    const workerCpuMs = cpu(1) + cpu(2);
    ctx.log(`${total} tasks in ${seconds.toFixed(2)} s`);
    if (ctx.profileDir) {
      await Promise.all(workers.map((w) => stop(w)));
      await stop(foreman.proc);
    }
    return {
      metrics: {
        tasksPerSec: total / seconds,
        submitPerSec: total / ((sub.submittedAt - sub.startedAt) / 1000),
        foremanCpuUsPerTask: (cpu(0) * 1000) / total,
        workerCpuUsPerTask: (workerCpuMs * 1000) / total,
        foremanRssMb: after[0].rssBytes / 2 ** 20,
      },
      sizes: { tasks: total, workers: WORKERS, slotsPerWorker: SLOTS, payloadBytes },
    };
  } finally {
    await killAll();
    removeDir(foreman.dir);
  }
}

const metrics = [
  { key: 'tasksPerSec', label: 'end to end', unit: 'tasks/s', target: '≥ 50,000' },
  { key: 'submitPerSec', label: 'submission', unit: 'tasks/s' },
  { key: 'foremanCpuUsPerTask', label: 'foreman CPU', unit: 'µs/task' },
  { key: 'workerCpuUsPerTask', label: 'workers CPU', unit: 'µs/task' },
  { key: 'foremanRssMb', label: 'foreman RSS at end', unit: 'MB' },
];

export const throughput: Scenario = {
  name: 'throughput',
  description: 'no-op echo tasks, jobs of 1,000, 2 workers × 100 slots; first submission → last result durable',
  metrics,
  defaultRuns: { quick: 2, full: 5 },
  run: (ctx) => runThroughput(ctx, ctx.quick ? 20_000 : 100_000, 0),
};

export const throughput10kb: Scenario = {
  name: 'throughput-10kb',
  description: 'as throughput, with 10 KB params echoed back as a 10 KB result',
  metrics: metrics.map((m) => (m.key === 'tasksPerSec' ? { ...m, target: undefined } : m)),
  defaultRuns: { quick: 1, full: 3 },
  run: (ctx) => runThroughput(ctx, ctx.quick ? 4_000 : 20_000, 10_000),
};
