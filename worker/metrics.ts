/**
 * The worker status server's GET /metrics: prom-client's process metrics plus
 * this worker's task counters, read from WorkerStats at scrape time.
 */
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { Worker } from './worker.js';

type Outcome = 'succeeded' | 'failed' | 'cancelled';
const OUTCOMES: Outcome[] = ['succeeded', 'failed', 'cancelled'];

/** Builds the worker's registry. One per worker, so several workers in one process keep their own numbers. */
export function workerMetricsRegistry(worker: Worker): Registry {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });
  // WorkerStats keeps running totals; the counter is advanced by the difference since the last scrape.
  const seen = new Map<string, number>();
  new Counter({
    name: 'gaffer_worker_tasks_total',
    help: 'Tasks this worker finished, by type and outcome',
    labelNames: ['type', 'outcome'],
    registers,
    collect() {
      for (const [type, counts] of Object.entries(worker.stats.snapshot().perType)) {
        for (const outcome of OUTCOMES) {
          const key = `${type}\u0000${outcome}`;
          const delta = counts[outcome] - (seen.get(key) ?? 0);
          if (delta > 0) this.inc({ type, outcome }, delta);
          seen.set(key, counts[outcome]);
        }
      }
    },
  });
  new Gauge({
    name: 'gaffer_worker_running_tasks',
    help: 'Tasks running on this worker now',
    registers,
    collect() {
      this.set(worker.runs.size);
    },
  });
  new Gauge({
    name: 'gaffer_worker_slots',
    help: 'Tasks this worker runs at once (concurrency)',
    registers,
    collect() {
      this.set(worker.options.concurrency);
    },
  });
  new Gauge({
    name: 'gaffer_worker_reconnects',
    help: 'Sessions with the foreman lost since start',
    registers,
    collect() {
      this.set(worker.stats.reconnects);
    },
  });
  new Gauge({
    name: 'gaffer_worker_ready',
    help: '1 while registered with the foreman and taking work',
    registers,
    collect() {
      this.set(worker.state === 'ready' ? 1 : 0);
    },
  });
  return registry;
}

/** Serves GET /metrics on the status server. */
export function workerMetricsRoute(app: FastifyInstance, worker: Worker): void {
  const registry = workerMetricsRegistry(worker);
  app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));
}
