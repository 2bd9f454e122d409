/**
 * Batched frames are split by bytes as well as by count, in both directions, so no frame goes over
 * the foreman's `maxFrameBytes` (announced in `welcome`); an item too large for any frame fails its
 * task with PAYLOAD_TOO_LARGE instead of closing the session (1009) again and again.
 */
import { describe, expect, it } from 'vitest';
import { spawnWorker, startForeman } from '../helpers/processes.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { settled, submit, waitForTask } from '../helpers/tasks.js';

const MiB = 1024 * 1024;

describe('frame size', () => {
  it('splits assignments by bytes, announces the limit in welcome, and fails an assignment too large for any frame', async () => {
    const foreman = await startForeman(['--max-frame-bytes', String(MiB), '--max-params-bytes', String(MiB), '--max-result-bytes', String(MiB)]);
    const peer = await RawPeer.connect(foreman.wsUrl);
    const sizes: number[] = [];
    peer.socket.on('message', (data: Buffer) => sizes.push(data.length));
    peer.hello('greedy', { skills: [{ type: 'big' }], capacity: 100 });
    const welcome = await peer.next((m) => m.kind === 'welcome');
    expect(welcome.maxFrameBytes).toBe(MiB);
    // Ten assignments of 300 KB each: 3 MB in all, over three times the frame limit.
    const ids = await Promise.all(Array.from({ length: 10 }, () => submit(foreman.api, { type: 'big', params: 'p'.repeat(300_000) })));
    const got = new Set<string>();
    await peer.next((m) => {
      if (m.kind === 'task.assign') for (const t of m.tasks) got.add(t.taskId);
      return got.size === ids.length;
    });
    expect(Math.max(...sizes)).toBeLessThanOrEqual(MiB);

    // Params at the params limit are accepted (202), but their assignment cannot fit in a frame: the task fails.
    const huge = await submit(foreman.api, { type: 'big', params: 'p'.repeat(MiB - 16) });
    const t = await waitForTask(foreman.api, huge, settled, 'oversized assignment settled');
    expect(t).toMatchObject({ state: 'failed', error: { code: 'PAYLOAD_TOO_LARGE', retryable: false } });
    expect(t.error.message).toContain('maxFrameBytes');
    expect(peer.closeCode).toBeNull();
  });

  it('splits results by bytes on the worker, and fails a result too large for any frame, without a reconnect loop', async () => {
    const foreman = await startForeman(['--max-frame-bytes', String(MiB), '--max-params-bytes', String(MiB), '--max-result-bytes', String(MiB)]);
    const worker = await spawnWorker(foreman.wsUrl, { concurrency: 10 });
    // Ten results of 300 KB finishing in the same turn: one frame of 3 MB before the fix.
    const ids = await Promise.all(Array.from({ length: 10 }, () => submit(foreman.api, { type: 'sized-result', params: { bytes: 300_000, together: 10 } })));
    for (const id of ids) {
      const t = await waitForTask(foreman.api, id, settled, `task ${id} settled`);
      expect(t.state, id).toBe('succeeded');
      expect(t.result).toHaveLength(300_000);
    }
    const tooBig = await submit(foreman.api, { type: 'sized-result', params: { bytes: 2 * MiB } });
    const t = await waitForTask(foreman.api, tooBig, settled, 'oversized result settled');
    expect(t).toMatchObject({ state: 'failed', error: { code: 'PAYLOAD_TOO_LARGE', retryable: false } });
    // The session was never closed for a frame too big.
    expect(worker.lines.filter((l) => l.msg === 'lost the foreman; reconnecting')).toEqual([]);
  });
});
