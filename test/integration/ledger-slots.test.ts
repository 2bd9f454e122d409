/**
 * Slots are freed only by what ends the attempt that holds them (issue 9.13): an accepted result,
 * a release, a loss or a cancel of that attempt. A late, duplicated or forged result is refused
 * and changes nothing, with a real foreman process and a hand-driven worker.
 */
import { describe, expect, it } from 'vitest';
import { startForeman } from '../helpers/processes.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { getTask, submit } from '../helpers/tasks.js';

describe('worker slots', () => {
  it('a refused result (stale attempt) does not free the slot of the attempt the worker runs', async () => {
    const foreman = await startForeman();
    const peer = await RawPeer.connect(foreman.wsUrl);
    peer.hello('slot-holder', { capacity: 1 });
    await peer.next((m) => m.kind === 'welcome');
    const a = await submit(foreman.api, { type: 'echo', params: 'a' });
    const assignA = await peer.next((m) => m.kind === 'task.assign');
    expect(assignA.tasks.map((t: any) => t.taskId)).toEqual([a]);

    // A forged result for an attempt the worker does not run: refused, and the slot stays taken.
    peer.send({ kind: 'task.result', results: [{ taskId: a, attempt: 2, outcome: 'succeeded', value: 'x', durationMs: 1 }] });
    const refused = await peer.next((m) => m.kind === 'task.ack' && m.results.some((k: any) => k.taskId === a && k.accepted === false));
    expect(refused.results[0].reason).toBe('stale attempt');

    const b = await submit(foreman.api, { type: 'echo', params: 'b' });
    expect((await getTask(foreman.api, b)).state).toBe('queued');

    // The real result frees the slot, and only then does the second task come.
    peer.send({ kind: 'task.result', results: [{ taskId: a, attempt: 1, outcome: 'succeeded', value: 'a', durationMs: 1 }] });
    const assignB = await peer.next((m) => m.kind === 'task.assign' && m.tasks.some((t: any) => t.taskId === b));
    const ackA = peer.received.findIndex((m) => m.kind === 'task.ack' && m.results.some((k: any) => k.taskId === a && k.accepted === true));
    expect(ackA).toBeGreaterThanOrEqual(0);
    expect(peer.received.indexOf(assignB)).toBeGreaterThan(ackA);
    expect((await getTask(foreman.api, a)).state).toBe('succeeded');
  });
});
