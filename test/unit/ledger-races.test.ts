/**
 * Ledger operations that read and then act across a commit, over a real SQLite file (issue 9.14,
 * 9.15, 9.16, 9.19, 9.20): whatever lands between the read and the commit must not be missed,
 * lost, duplicated or shown before it is durable.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TaskResult } from '../../shared/protocol.js';
import type { LiveTask } from '../../foreman/task-types.js';
import { closeLedgers, openLedger, type Ledger } from '../helpers/ledger.js';

const OPTIONS = { maxAttempts: 1, maxLosses: 3, retryBackoffMs: 1000, retryBackoffMaxMs: 60_000, hotQueueMax: 60_000 };

let dir: string;
const ledger = (options: Partial<typeof OPTIONS> = {}): Ledger => openLedger(join(dir, 'store.db'), { ...OPTIONS, ...options });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gaffer-ledger-races-'));
});

afterEach(() => {
  closeLedgers();
  rmSync(dir, { recursive: true, force: true });
});

const success = (t: LiveTask, value: unknown = 'ok'): TaskResult => ({ taskId: t.id, attempt: t.attempt, outcome: 'succeeded', value, durationMs: 1 });
const permanent = (t: LiveTask): TaskResult => ({ taskId: t.id, attempt: t.attempt, outcome: 'failed', error: { code: 'PERMANENT', message: 'no', retryable: false }, durationMs: 1 });

/** Runs one task of `type` to the given result on worker w1; resolves once the outcome is durable. */
async function runTo(l: Ledger, type: string, result: (t: LiveTask) => TaskResult): Promise<void> {
  const t = l.tm.peekReady(type) as LiveTask;
  l.tm.assign(t, 'w1', Date.now());
  l.commit.flush();
  await new Promise<void>((resolve, reject) => {
    const reason = l.tm.acceptResult('w1', result(t), Date.now(), resolve);
    if (reason) reject(new Error(reason));
  });
}

describe('jobs: adding tasks against closing and cancelling', () => {
  it('a cancel acknowledged after an addition was accepted covers that addition (14)', async () => {
    const l = ledger();
    await l.tm.submit([], 'j_1', { key: null, open: true });
    const added = l.tm.submit([{ type: 'echo', params: 1 }], 'j_1');
    const cancelled = l.tm.cancelJob('j_1');
    const [id] = await added;
    expect(await cancelled).toBe(1);
    const job = l.tm.jobs.get('j_1')!;
    expect(job.counts.queued).toBe(0);
    expect(job.counts.cancelled).toBe(1);
    expect(l.tm.live.has(id)).toBe(false);
    expect(l.tm.queues.size).toBe(0);
    expect(l.store.getTask(id)?.state).toBe('cancelled');
    expect(l.tm.isJobComplete(job)).toBe(true);
    // And from the moment it was asked for, the job takes nothing more.
    await expect(l.tm.submit([{ type: 'echo' }], 'j_1')).rejects.toMatchObject({ code: 'JOB_CLOSED', statusCode: 409 });
  });

  it('a close waits for additions already accepted, and the job reads closed only once that is durable (14, 20)', async () => {
    const l = ledger();
    await l.tm.submit([], 'j_1', { key: null, open: true });
    const added = l.tm.submit([{ type: 'echo' }], 'j_1');
    const closing = l.tm.closeJob('j_1');
    const job = l.tm.jobs.get('j_1')!;
    // Not durable yet: a result stream must not end and `complete` must not show.
    expect(job.closedAt).toBeNull();
    expect(l.tm.isJobComplete(job)).toBe(false);
    await expect(l.tm.submit([{ type: 'echo' }], 'j_1')).rejects.toMatchObject({ code: 'JOB_CLOSED' });
    await added;
    await closing;
    expect(job.closedAt).not.toBeNull();
    expect(l.store.getJob('j_1')?.closedAt).toBe(job.closedAt);
    expect(job.total).toBe(1);
    expect(l.tm.isJobComplete(job)).toBe(false);
  });

  it('a cancel, too, shows the job cancelled only once that is durable (20)', async () => {
    const l = ledger();
    await l.tm.submit([{ type: 'echo' }], 'j_1', { key: null, open: false });
    const cancelling = l.tm.cancelJob('j_1');
    expect(l.tm.jobs.get('j_1')!.cancelledAt).toBeNull();
    await cancelling;
    expect(l.tm.jobs.get('j_1')!.cancelledAt).not.toBeNull();
    expect(l.store.getJob('j_1')?.cancelledAt).toBe(l.tm.jobs.get('j_1')!.cancelledAt);
  });
});

