/**
 * A protocol refusal is logged at warn in one line with the peer's id and address and the close
 * code actually sent: a frame over maxFrameBytes is 1009 (not an error with a stack trace, and not
 * a disconnect "1006"), and a first frame that is not a hello is 4004.
 */
import { describe, expect, it } from 'vitest';
import { CLOSE_CODES } from '../../shared/protocol.js';
import { startForeman } from '../helpers/processes.js';
import { RawPeer } from '../helpers/raw-peer.js';

describe('protocol refusals in the foreman log', () => {
  it('are one warn line each, with the worker id, address, code and the close code sent', async () => {
    const foreman = await startForeman(['--max-frame-bytes', '65536', '--max-params-bytes', '65536', '--max-result-bytes', '65536', '--max-checkpoint-bytes', '65536']);
    const big = await RawPeer.connect(foreman.wsUrl);
    big.hello('big-sender');
    await big.next((m) => m.kind === 'welcome');
    big.sendRaw(Buffer.alloc(100_000, 0xa1));
    expect(await big.closed).toBe(1009);
    const line = await foreman.waitForLine((l) => l.code === 'FRAME_TOO_LARGE', 'frame refusal logged');
    expect(line).toMatchObject({ level: 40, msg: 'closed a worker socket: protocol refusal', claimedWorkerId: 'big-sender', address: '127.0.0.1', closeCode: 1009 });
    const gone = await foreman.waitForLine((l) => l.msg === 'worker disconnected' && l.workerId === 'big-sender', 'disconnect logged');
    expect(gone.code).toBe(1009);

    const stranger = await RawPeer.connect(foreman.wsUrl);
    stranger.sendRaw(Buffer.from([0xc1]));
    expect(await stranger.closed).toBe(CLOSE_CODES.invalidHello);
    const first = await foreman.waitForLine((l) => l.code === 'BAD_FRAME', 'bad first frame logged');
    expect(first).toMatchObject({ level: 40, closeCode: CLOSE_CODES.invalidHello, address: '127.0.0.1' });

    // Nothing at error level, and no stack traces, for a peer's mistakes.
    expect(foreman.lines.filter((l) => (l.level ?? 0) >= 50)).toEqual([]);
    expect(foreman.lines.filter((l) => l.code === 'FRAME_TOO_LARGE')).toHaveLength(1);
  });
});
