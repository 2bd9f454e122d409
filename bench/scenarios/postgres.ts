/**
 * postgres: the throughput scenario's workload (no-op `echo` tasks in jobs of 1,000, 2 workers × 100
 * slots) on the PostgreSQL store: one foreman, then two foremen over the same database with one
 * worker each. Also counts the database's commits per task (its round trips that wait for the disk)
 * and the database's own CPU. Starts a throwaway cluster (or uses GAFFER_BENCH_PG_URL).
 */
import type { ChildProcess } from 'node:child_process';
import pg from 'pg';
import { buildBodies, submitJobs, waitJobsComplete } from '../bulk.js';
import { killAll, procStats, removeDir, startForeman, startWorkers, stop, type ForemanProc } from '../harness.js';
import { benchDatabaseUnavailable, startBenchDatabase } from '../pg-cluster.js';
import { probeLatency } from '../probe.js';
import type { RunContext, Scenario } from '../scenario.js';
import { distribution } from '../stats.js';

const SLOTS = 100;

/**
 * Rows written straight into the tasks table before the workload, for the large-table run: settled
 * tasks (what a busy store holds between purges) and queued tasks of a type no worker here runs
 * (a backlog). A claim plan that scans the table, or one big enough to be JIT-compiled, shows
 * at once at this size (both were seen: a generic plan for `LIMIT $n`, and JIT taking ~1 s a claim).
 */
async function prefill(url: string, settled: number, parked: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const now = Date.now();
    const insert = `INSERT INTO tasks (id, type, params, priority, state, max_attempts, run_at, created_at, started_at, finished_at, attempt)
      SELECT $1 || g, $2, '\\x90'::bytea, 0, $3, 3, $4, $4, $5, $5, $6 FROM generate_series(1, $7) g`;
    await client.query(insert, ['bench-settled-', 'echo', 'succeeded', now, now, 1, settled]);
    await client.query(insert, ['bench-parked-', 'parked', 'queued', now, null, 0, parked]);
    await client.query('VACUUM ANALYZE tasks');
  } finally {
    await client.end();
  }
}

/** Sequential single tasks after the throughput workload (one in flight): submit → result at light load. */
async function lightLoadLatency(ctx: RunContext, foreman: ForemanProc): Promise<Record<string, number>> {
  const s = await probeLatency(foreman.client, { type: 'stamp', samples: ctx.quick ? 300 : 1000, warmup: ctx.quick ? 300 : 1000 });
  const result = distribution(s.submitToResult);
  const ack = distribution(s.submitToAck);
  ctx.log(`light load: submit → result p50 ${result.p50.toFixed(3)} ms, p99 ${result.p99.toFixed(3)} ms over ${result.n}`);
  return { resultP50: result.p50, resultP99: result.p99, ackP50: ack.p50 };
}

