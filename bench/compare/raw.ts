/**
 * The raw transport side of `compare`: this process holds a `ws` server and
 * sends no-op tasks as msgpack frames, one task per frame, to one raw worker
 * process that echoes each back (bench/compare/raw-worker.ts). Measures the
 * throughput of request/response with a window of tasks in flight and the
 * round trip of one task at a time.
 */
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Packr } from 'msgpackr';
import { WebSocketServer, type WebSocket } from 'ws';
import { procStats, spawnNode, stop } from '../harness.js';
import { distribution } from '../stats.js';
import type { SideResult, Workload } from './workload.js';

const RAW_WORKER = fileURLToPath(new URL('./raw-worker.ts', import.meta.url));
const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false, int64AsType: 'number' });
const taskFrame = (id: number) => packr.pack({ kind: 'task.assign', id, type: 'echo', params: { i: id } });

/** Runs the workload over the raw transport: throughput with `workload.chunk` tasks in flight, then sequential round trips. */
export async function runRaw(workload: Workload): Promise<SideResult> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const worker = spawnNode([RAW_WORKER, `ws://127.0.0.1:${port}`], { nodeArgs: ['--import', 'tsx'] });
  try {
    const [socket] = (await once(server, 'connection')) as [WebSocket];
    const before = { worker: procStats(worker.pid as number), self: process.cpuUsage() };
    const seconds = await windowed(socket, workload.total, workload.chunk);
    const workerCpuMs = procStats(worker.pid as number).cpuMs - before.worker.cpuMs;
    const self = process.cpuUsage(before.self);
    const cpuMs = workerCpuMs + (self.user + self.system) / 1000;
    const rtt = distribution(await roundTrips(socket, workload.warmup, workload.samples));
    socket.close();
    return { tasksPerSec: workload.total / seconds, cpuUsPerTask: (cpuMs * 1000) / workload.total, resultP50: rtt.p50, resultP99: rtt.p99, ackP50: Number.NaN };
  } finally {
    await stop(worker, 2000);
    server.close();
  }
}

/** Sends `total` tasks keeping `window` in flight (a new one for every result); resolves with the seconds taken. */
function windowed(socket: WebSocket, total: number, window: number): Promise<number> {
  return new Promise((resolve) => {
    const started = performance.now();
    let sent = 0;
    let done = 0;
    const onMessage = () => {
      done++;
      if (sent < total) socket.send(taskFrame(sent++));
      if (done === total) {
        socket.off('message', onMessage);
        resolve((performance.now() - started) / 1000);
      }
    };
    socket.on('message', onMessage);
    while (sent < Math.min(window, total)) socket.send(taskFrame(sent++));
  });
}

/** One task at a time: send → its result frame received, in ms. */
async function roundTrips(socket: WebSocket, warmup: number, samples: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < warmup + samples; i++) {
    const sentAt = performance.now();
    const reply = once(socket, 'message');
    socket.send(taskFrame(i));
    await reply;
    if (i >= warmup) out.push(performance.now() - sentAt);
  }
  return out;
}
