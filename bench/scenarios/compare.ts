/**
 * compare: the same workload on Gaffer, on BullMQ over a Debian redis-server
 * (AOF everysec), and on the raw transport Gaffer is built on (ws + msgpackr,
 * two processes, no durability), one after the other in each run, with the
 * ratios of that run. Only figures from the same run are compared: this
 * machine's speed moves from day to day and with its other users.
 */
import { runBullmq, findRedisServer, REDIS_MISSING } from '../compare/bullmq.js';
import { runGaffer } from '../compare/gaffer.js';
import { runRaw } from '../compare/raw.js';
import type { SideResult, Workload } from '../compare/workload.js';
import type { Scenario } from '../scenario.js';

type Side = 'raw' | 'BullMQ' | 'Gaffer';
const ORDER: Side[] = ['raw', 'BullMQ', 'Gaffer'];
// Which side leads rotates from run to run, starting from a different one in each invocation.
let runsStarted = process.pid % ORDER.length;
const SKIPPED: SideResult = { tasksPerSec: NaN, cpuUsPerTask: NaN, resultP50: NaN, resultP99: NaN, ackP50: NaN };

export const compare: Scenario = {
  name: 'compare',
  description: 'Gaffer beside BullMQ (redis-server, AOF everysec) and raw ws+msgpackr: same workload, ratios from the same run',
  metrics: [
    { key: 'gafferTasksPerSec', label: 'Gaffer no-op throughput', unit: 'tasks/s' },
    { key: 'bullmqTasksPerSec', label: 'BullMQ no-op throughput', unit: 'tasks/s' },
    { key: 'rawTasksPerSec', label: 'raw transport throughput', unit: 'tasks/s' },
    { key: 'tputVsBullmq', label: 'throughput: Gaffer ÷ BullMQ', unit: '×', target: '> 1' },
    { key: 'tputVsRaw', label: 'throughput: Gaffer ÷ raw transport', unit: '×', target: '≥ 0.5' },
    { key: 'gafferCpuUs', label: 'Gaffer CPU, all processes', unit: 'µs/task' },
    { key: 'bullmqCpuUs', label: 'BullMQ CPU, all processes (redis too)', unit: 'µs/task' },
    { key: 'rawCpuUs', label: 'raw transport CPU, both processes', unit: 'µs/task' },
    { key: 'gafferResultP50', label: 'Gaffer submit → result p50', unit: 'ms', target: '≤ 0.5' },
    { key: 'gafferResultP99', label: 'Gaffer submit → result p99', unit: 'ms', target: '≤ 2' },
    { key: 'bullmqResultP50', label: 'BullMQ add → completed event p50', unit: 'ms' },
    { key: 'bullmqResultP99', label: 'BullMQ add → completed event p99', unit: 'ms' },
    { key: 'rawResultP50', label: 'raw round trip p50', unit: 'ms' },
    { key: 'rawResultP99', label: 'raw round trip p99', unit: 'ms' },
    { key: 'p50VsBullmq', label: 'result p50: Gaffer ÷ BullMQ', unit: '×', target: '< 1' },
    { key: 'p99VsBullmq', label: 'result p99: Gaffer ÷ BullMQ', unit: '×', target: '< 1' },
    { key: 'gafferAckP50', label: 'Gaffer submit → 202 (durable) p50', unit: 'ms' },
    { key: 'bullmqAckP50', label: 'BullMQ add() p50', unit: 'ms' },
    { key: 'ackVsBullmq', label: 'acknowledged p50: Gaffer ÷ BullMQ', unit: '×' },
  ],
  defaultRuns: { quick: 1, full: 3 },
  async run(ctx) {
    // Thousands of untimed sequential tasks first: the Node processes on every side (Gaffer's three, BullMQ's
    // producer and consumer) are still compiling their hot paths for the first few thousand (see latency.ts).
    const workload: Workload = ctx.quick
      ? { total: 10_000, chunk: 1000, inFlight: 4, slots: 200, samples: 300, warmup: 1000 }
      : { total: 50_000, chunk: 1000, inFlight: 4, slots: 200, samples: 2000, warmup: 3000 };
    const redisServer = ctx.redisServer ?? findRedisServer();
    const skipNote = ctx.redisServer === '' ? "BullMQ part skipped (--redis-server '')" : REDIS_MISSING;
    if (!redisServer) ctx.log(skipNote);
    const sides: Record<Side, () => Promise<SideResult>> = {
      raw: () => runRaw(workload),
      BullMQ: () => (redisServer ? runBullmq(redisServer, workload) : Promise.resolve(SKIPPED)),
      Gaffer: () => runGaffer(workload, ctx.profileDir),
    };
    // Each run starts with a different side, so a machine that slows down (or speeds up) during a run does not always favour the same one.
    const order = ORDER.map((_, i) => ORDER[(i + runsStarted) % ORDER.length]);
    runsStarted++;
    const results = {} as Record<Side, SideResult>;
    for (const side of order) {
      results[side] = await sides[side]();
      const r = results[side];
      if (Number.isFinite(r.tasksPerSec)) ctx.log(`${side}: ${r.tasksPerSec.toFixed(0)} tasks/s, result p50 ${r.resultP50.toFixed(3)} ms, p99 ${r.resultP99.toFixed(3)} ms`);
    }
    const { raw, BullMQ: bullmq, Gaffer: gaffer } = results;
    return {
      metrics: {
        gafferTasksPerSec: gaffer.tasksPerSec,
        bullmqTasksPerSec: bullmq.tasksPerSec,
        rawTasksPerSec: raw.tasksPerSec,
        tputVsBullmq: gaffer.tasksPerSec / bullmq.tasksPerSec,
        tputVsRaw: gaffer.tasksPerSec / raw.tasksPerSec,
        gafferCpuUs: gaffer.cpuUsPerTask,
        bullmqCpuUs: bullmq.cpuUsPerTask,
        rawCpuUs: raw.cpuUsPerTask,
        gafferResultP50: gaffer.resultP50,
        gafferResultP99: gaffer.resultP99,
        bullmqResultP50: bullmq.resultP50,
        bullmqResultP99: bullmq.resultP99,
        rawResultP50: raw.resultP50,
        rawResultP99: raw.resultP99,
        p50VsBullmq: gaffer.resultP50 / bullmq.resultP50,
        p99VsBullmq: gaffer.resultP99 / bullmq.resultP99,
        gafferAckP50: gaffer.ackP50,
        bullmqAckP50: bullmq.ackP50,
        ackVsBullmq: gaffer.ackP50 / bullmq.ackP50,
      },
      sizes: {
        tasks: workload.total, chunk: workload.chunk, submissionsInFlight: workload.inFlight, workerSlots: workload.slots,
        rawInFlight: workload.chunk, latencySamples: workload.samples, order: order.join('→'),
        bullmq: redisServer ? 'redis-server AOF everysec' : skipNote,
      },
    };
  },
};
