import { describe, expect, it } from 'vitest';
import { encodeValue } from '../../shared/codec.js';
import { CLOSE_CODES } from '../../shared/protocol.js';
import { FAST_LIVENESS } from '../helpers/fast-liveness.js';
import { spawnWorker, startForeman } from '../helpers/processes.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { settled, submit, waitForTask } from '../helpers/tasks.js';

const peer = (url: string): Promise<RawPeer> => RawPeer.connect(url);

describe('the worker protocol', () => {
  it('refuses a second live session claiming a worker id, unless it proves it is the same worker', async () => {
    const foreman = await startForeman();
    const first = await peer(foreman.wsUrl);
    first.hello('twin');
    const welcome = await first.next((m) => m.kind === 'welcome');

    const impostor = await peer(foreman.wsUrl);
    impostor.hello('twin');
    const err = await impostor.next((m) => m.kind === 'error');
    expect(err.code).toBe('WORKER_ID_IN_USE');
    expect(await impostor.closed).toBe(CLOSE_CODES.workerIdInUse);

    // The same worker on a new socket (its session token proves it) replaces the old socket.
    const resumed = await peer(foreman.wsUrl);
    resumed.hello('twin', { sessionToken: welcome.sessionToken });
    await resumed.next((m) => m.kind === 'welcome');
    expect(await first.closed).toBe(CLOSE_CODES.sessionReplaced);
  });

  it('answers malformed frames with error codes, closes an abusive peer, and keeps serving good workers', async () => {
    const foreman = await startForeman();
    await spawnWorker(foreman.wsUrl);
    // Before hello, the first bad frame closes the socket (pre-hello.test.ts); a registered session is told and counted.
    const early = await peer(foreman.wsUrl);
    early.sendRaw(encodeValue({ kind: 'heartbeat', running: [] }));
    expect((await early.next((m) => m.kind === 'error')).code).toBe('HELLO_REQUIRED');
    expect(await early.closed).toBe(CLOSE_CODES.invalidHello);
    const bad = await peer(foreman.wsUrl);
    bad.hello('bad', { skills: [{ type: 'none' }] });
    await bad.next((m) => m.kind === 'welcome');
    bad.sendRaw(Buffer.from([0xc1, 0xff, 0x00]));
    expect((await bad.next((m) => m.kind === 'error')).code).toBe('BAD_FRAME');
    bad.sendRaw(encodeValue({ kind: 'task.explode' }));
    await bad.next((m) => m.code === 'UNKNOWN_KIND');
    bad.sendRaw(encodeValue({ kind: 'heartbeat', running: 'nope' }));
    await bad.next((m) => m.code === 'INVALID_MESSAGE' && /running must be an array/.test(m.message));
    for (let i = 0; i < 20; i++) bad.sendRaw(Buffer.from([i]));
    expect(await bad.closed).toBe(CLOSE_CODES.protocolAbuse);

    const id = await submit(foreman.api, { type: 'echo', params: 'still here' });
    const t = await waitForTask(foreman.api, id, settled, 'task settled');
    expect(t).toMatchObject({ state: 'succeeded', result: 'still here' });
  });

  it('refuses an unsupported protocol version with its close code', async () => {
    const foreman = await startForeman();
    const p = await peer(foreman.wsUrl);
    p.hello('old', { protocolVersion: 99 });
    expect((await p.next((m) => m.kind === 'error')).code).toBe('UNSUPPORTED_VERSION');
    expect(await p.closed).toBe(CLOSE_CODES.unsupportedVersion);
  });

  it('closes a socket that never says hello', async () => {
    const foreman = await startForeman(['--hello-timeout-ms', '200']);
    const p = await peer(foreman.wsUrl);
    expect(await p.closed).toBe(CLOSE_CODES.helloTimeout);
    expect(p.received.find((m) => m.kind === 'error')?.code).toBe('HELLO_TIMEOUT');
  });

  it('pings a peer whose heartbeats stop, so its socket lives on pongs until the lease ends it', async () => {
    const foreman = await startForeman(FAST_LIVENESS);
    const quiet = await peer(foreman.wsUrl);
    quiet.hello('quiet');
    await quiet.next((m) => m.kind === 'welcome');
    // No heartbeat ever: only pongs (answered by the peer's WebSocket library) keep the socket
    // from being dropped as dead after --stale-after-ms; the lease then closes it on purpose.
    expect(await quiet.closed).toBe(CLOSE_CODES.leaseExpired);
  });

  it('rejects a result for an attempt the worker does not hold', async () => {
    const foreman = await startForeman();
    const p = await peer(foreman.wsUrl);
    p.hello('liar', { skills: [{ type: 'echo' }], capacity: 1 });
    await p.next((m) => m.kind === 'welcome');
    const id = await submit(foreman.api, { type: 'echo', params: 1 });
    const assign = await p.next((m) => m.kind === 'task.assign');
    expect(assign.tasks[0]).toMatchObject({ taskId: id, attempt: 1 });
    p.send({ kind: 'task.result', results: [{ taskId: id, attempt: 7, outcome: 'succeeded', value: 'forged', durationMs: 1 }] });
    const nack = await p.next((m) => m.kind === 'task.ack' && m.results[0].attempt === 7);
    expect(nack.results[0]).toMatchObject({ accepted: false, reason: 'stale attempt' });
    p.send({ kind: 'task.result', results: [{ taskId: id, attempt: 1, outcome: 'succeeded', value: 'real', durationMs: 1 }] });
    const ack = await p.next((m) => m.kind === 'task.ack' && m.results[0].attempt === 1);
    expect(ack.results[0].accepted).toBe(true);
    // Exactly one result is accepted: a repeat of the same attempt is refused.
    p.send({ kind: 'task.result', results: [{ taskId: id, attempt: 1, outcome: 'succeeded', value: 'again', durationMs: 1 }] });
    await p.next((m) => m.kind === 'task.ack' && m.results[0].accepted === false && m.results[0].reason === 'already settled');
    const t = await waitForTask(foreman.api, id, settled, 'settled');
    expect(t.result).toBe('real');
  });
});
