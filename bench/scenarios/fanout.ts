/**
 * fan-out: 1,000 worker sessions with one slot each, spread over 4 light
 * session-swarm processes (real protocol, echo replies). Measures how fast the
 * sessions register, bulk throughput across them, and sequential latency with
 * all 1,000 connected.
 */
import { buildBodies, submitJobs, waitJobsComplete } from '../bulk.js';
import { killAll, procStats, removeDir, startForeman, stop } from '../harness.js';
import { probeLatency } from '../probe.js';
import type { Scenario } from '../scenario.js';
import { distribution } from '../stats.js';
import { startSwarm } from '../swarm.js';

const SESSIONS = 1000;
const PROCS = 4;

export const fanout: Scenario = {
  name: 'fan-out',
  description: '1,000 one-slot sessions over 4 processes: registration, bulk echo throughput, sequential latency',
  metrics: [
    { key: 'registerMs', label: 'all sessions registered', unit: 'ms' },
    { key: 'tasksPerSec', label: 'end to end', unit: 'tasks/s' },
    { key: 'foremanCpuUsPerTask', label: 'foreman CPU', unit: 'µs/task' },
    { key: 'resultP50', label: 'submit → result p50', unit: 'ms' },
    { key: 'resultP99', label: 'submit → result p99', unit: 'ms' },
  ],
  defaultRuns: { quick: 1, full: 3 },
  async run(ctx) {
    const total = ctx.quick ? 10_000 : 50_000;
    const samples = ctx.quick ? 200 : 1000;
    const foreman = await startForeman({ profileDir: ctx.profileDir });
    try {
      const swarm = await startSwarm(foreman, { procs: PROCS, sessions: SESSIONS, echo: true });
      const bodies = buildBodies(total, 1000, (i) => ({ type: 'echo', params: { i } }));
      const before = procStats(foreman.proc.pid as number);
      const sub = await submitJobs(foreman.client, bodies);
      const doneAt = await waitJobsComplete(foreman.client, sub.jobIds, 600_000);
      const after = procStats(foreman.proc.pid as number);
      const lat = distribution((await probeLatency(foreman.client, { type: 'echo', samples, warmup: 50 })).submitToResult);
      const tasksPerSec = total / ((doneAt - sub.startedAt) / 1000);
      ctx.log(`${SESSIONS} sessions in ${swarm.readyMs.toFixed(0)} ms; ${tasksPerSec.toFixed(0)} tasks/s; p50 ${lat.p50.toFixed(3)} ms`);
      if (swarm.errors.length > 0) ctx.log(`session errors: ${swarm.errors.slice(0, 3).join('; ')}`);
      await swarm.stop();
      if (ctx.profileDir) await stop(foreman.proc);
      return {
        metrics: {
          registerMs: swarm.readyMs,
          tasksPerSec,
          foremanCpuUsPerTask: ((after.cpuMs - before.cpuMs) * 1000) / total,
          resultP50: lat.p50,
          resultP99: lat.p99,
        },
        sizes: { sessions: SESSIONS, processes: PROCS, tasks: total, latencySamples: samples },
      };
    } finally {
      await killAll();
      removeDir(foreman.dir);
    }
  },
};
