/**
 * The edges PROTOCOL.md documents, each checked against a real foreman with a hand-driven peer:
 * group limits of 0, slots held by cancelling attempts, a cancel for a result already held,
 * a stale session token, progress outside [0, 1], a bad item in a batch, and which msgpack
 * values survive the HTTP API.
 */
import { describe, expect, it } from 'vitest';
import { encodeValue } from '../../shared/codec.js';
import { startForeman } from '../helpers/processes.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { getTask, settled, submit, waitForTask } from '../helpers/tasks.js';
import { waitFor } from '../helpers/wait-for.js';

async function registered(url: string, id: string, extra: Parameters<RawPeer['hello']>[1] = {}): Promise<RawPeer> {
  const p = await RawPeer.connect(url);
  p.hello(id, extra);
  await p.next((m) => m.kind === 'welcome');
  return p;
}

const assigned = (p: RawPeer): string[] => p.received.filter((m) => m.kind === 'task.assign').flatMap((m) => m.tasks.map((t: any) => t.taskId));

describe('documented protocol edges', () => {
  it('groupLimits 0 means no task of that group at all', async () => {
    const foreman = await startForeman();
    const p = await registered(foreman.wsUrl, 'no-gpu', { skills: [{ type: 'gpu-a', group: 'gpu' }, { type: 'echo' }], capacity: 4, groupLimits: { gpu: 0 } });
    const gpu = await submit(foreman.api, { type: 'gpu-a' });
    const echo = await submit(foreman.api, { type: 'echo' });
    await p.next((m) => m.kind === 'task.assign' && m.tasks.some((t: any) => t.taskId === echo));
    expect(assigned(p)).not.toContain(gpu);
    expect((await getTask(foreman.api, gpu)).state).toBe('queued');
  });

  it('a cancelling attempt keeps its slot until its result; a cancel for a result already held records the task cancelled', async () => {
    const foreman = await startForeman();
    const p = await registered(foreman.wsUrl, 'one-slot', { skills: [{ type: 'echo' }], capacity: 1 });
    const a = await submit(foreman.api, { type: 'echo', params: 'a' });
    await p.next((m) => m.kind === 'task.assign' && m.tasks[0].taskId === a);
    await foreman.api.request('POST', `/tasks/${a}/cancel`);
    await p.next((m) => m.kind === 'task.cancel' && m.tasks[0].taskId === a);
    const b = await submit(foreman.api, { type: 'echo', params: 'b' });
    // The slot is still held by a's cancelling attempt: b waits. Then a's result (here a success the
    // worker held before the cancel reached it) is accepted and recorded as cancelled, and b follows.
    expect((await getTask(foreman.api, b)).state).toBe('queued');
    expect(assigned(p)).not.toContain(b);
    p.send({ kind: 'task.result', results: [{ taskId: a, attempt: 1, outcome: 'succeeded', value: 'a', durationMs: 1 }] });
    const ack = await p.next((m) => m.kind === 'task.ack' && m.results[0].taskId === a);
    expect(ack.results[0].accepted).toBe(true);
    await p.next((m) => m.kind === 'task.assign' && m.tasks[0].taskId === b);
    expect(await waitForTask(foreman.api, a, settled, 'a settled')).toMatchObject({ state: 'cancelled' });
  });

  it('a stale sessionToken (from before a foreman restart) is ignored when no session holds the id', async () => {
    const foreman = await startForeman();
    const p = await RawPeer.connect(foreman.wsUrl);
    p.hello('returning', { sessionToken: 'token-from-a-foreman-that-restarted' });
    const welcome = await p.next((m) => m.kind === 'welcome');
    expect(welcome.sessionToken).not.toBe('token-from-a-foreman-that-restarted');
  });

  it('clamps progress outside [0, 1], and refuses a bad item of a batch alone, naming it, while the good items are taken', async () => {
    const foreman = await startForeman();
    const p = await registered(foreman.wsUrl, 'batcher', { skills: [{ type: 'echo' }], capacity: 3 });
    const ids = await Promise.all([1, 2, 3].map((n) => submit(foreman.api, { type: 'echo', params: n })));
    await waitFor(() => ids.every((id) => assigned(p).includes(id)), 'three assignments');
    p.send({ kind: 'task.progress', updates: [{ taskId: ids[0], attempt: 1, fraction: 5 }, { taskId: ids[1], attempt: 1, fraction: -2 }] });
    await waitFor(async () => (await getTask(foreman.api, ids[0])).progress?.fraction === 1, 'progress clamped to 1');
    expect((await getTask(foreman.api, ids[1])).progress.fraction).toBe(0);

    // Item 1 has a negative attempt: it alone is refused; items 0 and 2 are recorded and acknowledged.
    p.sendRaw(encodeValue({
      kind: 'task.result',
      results: [
        { taskId: ids[0], attempt: 1, outcome: 'succeeded', value: 'ok0', durationMs: 1 },
        { taskId: ids[1], attempt: -1, outcome: 'succeeded', value: 'bad', durationMs: 1 },
        { taskId: ids[2], attempt: 1, outcome: 'succeeded', value: 'ok2', durationMs: 1 },
      ],
    }));
    const err = await p.next((m) => m.kind === 'error');
    expect(err.code).toBe('INVALID_MESSAGE');
    expect(err.message).toContain(`task.result.results[1].attempt must be a non-negative integer (task ${ids[1]} attempt -1)`);
    expect(err.message).toContain('1 of 3 items refused');
    await waitFor(() => p.received.filter((m) => m.kind === 'task.ack').flatMap((m) => m.results).filter((r: any) => r.accepted).length === 2, 'two acks');
    expect((await waitForTask(foreman.api, ids[2], settled, 'item 2 settled')).result).toBe('ok2');
    expect((await getTask(foreman.api, ids[1])).state).toBe('running');
  });

  it('turns results into JSON on the HTTP API: integer map keys become strings, NaN null, binary a Buffer object', async () => {
    const foreman = await startForeman();
    const p = await registered(foreman.wsUrl, 'msgpack', { skills: [{ type: 'echo' }], capacity: 1 });
    const id = await submit(foreman.api, { type: 'echo' });
    await p.next((m) => m.kind === 'task.assign');
    // Written by hand: an integer-keyed map, a NaN and a bin value, which JSON cannot hold as they are.
    const value = Buffer.concat([Buffer.from([0x83, 0x01, 0xa1, 0x61, 0xa3, 0x6e, 0x61, 0x6e, 0xcb]), Buffer.from([0x7f, 0xf8, 0, 0, 0, 0, 0, 0]), Buffer.from([0xa3, 0x62, 0x69, 0x6e, 0xc4, 0x02, 0x01, 0x02])]);
    const head = encodeValue({ kind: 'task.result', results: [{ taskId: id, attempt: 1, outcome: 'succeeded', durationMs: 1, value: null }] });
    // Splice the hand-written value in place of the nil (0xc0) that encodeValue wrote for `value`.
    const at = head.indexOf(Buffer.from([0xa5, 0x76, 0x61, 0x6c, 0x75, 0x65, 0xc0])) + 6;
    p.sendRaw(Buffer.concat([head.subarray(0, at), value, head.subarray(at + 1)]));
    const t = await waitForTask(foreman.api, id, settled, 'settled');
    expect(t.result).toEqual({ 1: 'a', nan: null, bin: { type: 'Buffer', data: [1, 2] } });
  });
});
