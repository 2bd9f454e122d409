/** Spilling: past the in-memory limit, queued tasks live only in the store and are paged back in, in dispatch order. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { closeLedgers, openLedger } from '../helpers/ledger.js';
import type { LiveTask } from '../../foreman/task-types.js';

const OPTIONS = { maxAttempts: 3, maxLosses: 3, retryBackoffMs: 1000, retryBackoffMaxMs: 60_000, hotQueueMax: 3 };

let dir: string;
const ledger = () => openLedger(join(dir, 'store.db'), OPTIONS);

/** Takes ready tasks of `type` one by one, as the dispatcher does, and returns their params. */
function dispatchAll(l: ReturnType<typeof ledger>, type = 'echo'): unknown[] {
  const out: unknown[] = [];
  for (let t = l.tm.peekReady(type); t; t = l.tm.peekReady(type)) {
    out.push(l.tm.assign(t as LiveTask, 'w1', Date.now()).params);
    l.commit.flush();
  }
  return out;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gaffer-spill-'));
});

afterEach(() => {
  closeLedgers();
  rmSync(dir, { recursive: true, force: true });
});

describe('TaskManager: spilling', () => {
  it('holds at most hotQueueMax queued tasks in memory, counts the rest, and dispatches all in order', async () => {
    const l = ledger();
    await l.tm.submit(Array.from({ length: 10 }, (_, n) => ({ type: 'echo', params: { n } })), 'j_1', { key: null, open: false });
    expect(l.tm.live.size).toBe(3);
    expect(l.tm.queues.size).toBe(10);
    expect(l.tm.queues.coldSize).toBe(7);
    expect(l.tm.counts.queued).toBe(10);
    expect(l.tm.jobs.get('j_1')?.counts.queued).toBe(10);
    expect(dispatchAll(l)).toEqual(Array.from({ length: 10 }, (_, n) => ({ n })));
    expect(l.tm.queues.size).toBe(0);
    expect(l.tm.counts).toMatchObject({ queued: 0, running: 10 });
  });

  it('pages in a spilled task that outranks every task held in memory', async () => {
    const l = ledger();
    await l.tm.submit(Array.from({ length: 5 }, (_, n) => ({ type: 'echo', params: { n } })), null);
    await l.tm.submit([{ type: 'echo', params: 'urgent', priority: 5 }], null);
    expect(l.tm.queues.coldSize).toBe(3);
    expect(dispatchAll(l)).toEqual(['urgent', { n: 0 }, { n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }]);
  });

  it('keeps spilled tasks spilled across a restart, and loads only the others', async () => {
    const before = ledger();
    await before.tm.submit(Array.from({ length: 8 }, (_, n) => ({ type: 'echo', params: { n } })), 'j_1', { key: null, open: false });
    closeLedgers();
    const after = ledger();
    expect(after.tm.live.size).toBe(3);
    expect(after.tm.queues.size).toBe(8);
    expect(after.tm.counts.queued).toBe(8);
    expect(after.tm.jobs.get('j_1')).toMatchObject({ total: 8, counts: { queued: 8 } });
    expect(dispatchAll(after)).toEqual(Array.from({ length: 8 }, (_, n) => ({ n })));
  });

  it('cancels a spilled task by id, and a whole job with spilled tasks', async () => {
    const l = ledger();
    const ids = await l.tm.submit(Array.from({ length: 6 }, (_, n) => ({ type: 'echo', params: { n } })), 'j_1', { key: null, open: false });
    expect(l.tm.live.has(ids[5])).toBe(false);
    expect(await l.tm.cancel(ids[5])).toBe('cancelled');
    expect(l.store.getTask(ids[5])?.state).toBe('cancelled');
    expect(l.tm.queues.size).toBe(5);
    expect(await l.tm.cancelJob('j_1')).toBe(5);
    expect(l.tm.queues.size).toBe(0);
    expect(l.tm.counts).toMatchObject({ queued: 0, cancelled: 6 });
    expect(l.tm.jobs.get('j_1')?.counts).toMatchObject({ queued: 0, cancelled: 6 });
    expect(l.tm.peekReady('echo')).toBeUndefined();
    closeLedgers();
    // Nothing is left spilled or queued after a restart either.
    const again = ledger();
    expect(again.tm.queues.size).toBe(0);
    expect(again.tm.counts).toMatchObject({ queued: 0, cancelled: 6 });
  });
});