describe('a large spilled backlog', () => {
  it('is cancelled in the store in batches, without being read into memory (15, 16)', async () => {
    const l = ledger({ hotQueueMax: 50 });
    const n = 2600;
    await l.tm.submit(Array.from({ length: n }, (_, i) => ({ type: 'nobody', params: 'p'.repeat(2000) + i })), 'j_big', { key: null, open: false });
    expect(l.tm.queues.coldSize).toBe(n - 50);
    // The most tasks ever held in memory at once while the cancel runs.
    let mostLive = l.tm.live.size;
    const set = l.tm.live.set.bind(l.tm.live);
    l.tm.live.set = (k, v) => {
      set(k, v);
      mostLive = Math.max(mostLive, l.tm.live.size);
      return l.tm.live;
    };
    const cancelled = await l.tm.cancelJob('j_big');
    expect(cancelled).toBe(n);
    expect(mostLive).toBeLessThanOrEqual(50);
    expect(l.tm.live.size).toBe(0);
    expect(l.tm.queues.size).toBe(0);
    expect(l.tm.queues.coldSize).toBe(0);
    const job = l.tm.jobs.get('j_big')!;
    expect(job.counts.cancelled).toBe(n);
    expect(job.counts.queued).toBe(0);
    expect(l.tm.isJobComplete(job)).toBe(true);
    expect(l.settled).toHaveLength(n);
    expect(new Set(l.settled.map((t) => t.id)).size).toBe(n);
    expect(l.store.spill.counts().byType).toEqual([]);
    expect(l.tm.counts.cancelled).toBe(n);
    expect(l.tm.counts.queued).toBe(0);
  });

  it('cancelled tasks nobody could run are not kept by the ready queue (16)', async () => {
    const l = ledger();
    const n = 5000;
    await l.tm.submit(Array.from({ length: n }, () => ({ type: 'nobody' })), 'j_c', { key: null, open: false });
    expect(l.tm.queues.entries).toBe(n);
    await l.tm.cancelJob('j_c');
    expect(l.tm.queues.size).toBe(0);
    expect(l.tm.queues.entries).toBeLessThan(1100);
  });

  it('a page-in holds only small params; large ones are read when the task is assigned (16)', async () => {
    const l = ledger({ hotQueueMax: 2 });
    const big = 'x'.repeat(50_000);
    await l.tm.submit(Array.from({ length: 6 }, (_, i) => ({ type: 'echo', params: { big, i } })), null);
    const t = l.tm.peekReady('echo') as LiveTask;
    for (const held of l.tm.live.values()) expect(held.params).toBeUndefined();
    const a = l.tm.assign(t, 'w1', Date.now());
    expect(a.params).toEqual({ big, i: 0 });
  });

  it('retry-failed requeues in batches, reads no params, and spills beyond the in-memory bound (16)', async () => {
    const l = ledger({ hotQueueMax: 100 });
    const n = 300;
    await l.tm.submit(Array.from({ length: n }, (_, i) => ({ type: 'echo', params: 'q'.repeat(3000) + i })), 'j_f', { key: null, open: false });
    for (let i = 0; i < n; i++) await runTo(l, 'echo', permanent);
    expect(l.tm.jobs.get('j_f')!.counts.failed).toBe(n);
    expect(await l.tm.retryFailed('j_f')).toBe(n);
    expect(l.tm.live.size).toBeLessThanOrEqual(100);
    for (const t of l.tm.live.values()) expect(t.params).toBeUndefined();
    expect(l.tm.queues.size).toBe(n);
    expect(l.tm.jobs.get('j_f')!.counts.queued).toBe(n);
    // Every retried task still runs, with its params read back at assignment.
    const seen = new Set<unknown>();
    for (let t = l.tm.peekReady('echo'); t; t = l.tm.peekReady('echo')) {
      seen.add(l.tm.assign(t, 'w1', Date.now()).params);
      l.commit.flush();
    }
    expect(seen.size).toBe(n);
  });
});

