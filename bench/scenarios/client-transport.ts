/**
 * client-transport: the client library's two transports side by side, on one
 * foreman and one worker process (200 slots), with the client in the bench
 * process: `http` (POST /tasks, then a GET /tasks/:id/wait long poll per
 * result) and `push` (one WebSocket: submissions batched per turn, results
 * pushed). Latency: `client.run()` one at a time. Throughput: many `run()`s in
 * flight at once. Echo tasks, so the transport is what differs.
 */
import { Client } from '../../client/index.js';
import { killAll, removeDir, startForeman, startWorkers } from '../harness.js';
import type { Scenario } from '../scenario.js';
import { distribution } from '../stats.js';

type Transport = 'http' | 'push';

async function sequential(client: Client, samples: number, warmup: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < warmup + samples; i++) {
    const t = performance.now();
    await client.run('echo', i);
    if (i >= warmup) out.push(performance.now() - t);
  }
  return out;
}

/** `total` runs with `inFlight` at a time; returns tasks per second. */
async function concurrent(client: Client, total: number, inFlight: number): Promise<number> {
  let next = 0;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < total) await client.run('echo', next++);
    }),
  );
  return total / ((performance.now() - t) / 1000);
}

export const clientTransport: Scenario = {
  name: 'client-transport',
  description: 'the client library over HTTP (POST + long-poll wait) vs the push channel (one WebSocket): run() latency and throughput',
  metrics: [
    { key: 'httpP50', label: 'http: run() p50', unit: 'ms' },
    { key: 'httpP99', label: 'http: run() p99', unit: 'ms' },
    { key: 'pushP50', label: 'push: run() p50', unit: 'ms' },
    { key: 'pushP99', label: 'push: run() p99', unit: 'ms' },
    { key: 'httpRate', label: 'http: run() throughput, 64 in flight', unit: 'tasks/s' },
    { key: 'pushRate', label: 'push: run() throughput, 64 in flight', unit: 'tasks/s' },
  ],
  defaultRuns: { quick: 1, full: 3 },
  async run(ctx) {
    const samples = ctx.quick ? 300 : 1500;
    const warmup = ctx.quick ? 50 : 200;
    const total = ctx.quick ? 3000 : 20_000;
    // Below the foreman's per-address HTTP connection cap (200): over HTTP each awaited task holds a connection.
    const inFlight = 64;
    const foreman = await startForeman({ profileDir: ctx.profileDir });
    try {
      await startWorkers(foreman, { count: 1, concurrency: 200, profileDir: ctx.profileDir });
      const metrics: Record<string, number> = {};
      // Alternated, so neither transport always runs on the warmer (or more crowded) foreman.
      for (const transport of ['http', 'push', 'http', 'push'] as Transport[]) {
        const client = new Client({ foreman: foreman.url, transport });
        const first = metrics[`${transport}P50`] === undefined;
        if (first) {
          const d = distribution(await sequential(client, samples, warmup));
          metrics[`${transport}P50`] = d.p50;
          metrics[`${transport}P99`] = d.p99;
          ctx.log(`${transport}: run() p50 ${d.p50.toFixed(3)} ms, p99 ${d.p99.toFixed(3)} ms`);
        } else {
          const rate = await concurrent(client, total, inFlight);
          metrics[`${transport}Rate`] = rate;
          ctx.log(`${transport}: ${Math.round(rate)} tasks/s with ${inFlight} in flight`);
        }
        await client.close();
      }
      return { metrics, sizes: { samples, warmup, total, inFlight, workers: 1, slotsPerWorker: 200 } };
    } finally {
      await killAll();
      removeDir(foreman.dir);
    }
  },
};
