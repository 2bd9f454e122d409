/**
 * A light bench-only worker process that holds many worker sessions at once
 * (1,000 full worker processes would not fit on this machine). Each session
 * speaks the real protocol through the shared codec: hello, heartbeats at the
 * interval the foreman's welcome sets, and, with `--echo`, a `task.result`
 * echoing the params of every task it is assigned.
 *
 *   node --import tsx bench/session-swarm.ts --foreman ws://127.0.0.1:PORT --sessions 250 --prefix a [--echo]
 *
 * Talks to its parent over IPC: `{ type: 'ready', sessions, ms }` once every
 * session is welcomed, `{ type: 'error', message }` on failure; exits on `{ type: 'stop' }`.
 */
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { decodeMessage, encodeMessage } from '../shared/codec.js';
import { FOREMAN_KINDS, PROTOCOL_VERSION, WORKER_WS_PATH, type TaskResult } from '../shared/protocol.js';

const { values } = parseArgs({
  options: {
    foreman: { type: 'string' },
    sessions: { type: 'string', default: '100' },
    prefix: { type: 'string', default: 's' },
    capacity: { type: 'string', default: '1' },
    echo: { type: 'boolean', default: false },
    'connect-concurrency': { type: 'string', default: '64' },
  },
});
const url = `${values.foreman}${WORKER_WS_PATH}`;
const total = Number(values.sessions);
const capacity = Number(values.capacity);
const parallel = Number(values['connect-concurrency']);
const send = (m: object) => process.send?.(m);

/** Sessions by index; `null` until its welcome arrives. */
const sockets: Array<WebSocket | null> = new Array(total).fill(null);
let heartbeatIntervalMs = 5000;
let welcomed = 0;
let closed = 0;
let next = 0;
const started = performance.now();

function open(i: number): void {
  const socket = new WebSocket(url, { perMessageDeflate: false });
  socket.binaryType = 'nodebuffer';
  socket.on('open', () => {
    socket.send(
      encodeMessage({
        kind: 'hello', protocolVersion: PROTOCOL_VERSION, workerId: `${values.prefix}-${i}`, skills: [{ type: 'echo' }, { type: 'stamp' }],
        capacity, groupLimits: {}, running: [],
      }),
    );
  });
  socket.on('message', (data) => {
    const m = decodeMessage(data as Buffer, FOREMAN_KINDS);
    if (m.kind === 'welcome') {
      heartbeatIntervalMs = m.heartbeatIntervalMs;
      sockets[i] = socket;
      if (++welcomed === total) send({ type: 'ready', sessions: welcomed, ms: performance.now() - started });
      if (next < total) open(next++);
    } else if (m.kind === 'task.assign' && values.echo) {
      const results: TaskResult[] = m.tasks.map((a) => ({ taskId: a.taskId, attempt: a.attempt, outcome: 'succeeded', value: a.params, durationMs: 0 }));
      socket.send(encodeMessage({ kind: 'task.result', results }));
    } else if (m.kind === 'error') {
      send({ type: 'error', message: `session ${i}: ${m.code} ${m.message}` });
    }
  });
  socket.on('error', () => {});
  socket.on('close', (code) => {
    sockets[i] = null;
    if (++closed <= 3) send({ type: 'error', message: `session ${i} closed with ${code}` });
  });
}

// Dial `parallel` at a time; each welcome starts the next dial, so a burst of 10,000 SYNs never hits the listen backlog.
for (; next < Math.min(parallel, total); next++) open(next);

// One timer for every heartbeat: each 100 ms tick serves the sessions whose slot comes up, spreading them over the interval.
const TICK_MS = 100;
let tick = 0;
const heartbeat = encodeMessage({ kind: 'heartbeat', running: [], draining: false });
setInterval(() => {
  const buckets = Math.max(1, Math.round(heartbeatIntervalMs / TICK_MS));
  const bucket = tick++ % buckets;
  for (let i = bucket; i < total; i += buckets) {
    const s = sockets[i];
    if (s && s.readyState === WebSocket.OPEN) s.send(heartbeat);
  }
}, TICK_MS).unref();

process.on('message', (m: { type?: string }) => {
  if (m?.type !== 'stop') return;
  for (const s of sockets) s?.terminate();
  process.exit(0);
});
process.on('disconnect', () => process.exit(0));
