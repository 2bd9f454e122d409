/**
 * postgres: the throughput scenario's workload (no-op `echo` tasks in jobs of 1,000, 2 workers × 100
 * slots) on the PostgreSQL store: one foreman, then two foremen over the same database with one
 * worker each. Also counts the database's commits per task (its round trips that wait for the disk)
 * and the database's own CPU. Starts a throwaway cluster (or uses GAFFER_BENCH_PG_URL).
 */
import { buildBodies, submitJobs, waitJobsComplete } from '../bulk.js';
import { killAll, procStats, removeDir, startForeman, startWorkers, type ForemanProc } from '../harness.js';
import { benchDatabaseUnavailable, startBenchDatabase } from '../pg-cluster.js';
import type { RunContext, Scenario } from '../scenario.js';

const SLOTS = 100;

async function runPostgres(ctx: RunContext, total: number, foremenCount: number) {
  const db = await startBenchDatabase();
  if (!db) throw new Error(benchDatabaseUnavailable() ?? 'no PostgreSQL here');
  const foremen: ForemanProc[] = [];
  try {
    for (let i = 0; i < foremenCount; i++) foremen.push(await startForeman({ profileDir: ctx.profileDir, args: ['--store', db.url] }));
    // Two workers in all, spread over the foremen.
    const workers = [];
    for (let i = 0; i < 2; i++) workers.push(...(await startWorkers(foremen[i % foremenCount], { count: 1, concurrency: SLOTS, profileDir: ctx.profileDir })));
    const bodies = buildBodies(total, 1000, (i) => ({ type: 'echo', params: { i } }));
    const pids = [...foremen.map((f) => f.proc.pid as number), ...workers.map((w) => w.pid as number)];
    const before = pids.map(procStats);
    const commitsBefore = await db.commits();
    const sub = await submitJobs(foremen[0].client, bodies);
    const doneAt = await waitJobsComplete(foremen[0].client, sub.jobIds, 600_000);
    const commits = (await db.commits()) - commitsBefore;
    const after = pids.map(procStats);
    const seconds = (doneAt - sub.startedAt) / 1000;
    const foremanCpuMs = foremen.reduce((sum, _f, i) => sum + after[i].cpuMs - before[i].cpuMs, 0);
    ctx.log(`${total} tasks in ${seconds.toFixed(2)} s on ${foremenCount} foreman(s), ${commits} commits`);
    return {
      metrics: {
        tasksPerSec: total / seconds,
        commitsPerTask: commits / total,
        foremanCpuUsPerTask: (foremanCpuMs * 1000) / total,
      },
      sizes: { tasks: total, foremen: foremenCount, workers: 2, slotsPerWorker: SLOTS },
    };
  } finally {
    await killAll();
    for (const f of foremen) removeDir(f.dir);
    await db.stop();
  }
}

const metrics = [
  { key: 'tasksPerSec', label: 'end to end', unit: 'tasks/s', target: '≥ 20,000' },
  { key: 'commitsPerTask', label: 'database commits', unit: 'per task', target: '≤ 0.1' },
  { key: 'foremanCpuUsPerTask', label: 'foremen CPU', unit: 'µs/task' },
];

export const postgres: Scenario = {
  name: 'postgres',
  description: 'as throughput, on the PostgreSQL store with one foreman; commits counted by the database',
  metrics,
  defaultRuns: { quick: 1, full: 3 },
  unavailable: benchDatabaseUnavailable,
  run: (ctx) => runPostgres(ctx, ctx.quick ? 10_000 : 50_000, 1),
};

export const postgres2: Scenario = {
  name: 'postgres-2-foremen',
  description: 'as postgres, with two foremen over one database and one worker on each',
  metrics,
  defaultRuns: { quick: 1, full: 3 },
  unavailable: benchDatabaseUnavailable,
  run: (ctx) => runPostgres(ctx, ctx.quick ? 10_000 : 50_000, 2),
};
