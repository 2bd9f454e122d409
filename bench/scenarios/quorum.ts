/**
 * quorum: what redundant execution costs. The same no-op `echo` tasks posted as
 * jobs of 1,000, plain and with `quorum: 3` (three replicas on distinct workers,
 * two must agree), on 4 worker processes × 50 slots. Expect about a third of the
 * plain rate, plus what the room's own bookkeeping (groups, verdicts, scores) costs.
 */
import { waitJobsComplete } from '../bulk.js';
import { killAll, procStats, removeDir, startForeman, startWorkers } from '../harness.js';
import type { Scenario } from '../scenario.js';

export const quorum: Scenario = {
  name: 'quorum',
  description: 'echo tasks plain and with quorum 3 on 4 workers × 50 slots: tasks/s and foreman CPU per task',
  metrics: [
    { key: 'plainPerSec', label: 'plain echo, end to end', unit: 'tasks/s' },
    { key: 'quorumPerSec', label: 'quorum-3 echo, end to end', unit: 'tasks/s' },
    { key: 'ratio', label: 'quorum-3 / plain', unit: '×' },
    { key: 'plainCpuUs', label: 'foreman CPU, plain', unit: 'µs/task' },
    { key: 'quorumCpuUs', label: 'foreman CPU, quorum-3', unit: 'µs/task' },
  ],
  defaultRuns: { quick: 1, full: 3 },
  async run(ctx) {
    const total = ctx.quick ? 3000 : 20_000;
    const foreman = await startForeman({ profileDir: ctx.profileDir });
    try {
      await startWorkers(foreman, { count: 4, concurrency: 50, profileDir: ctx.profileDir });
      const pid = foreman.proc.pid as number;
      const measure = async (body: (tasks: object[]) => object) => {
        const before = procStats(pid);
        const started = performance.now();
        const jobIds: string[] = [];
        for (let from = 0; from < total; from += 1000) {
          const tasks = Array.from({ length: Math.min(1000, total - from) }, (_, i) => ({ type: 'echo', params: { i: from + i } }));
          jobIds.push((await foreman.client.request<{ jobId: string }>('POST', '/jobs', JSON.stringify(body(tasks)))).jobId);
        }
        const done = await waitJobsComplete(foreman.client, jobIds, 600_000);
        const after = procStats(pid);
        return { perSec: total / ((done - started) / 1000), cpuUs: ((after.cpuMs - before.cpuMs) * 1000) / total };
      };
      const plain = await measure((tasks) => tasks);
      const q = await measure((tasks) => ({ quorum: 3, tasks }));
      ctx.log(`plain ${plain.perSec.toFixed(0)}/s, quorum-3 ${q.perSec.toFixed(0)}/s (${(q.perSec / plain.perSec).toFixed(2)}×)`);
      return {
        metrics: { plainPerSec: plain.perSec, quorumPerSec: q.perSec, ratio: q.perSec / plain.perSec, plainCpuUs: plain.cpuUs, quorumCpuUs: q.cpuUs },
        sizes: { tasks: total, workers: 4, slotsPerWorker: 50, replicas: 3 },
      };
    } finally {
      await killAll();
      removeDir(foreman.dir);
    }
  },
};
