/**
 * The Gaffer side of `compare`: a real foreman (shipped durable settings) and
 * one worker process, driven over HTTP as in the throughput and latency
 * scenarios: jobs of `chunk` tasks via POST /jobs, completion by polling
 * GET /jobs/:id; single tasks via POST /jobs/:id/tasks with the result read
 * from the job's results stream (written only once the outcome is durable).
 */
import { buildBodies, submitJobs, waitJobsComplete } from '../bulk.js';
import { killAll, procStats, removeDir, startForeman, startWorkers, stop } from '../harness.js';
import { probeLatency } from '../probe.js';
import { distribution } from '../stats.js';
import type { SideResult, Workload } from './workload.js';

export async function runGaffer(workload: Workload, profileDir: string | null): Promise<SideResult> {
  const foreman = await startForeman({ profileDir });
  try {
    const [worker] = await startWorkers(foreman, { count: 1, concurrency: workload.slots, profileDir });
    const bodies = buildBodies(workload.total, workload.chunk, (i) => ({ type: 'echo', params: { i } }));
    const pids = [foreman.proc.pid as number, worker.pid as number];
    const before = { procs: pids.map(procStats), self: process.cpuUsage() };
    const sub = await submitJobs(foreman.client, bodies, workload.inFlight);
    const doneAt = await waitJobsComplete(foreman.client, sub.jobIds, 600_000);
    const self = process.cpuUsage(before.self);
    const cpuMs = pids.reduce((sum, pid, i) => sum + procStats(pid).cpuMs - before.procs[i].cpuMs, 0) + (self.user + self.system) / 1000;
    const lat = await probeLatency(foreman.client, { type: 'echo', samples: workload.samples, warmup: workload.warmup });
    const result = distribution(lat.submitToResult);
    if (profileDir) {
      // SIGTERM, so that --cpu-prof writes the profiles.
      await stop(worker);
      await stop(foreman.proc);
    }
    return {
      tasksPerSec: workload.total / ((doneAt - sub.startedAt) / 1000),
      cpuUsPerTask: (cpuMs * 1000) / workload.total,
      resultP50: result.p50,
      resultP99: result.p99,
      ackP50: distribution(lat.submitToAck).p50,
    };
  } finally {
    foreman.client.close();
    await killAll();
    removeDir(foreman.dir);
  }
}
