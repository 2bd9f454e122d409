/**
 * The BullMQ side of `compare`: a Debian `redis-server` started on a loopback
 * port with AOF `appendfsync everysec` (BullMQ's usual durable setting), one
 * consumer process (bench/compare/bullmq-worker.ts) and this process as the
 * producer. Throughput: `addBulk` in chunks, completion read by polling the
 * completed count. Latency: `add()` one job at a time, its completion heard
 * through `QueueEvents` (BullMQ's way for a producer to see a result).
 */
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { exited, freePort, procStats, removeDir, spawnNode, spawnTracked, stderrOf, stop } from '../harness.js';
import { distribution } from '../stats.js';
import { waitUntil } from '../wait.js';
import type { SideResult, Workload } from './workload.js';

const BULLMQ_WORKER = fileURLToPath(new URL('./bullmq-worker.ts', import.meta.url));

/** What to tell someone whose machine has no redis-server. */
export const REDIS_MISSING = 'redis-server not found on PATH: BullMQ part skipped (Debian/Ubuntu: apt-get install -y redis-server)';

/** The path of `redis-server` on PATH (or /usr/bin, /usr/sbin), or null. */
export function findRedisServer(): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/sbin', '/usr/local/bin'];
  for (const dir of dirs) {
    const file = join(dir, 'redis-server');
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not in this directory
    }
  }
  return null;
}

/** Runs the workload on BullMQ over a fresh redis-server; stops everything it started. */
export async function runBullmq(redisServer: string, workload: Workload): Promise<SideResult> {
  const dir = mkdtempSync(join(tmpdir(), 'gaffer-bench-redis-'));
  const port = await freePort();
  const redis = spawnTracked([
    redisServer, '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
    '--appendonly', 'yes', '--appendfsync', 'everysec', '--daemonize', 'no', '--loglevel', 'warning',
  ]);
  const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
  const queueName = 'compare';
  let worker: ChildProcess | null = null;
  let queue: Queue | null = null;
  let events: QueueEvents | null = null;
  try {
    await waitForRedis(redis, port);
    worker = spawnNode([BULLMQ_WORKER, '--port', String(port), '--queue', queueName, '--concurrency', String(workload.slots)], {
      nodeArgs: ['--import', 'tsx'],
      ipc: true,
    });
    await ready(worker);
    queue = new Queue(queueName, { connection });
    const chunks: Array<Array<{ name: string; data: { i: number } }>> = [];
    for (let from = 0; from < workload.total; from += workload.chunk) {
      chunks.push(Array.from({ length: Math.min(workload.chunk, workload.total - from) }, (_, k) => ({ name: 'echo', data: { i: from + k } })));
    }
    const pids = [redis.pid as number, worker.pid as number];
    const before = { procs: pids.map(procStats), self: process.cpuUsage() };
    const started = performance.now();
    let next = 0;
    const q = queue;
    const lane = async () => {
      while (next < chunks.length) await q.addBulk(chunks[next++]);
    };
    const submitted = Promise.all(Array.from({ length: Math.min(workload.inFlight, chunks.length) }, lane));
    // Completed jobs are kept (BullMQ's default, as Gaffer keeps results), so the completed count is the progress.
    while ((await queue.getCompletedCount()) < workload.total) await delay(5);
    const seconds = (performance.now() - started) / 1000;
    await submitted;
    const self = process.cpuUsage(before.self);
    const cpuMs = pids.reduce((sum, pid, i) => sum + procStats(pid).cpuMs - before.procs[i].cpuMs, 0) + (self.user + self.system) / 1000;

    // Read events from the stream's current end: with '$' (the default), an event written before
    // QueueEvents' first blocking read would be missed, and a loaded machine makes that window real.
    const reader = new Redis({ host: '127.0.0.1', port });
    const last = await reader.xrevrange(`bull:${queueName}:events`, '+', '-', 'COUNT', 1).finally(() => reader.disconnect());
    events = new QueueEvents(queueName, { connection, lastEventId: last[0]?.[0] ?? '0-0' });
    await events.waitUntilReady();
    const lat = await sequential(queue, events, workload);
    return {
      tasksPerSec: workload.total / seconds,
      cpuUsPerTask: (cpuMs * 1000) / workload.total,
      resultP50: lat.result.p50,
      resultP99: lat.result.p99,
      ackP50: lat.ack.p50,
    };
  } finally {
    await events?.close().catch(() => {});
    await queue?.close().catch(() => {});
    if (worker?.connected) worker.send({ type: 'stop' });
    if (worker) await Promise.race([exited(worker), delay(3000)]);
    if (worker) await stop(worker, 1000);
    await stop(redis, 5000);
    removeDir(dir);
  }
}

async function waitForRedis(redis: ChildProcess, port: number): Promise<void> {
  const probe = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  // Refused connections while redis-server starts are expected; the loop below retries.
  probe.on('error', () => {});
  try {
    await waitUntil(async () => {
      if (redis.exitCode !== null) throw new Error(`redis-server exited (${redis.exitCode}): ${stderrOf(redis)}`);
      try {
        if (probe.status !== 'ready') await probe.connect();
        return (await probe.ping()) === 'PONG';
      } catch {
        probe.disconnect();
        return false;
      }
    }, 'redis-server PING', 20_000, 20);
  } finally {
    probe.disconnect();
  }
}

function ready(proc: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    proc.on('message', (m: { type: string }) => m.type === 'ready' && resolve());
    proc.once('exit', (code) => reject(new Error(`BullMQ worker exited (${code}): ${stderrOf(proc)}`)));
  });
}

/** `add()` one job at a time; times add() resolving and the job's `completed` event reaching this process. */
async function sequential(queue: Queue, events: QueueEvents, workload: Workload) {
  // The event can arrive before add() resolves, so completions are recorded by id and matched either way.
  const completedAt = new Map<string, number>();
  let waiting: { id: string; resolve: (at: number) => void } | null = null;
  events.on('completed', ({ jobId }) => {
    const at = performance.now();
    if (waiting?.id === jobId) waiting.resolve(at);
    else completedAt.set(jobId, at);
  });
  const result: number[] = [];
  const ack: number[] = [];
  for (let i = 0; i < workload.warmup + workload.samples; i++) {
    const sentAt = performance.now();
    const job = await queue.add('echo', { i });
    const ackAt = performance.now();
    const id = job.id as string;
    const doneAt =
      completedAt.get(id) ??
      (await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`BullMQ job ${id} not completed within 10 s`)), 10_000);
        waiting = { id, resolve: (at) => (clearTimeout(timer), (waiting = null), resolve(at)) };
      }));
    completedAt.delete(id);
    if (i < workload.warmup) continue;
    result.push(doneAt - sentAt);
    ack.push(ackAt - sentAt);
  }
  return { result: distribution(result), ack: distribution(ack) };
}
