/** Checkpoints: a later attempt continues from the last state an earlier one saved; stale attempts cannot save. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FAST_LIVENESS } from '../helpers/fast-liveness.js';
import { spawnWorker, startForeman, tempDir } from '../helpers/processes.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { STORES, storeArgs } from '../helpers/stores.js';
import { getTask, settled, submit, waitForTask } from '../helpers/tasks.js';
import { waitFor } from '../helpers/wait-for.js';

const steps = (file: string) =>
  existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => l.split(' ').map(Number) as [number, number]) : [];

describe.each(STORES)('checkpoints (%s)', (store) => {
  it('a worker SIGKILLed at 55 of a count to 100: the next attempt starts from the checkpoint at 50 and the result is right', async () => {
    const foreman = await startForeman([...FAST_LIVENESS, '--grace-ms', '200', ...(await storeArgs(store))]);
    const a = await spawnWorker(foreman.wsUrl);
    const file = join(tempDir(), 'steps.txt');
    const id = await submit(foreman.api, { type: 'count-to', params: { to: 100, every: 10, stepMs: 40, file } });
    await waitFor(() => steps(file).some(([, n]) => n >= 55), 'attempt 1 at 55');
    a.kill('SIGKILL');
    const firstRun = steps(file);
    // Killed after the checkpoint at 50 and before the one at 60.
    expect(Math.max(...firstRun.map(([, n]) => n))).toBeLessThan(60);
    const view = await getTask(foreman.api, id);
    expect(view.checkpoint).toMatchObject({ attempt: 1, saves: 5 });
    expect(view.checkpoint.bytes).toBeGreaterThan(0);
    expect(view.checkpoint.savedAt).toBeGreaterThan(view.startedAt);

    await spawnWorker(foreman.wsUrl);
    const t = await waitForTask(foreman.api, id, settled, 'task settled', 30_000);
    expect(t.state).toBe('succeeded');
    expect(t.result).toEqual({ n: 100, startedFrom: 50, attempt: 2 });
    const second = steps(file).filter(([attempt]) => attempt === 2).map(([, n]) => n);
    expect(second[0]).toBe(51);
    expect(second).toHaveLength(50);
    expect(t.checkpoint).toMatchObject({ attempt: 2, saves: 10 });
  });

  it('refuses checkpoints of stale attempts, of other workers and over maxCheckpointBytes; a retry gets the last one', async () => {
    const foreman = await startForeman(['--max-checkpoint-bytes', '1024', '--retry-backoff-ms', '0', '--retry-backoff-max-ms', '0', ...(await storeArgs(store))]);
    const owner = await RawPeer.connect(foreman.wsUrl);
    owner.hello('owner');
    await owner.next((m) => m.kind === 'welcome');
    const id = await submit(foreman.api, { type: 'echo', params: { x: 1 } });
    const assign = await owner.next((m) => m.kind === 'task.assign');
    expect(assign.tasks[0]).not.toHaveProperty('checkpoint');
    const checkpoint = (attempt: number, seq: number, state: unknown) => ({ kind: 'task.checkpoint' as const, checkpoints: [{ taskId: id, attempt, seq, state }] });
    const ack = (peer: RawPeer, seq: number) => peer.next((m) => m.kind === 'checkpoint.ack' && m.checkpoints[0].seq === seq);

    owner.send(checkpoint(2, 1, { n: 1 }));
    expect((await ack(owner, 1)).checkpoints[0]).toMatchObject({ accepted: false, reason: 'stale attempt' });
    owner.send(checkpoint(1, 2, 'x'.repeat(2000)));
    expect((await ack(owner, 2)).checkpoints[0].reason).toMatch(/maxCheckpointBytes/);
    const other = await RawPeer.connect(foreman.wsUrl);
    other.hello('other', { skills: [{ type: 'something-else' }] });
    await other.next((m) => m.kind === 'welcome');
    other.send(checkpoint(1, 3, { n: 99 }));
    expect((await ack(other, 3)).checkpoints[0]).toMatchObject({ accepted: false, reason: 'not your task' });
    expect((await getTask(foreman.api, id)).checkpoint).toBeNull();

    owner.send(checkpoint(1, 4, { n: 7 }));
    expect((await ack(owner, 4)).checkpoints[0]).toMatchObject({ accepted: true });
    owner.send({ kind: 'task.result', results: [{ taskId: id, attempt: 1, outcome: 'failed', error: { code: 'HANDLER_ERROR', message: 'boom', retryable: true }, durationMs: 1 }] });
    const reassigned = await owner.next((m) => m.kind === 'task.assign' && m.tasks[0].attempt === 2);
    expect(reassigned.tasks[0].checkpoint).toMatchObject({ state: { n: 7 }, attempt: 1 });
    owner.send({ kind: 'task.result', results: [{ taskId: id, attempt: 2, outcome: 'succeeded', value: 'ok', durationMs: 1 }] });
    const t = await waitForTask(foreman.api, id, settled, 'settled');
    expect(t.checkpoint).toMatchObject({ attempt: 1, saves: 1 });
  });

  it('keeps an acknowledged checkpoint across a foreman SIGKILL and restart', async () => {
    const args = [...FAST_LIVENESS, '--restart-grace-ms', '200', ...(await storeArgs(store))];
    const foreman = await startForeman(args);
    const a = await spawnWorker(foreman.wsUrl);
    const file = join(tempDir(), 'steps.txt');
    const id = await submit(foreman.api, { type: 'count-to', params: { to: 60, every: 10, stepMs: 40, file } });
    // Past 35, so the checkpoint at 30 was acknowledged (the handler awaited it before step 31).
    await waitFor(() => steps(file).some(([, n]) => n >= 35), 'attempt 1 at 35');
    foreman.kill('SIGKILL');
    a.kill('SIGKILL');
    await foreman.exited();
    const restarted = await startForeman(args, { dbPath: foreman.dbPath });
    await spawnWorker(restarted.wsUrl);
    const t = await waitForTask(restarted.api, id, settled, 'task settled after the restart', 30_000);
    expect(t.result).toMatchObject({ n: 60, attempt: 2 });
    expect(t.result.startedFrom).toBeGreaterThanOrEqual(30);
    // Not from zero, and from no further than attempt 1 really got (a checkpoint in flight at the kill may be lost).
    expect(t.result.startedFrom).toBeLessThanOrEqual(Math.max(...steps(file).filter(([att]) => att === 1).map(([, n]) => n)));
    expect(steps(file).filter(([att]) => att === 2)[0][1]).toBe(t.result.startedFrom + 1);
  });
});
