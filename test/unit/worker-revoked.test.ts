/**
 * The worker aborts a revoked attempt only if it is the attempt it runs (issue 9.20), as it does
 * for task.cancel. Reconnecting while it holds an unacknowledged result for attempt 1 and runs
 * attempt 2 of the same task, its hello lists both; the foreman revokes attempt 1 and adopts 2.
 * The peer is a stand-in foreman driving that exact sequence, which the real foreman reaches only
 * through a narrow race (a result lost in flight while the task is reassigned to the same worker).
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { decodeValue, encodeMessage } from '../../shared/codec.js';
import { Worker } from '../../worker/worker.js';
import { waitFor } from '../helpers/wait-for.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  // Last registered first: the worker closes before the server it talks to.
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('welcome.revoked', () => {
  it('does not abort the newer attempt of a task whose older attempt is revoked', async () => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    cleanups.push(() => new Promise<void>((resolve) => {
      for (const c of server.clients) c.terminate();
      server.close(() => resolve());
    }));
    const sessions: Array<{ socket: WebSocket; received: any[] }> = [];
    server.on('connection', (socket) => {
      const s = { socket, received: [] as any[] };
      sessions.push(s);
      socket.on('message', (data) => s.received.push(decodeValue(data as Buffer)));
    });
    await new Promise((resolve) => server.once('listening', resolve));
    const port = (server.address() as { port: number }).port;
    const welcome = (revoked: unknown[], adopted: unknown[]) =>
      encodeMessage({ kind: 'welcome', sessionId: 's_1', sessionToken: 'token', heartbeatIntervalMs: 60_000, maxFrameBytes: 1 << 20, adopted, revoked } as any);

    const aborts: string[] = [];
    const worker = new Worker({ foreman: `ws://127.0.0.1:${port}`, id: 'revoked', status: false, reconnectMinMs: 5, reconnectMaxMs: 20, logger: pino(new Writable({ write: (_c, _e, done) => done() })) });
    worker.task('quick', () => 'done');
    worker.task('slow', async (_p, ctx) => {
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
      aborts.push((ctx.signal.reason as { code: string }).code);
    });
    cleanups.push(() => worker.close());
    await worker.start();

    await waitFor(() => sessions[0]?.received.some((m) => m.kind === 'hello'), 'hello');
    const first = sessions[0];
    first.socket.send(welcome([], []));
    // Attempt 1 finishes; its result is never acknowledged, so the worker holds it.
    first.socket.send(encodeMessage({ kind: 'task.assign', tasks: [{ taskId: 't_1', jobId: null, type: 'quick', attempt: 1, priority: 0, params: null, timeoutMs: null }] } as any));
    await waitFor(() => first.received.some((m) => m.kind === 'task.result'), 'the result of attempt 1');
    first.socket.send(encodeMessage({ kind: 'task.assign', tasks: [{ taskId: 't_1', jobId: null, type: 'slow', attempt: 2, priority: 0, params: null, timeoutMs: null }] } as any));
    await waitFor(() => worker.snapshot().tasks.some((t) => t.attempt === 2), 'attempt 2 running');
    first.socket.close(1001, 'going away');

    await waitFor(() => sessions[1]?.received.some((m) => m.kind === 'hello'), 'the second hello');
    const hello = sessions[1].received.find((m) => m.kind === 'hello');
    expect(hello.running).toEqual(expect.arrayContaining([{ taskId: 't_1', attempt: 2 }, { taskId: 't_1', attempt: 1 }]));
    sessions[1].socket.send(welcome([{ taskId: 't_1', attempt: 1 }], [{ taskId: 't_1', attempt: 2 }]));
    // Then the real cancel of attempt 2: the first abort the handler sees must be this one.
    sessions[1].socket.send(encodeMessage({ kind: 'task.cancel', tasks: [{ taskId: 't_1', attempt: 2 }], reason: 'cancelled' }));
    await waitFor(() => aborts.length > 0, 'attempt 2 aborted');
    expect(aborts).toEqual(['CANCELLED']);
  });
});