async function runPostgres(ctx: RunContext, total: number, foremenCount: number, prefilled = { settled: 0, parked: 0 }, latency = false) {
  const db = await startBenchDatabase();
  if (!db) throw new Error(benchDatabaseUnavailable() ?? 'no PostgreSQL here');
  const foremen: ForemanProc[] = [];
  const workers: ChildProcess[] = [];
  try {
    for (let i = 0; i < foremenCount; i++) foremen.push(await startForeman({ profileDir: ctx.profileDir, args: ['--store', db.url] }));
    if (prefilled.settled + prefilled.parked > 0) {
      const at = performance.now();
      await prefill(db.url, prefilled.settled, prefilled.parked);
      ctx.log(`prefilled ${prefilled.settled} settled and ${prefilled.parked} queued rows in ${((performance.now() - at) / 1000).toFixed(1)} s`);
    }
    // Two workers in all, spread over the foremen.
    for (let i = 0; i < 2; i++) workers.push(...(await startWorkers(foremen[i % foremenCount], { count: 1, concurrency: SLOTS, profileDir: ctx.profileDir })));
    const bodies = buildBodies(total, 1000, (i) => ({ type: 'echo', params: { i } }));
    const pids = [...foremen.map((f) => f.proc.pid as number), ...workers.map((w) => w.pid as number)];
    const before = pids.map(procStats);
    const commitsBefore = await db.commits();
    const dbCpuBefore = db.cpuMs();
    const sub = await submitJobs(foremen[0].client, bodies);
    // Polled every 50 ms, not 5: on PostgreSQL each poll counts the job's rows in the database the run measures.
    const doneAt = await waitJobsComplete(foremen[0].client, sub.jobIds, 600_000, 50);
    const commits = (await db.commits()) - commitsBefore;
    const dbCpuAfter = db.cpuMs();
    const after = pids.map(procStats);
    const light = latency ? await lightLoadLatency(ctx, foremen[0]) : {};
    const seconds = (doneAt - sub.startedAt) / 1000;
    const cpuMsOf = (from: number, to: number) => after.slice(from, to).reduce((sum, a, i) => sum + a.cpuMs - before[from + i].cpuMs, 0);
    const foremanCpuMs = cpuMsOf(0, foremenCount);
    const perTask = (ms: number) => (ms * 1000) / total;
    ctx.log(`${total} tasks in ${seconds.toFixed(2)} s on ${foremenCount} foreman(s), ${commits} commits`);
    return {
      metrics: {
        tasksPerSec: total / seconds,
        commitsPerTask: commits / total,
        foremanCpuUsPerTask: perTask(foremanCpuMs),
        workersCpuUsPerTask: perTask(cpuMsOf(foremenCount, pids.length)),
        ...(dbCpuBefore !== null && dbCpuAfter !== null ? { databaseCpuUsPerTask: perTask(dbCpuAfter - dbCpuBefore) } : {}),
        ...light,
      },
      sizes: { tasks: total, foremen: foremenCount, workers: 2, slotsPerWorker: SLOTS, ...(prefilled.settled + prefilled.parked > 0 ? { rowsBefore: prefilled.settled + prefilled.parked } : {}) },
    };
  } finally {
    // Stopped with SIGTERM first, so that `--profile` gets their CPU profiles.
    await Promise.all(workers.map((w) => stop(w, 5000)));
    await Promise.all(foremen.map((f) => stop(f.proc, 5000)));
    await killAll();
    for (const f of foremen) removeDir(f.dir);
    await db.stop();
  }
}

const metrics = [
  { key: 'tasksPerSec', label: 'end to end', unit: 'tasks/s', target: '≥ 20,000' },
  { key: 'commitsPerTask', label: 'database commits', unit: 'per task', target: '≤ 0.1' },
  { key: 'foremanCpuUsPerTask', label: 'foremen CPU', unit: 'µs/task' },
  { key: 'workersCpuUsPerTask', label: 'workers CPU', unit: 'µs/task' },
  // The server's processes, when it runs on this machine: the part of the two cores the store takes.
  { key: 'databaseCpuUsPerTask', label: 'database CPU', unit: 'µs/task' },
  { key: 'resultP50', label: 'light load: submit → result p50', unit: 'ms', target: '< 2' },
  { key: 'resultP99', label: 'light load: submit → result p99', unit: 'ms' },
  { key: 'ackP50', label: 'light load: submit → 202 (durable) p50', unit: 'ms' },
];

/** One PostgreSQL scenario: 10,000 tasks with --quick, else 50,000. */
function pgScenario(name: string, description: string, foremenCount: number, fullRuns: number, prefilled?: { settled: number; parked: number }, latency = false): Scenario {
  return {
    name,
    description,
    metrics,
    defaultRuns: { quick: 1, full: fullRuns },
    unavailable: benchDatabaseUnavailable,
    run: (ctx) => runPostgres(ctx, ctx.quick ? 10_000 : 50_000, foremenCount, prefilled, latency),
  };
}

export const postgres = pgScenario(
  'postgres',
  'as throughput, on the PostgreSQL store with one foreman (commits counted by the database); then sequential single tasks',
  1,
  3,
  undefined,
  true,
);
export const postgres2 = pgScenario('postgres-2-foremen', 'as postgres, with two foremen over one database and one worker on each', 2, 3);
export const postgresLarge = pgScenario(
  'postgres-large',
  'as postgres, on a table that already holds 1,000,000 rows (900,000 settled, 100,000 queued of a type nobody runs)',
  1,
  1,
  { settled: 900_000, parked: 100_000 },
);