describe('retry and cancel against commits in flight', () => {
  it('a retry racing the retention purge (purge first) creates no ghost (19)', async () => {
    const l = ledger();
    await l.tm.submit([{ type: 'echo' }, { type: 'echo' }], 'j_1', { key: null, open: false });
    await runTo(l, 'echo', permanent);
    await runTo(l, 'echo', permanent);
    const [a, b] = l.store.searchTasks({ jobId: 'j_1' }, 0, 10).map((r) => r.id);
    const purged = l.tm.purge(Date.now() + 1, 10);
    const retriedOne = l.tm.retry(a);
    const retriedJob = l.tm.retryFailed('j_1');
    expect(await purged).toBe(2);
    expect(await retriedOne).toBeNull();
    expect(await retriedJob).toBe(0);
    expect(l.tm.live.size).toBe(0);
    expect(l.tm.queues.size).toBe(0);
    expect(l.tm.counts.failed).toBe(0);
    expect(l.tm.counts.queued).toBe(0);
    expect(l.store.getTask(b)).toBeNull();
  });

  it('a cancel between a result and its commit answers the settled state (20)', async () => {
    const l = ledger();
    const [id] = await l.tm.submit([{ type: 'echo' }], null);
    const t = l.tm.peekReady('echo') as LiveTask;
    l.tm.assign(t, 'w1', Date.now());
    l.commit.flush();
    expect(l.tm.acceptResult('w1', success(t), Date.now(), () => {})).toBeNull();
    expect(await l.tm.cancel(id)).toBe('succeeded');
  });

  it('a submission waiting on another one\'s key still succeeds when that one fails its commit (20)', async () => {
    const l = ledger();
    await l.tm.submit([{ type: 'echo', key: 'job-a-task' }], 'j_a', { key: 'job-key', open: false });
    // The loser's job key is taken: its commit fails. The bystander shares one task key with it.
    const loser = l.tm.submit([{ type: 'echo', key: 'shared' }], 'j_b', { key: 'job-key', open: false });
    const bystander = l.tm.submit([{ type: 'echo' }, { type: 'echo', key: 'shared' }], null);
    await expect(loser).rejects.toThrow(/UNIQUE/);
    const ids = await bystander;
    expect(new Set(ids).size).toBe(2);
    expect(l.store.getTaskByKey('shared')?.id).toBe(ids[1]);
    expect(l.tm.counts.queued).toBe(3);
  });
});

describe('a keyed task submitted again into another job (2)', () => {
  it('counts in the new job and appears in its results, settled or not, and after a restart', async () => {
    const l = ledger();
    await l.tm.submit([{ type: 'echo', key: 'k1', params: 1 }, { type: 'echo', key: 'k2', params: 2 }], 'j_a', { key: null, open: false });
    await runTo(l, 'echo', (t) => success(t, 'one'));
    const ids = await l.tm.submit([{ type: 'echo', key: 'k1', params: 1 }, { type: 'echo', key: 'k2', params: 2 }, { type: 'echo', params: 3 }], 'j_b', { key: null, open: false });
    const b = l.tm.jobs.get('j_b')!;
    expect(b.total).toBe(3);
    expect(b.counts).toMatchObject({ succeeded: 1, queued: 2 });
    expect(l.tm.isJobComplete(b)).toBe(false);
    expect([...l.store.settledOfJob('j_b')].map((r) => r.id)).toEqual([ids[0]]);
    // The shared task settles: both jobs see it, and its announcement names the other job.
    await runTo(l, 'echo', (t) => success(t, 'two'));
    await runTo(l, 'echo', (t) => success(t, 'three'));
    expect(b.counts).toMatchObject({ succeeded: 3, queued: 0 });
    expect(l.tm.isJobComplete(b)).toBe(true);
    expect(l.tm.isJobComplete(l.tm.jobs.get('j_a')!)).toBe(true);
    expect(l.settled.find((t) => t.id === ids[1])?.alsoJobs).toEqual(['j_b']);
    expect(new Set([...l.store.settledOfJob('j_b')].map((r) => r.id))).toEqual(new Set(ids));
    // Twice in one submission, or again in the same job, it counts once.
    await l.tm.submit([{ type: 'echo', key: 'k1', params: 1 }, { type: 'echo', key: 'k1', params: 1 }], 'j_c', { key: null, open: true });
    await l.tm.submit([{ type: 'echo', key: 'k1', params: 1 }], 'j_c');
    expect(l.tm.jobs.get('j_c')!.total).toBe(1);
    closeLedgers();
    const again = ledger();
    const b2 = again.tm.jobs.get('j_b')!;
    expect(b2.total).toBe(3);
    expect(b2.counts.succeeded).toBe(3);
    expect(again.tm.isJobComplete(b2)).toBe(true);
    expect(again.tm.jobs.get('j_a')!.total).toBe(2);
    expect(again.tm.jobs.get('j_c')!.total).toBe(1);
  });
});
