/**
 * Sockets that never say hello cannot lock anyone out: they wait in a room of their own, with
 * small limits in all and per address, where a newcomer displaces the oldest silent socket;
 * registered sessions are counted apart. A socket whose first frame is not a valid hello is
 * closed at once, after the error frame.
 */
import { describe, expect, it } from 'vitest';
import { encodeValue } from '../../shared/codec.js';
import { CLOSE_CODES } from '../../shared/protocol.js';
import { spawnWorker, startForeman } from '../helpers/processes.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { settled, submit, waitForTask } from '../helpers/tasks.js';

const silent = (url: string, localAddress: string, n: number) => Promise.all(Array.from({ length: n }, () => RawPeer.connect(url, { localAddress })));

describe('sockets without hello', () => {
  it('cannot keep a worker out, from their own address or from a fresh one', async () => {
    const foreman = await startForeman(['--max-pre-hello-sockets', '8', '--max-pre-hello-sockets-per-address', '5', '--max-sessions', '8', '--max-sessions-per-address', '4']);
    const local = await silent(foreman.wsUrl, '127.0.0.1', 5);
    // A real worker process from the same address as five silent sockets gets in; the oldest silent one gives way.
    const worker = await spawnWorker(foreman.wsUrl);
    expect(await local[0].closed).toBe(CLOSE_CODES.tooManySessions);
    expect(local[0].received.find((m) => m.kind === 'error')).toMatchObject({ code: 'TOO_MANY_SESSIONS', retryable: true });
    const id = await submit(foreman.api, { type: 'echo', params: 'in' });
    expect((await waitForTask(foreman.api, id, settled, 'echo settled')).result).toBe('in');

    // Two more addresses fill the room in all (8); a worker from a fresh address still gets in.
    await silent(foreman.wsUrl, '127.0.0.2', 4);
    await silent(foreman.wsUrl, '127.0.0.3', 4);
    const fresh = await RawPeer.connect(foreman.wsUrl, { localAddress: '127.0.0.4' });
    fresh.hello('fresh');
    await fresh.next((m) => m.kind === 'welcome');
    expect(worker.proc.exitCode).toBeNull();
  });

  it('counts registered sessions apart, refusing past --max-sessions at hello with a retryable TOO_MANY_SESSIONS', async () => {
    const foreman = await startForeman(['--max-sessions', '2', '--max-sessions-per-address', '2']);
    for (const id of ['one', 'two']) {
      const p = await RawPeer.connect(foreman.wsUrl);
      p.hello(id);
      await p.next((m) => m.kind === 'welcome');
    }
    // Silent sockets are not sessions: they are let in while the sessions are full.
    const quiet = await silent(foreman.wsUrl, '127.0.0.1', 3);
    const third = await RawPeer.connect(foreman.wsUrl);
    third.hello('three');
    expect(await third.next((m) => m.kind === 'error')).toMatchObject({ code: 'TOO_MANY_SESSIONS', retryable: true });
    expect(await third.closed).toBe(CLOSE_CODES.tooManySessions);
    expect(quiet.every((p) => p.closeCode === null)).toBe(true);
  });

  it('closes a socket whose first frame is not a valid hello at once, after the error frame', async () => {
    const foreman = await startForeman(['--hello-timeout-ms', '60000']);
    const cases: Array<[string, Buffer, string]> = [
      ['not msgpack', Buffer.from([0xc1]), 'BAD_FRAME'],
      ['unknown kind', encodeValue({ kind: 'nope' }), 'UNKNOWN_KIND'],
      ['heartbeat first', encodeValue({ kind: 'heartbeat', running: [] }), 'HELLO_REQUIRED'],
      ['broken hello', encodeValue({ kind: 'hello', protocolVersion: 1 }), 'INVALID_MESSAGE'],
    ];
    for (const [what, frame, code] of cases) {
      const p = await RawPeer.connect(foreman.wsUrl);
      p.sendRaw(frame);
      expect(await p.closed, what).toBe(CLOSE_CODES.invalidHello);
      expect(p.received.filter((m) => m.kind === 'error').map((m) => m.code), what).toEqual([code]);
    }
  });
});
