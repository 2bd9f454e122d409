/**
 * A session closed right after its welcome must not reset the reconnect backoff: the worker
 * would otherwise redial every ~200 ms forever (seen when the foreman closed each session with
 * 1009 on an oversized result frame). The peer here is a stand-in foreman that welcomes every
 * hello and closes at once, a behaviour the real foreman only shows when something else is wrong.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { encodeMessage } from '../../shared/codec.js';
import { Worker } from '../../worker/worker.js';
import { waitFor } from '../helpers/wait-for.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe('reconnect backoff', () => {
  it('keeps growing across sessions closed right after their welcome', async () => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    server.on('connection', (socket) => {
      socket.once('message', () => {
        socket.send(encodeMessage({ kind: 'welcome', sessionId: 's_1', sessionToken: 'token', heartbeatIntervalMs: 1000, maxFrameBytes: 1 << 20, adopted: [], revoked: [] }));
        socket.close(1009, 'frame too big');
      });
    });
    await new Promise((resolve) => server.once('listening', resolve));
    const port = (server.address() as { port: number }).port;

    const lines: Array<{ msg: string; tries?: number }> = [];
    const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(chunk.toString())), done()) });
    const worker = new Worker({ foreman: `ws://127.0.0.1:${port}`, id: 'backoff', status: false, reconnectMinMs: 5, reconnectMaxMs: 60_000, logger: pino(sink) });
    worker.task('echo', (p) => p);
    cleanups.push(() => worker.close());
    await worker.start();

    const losses = () => lines.filter((l) => l.msg === 'lost the foreman; reconnecting');
    await waitFor(() => losses().length >= 5, 'five sessions lost');
    // Each close counts as one more try in a row: the delay bound doubles each time (5, 10, 20, … ms).
    expect(losses().slice(0, 5).map((l) => l.tries)).toEqual([1, 2, 3, 4, 5]);
  });
});
