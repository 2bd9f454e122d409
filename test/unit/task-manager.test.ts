/** The task ledger over a real SQLite file: idempotent submission, fencing, retries with backoff, and losses counted apart. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { TaskResult } from '../../shared/protocol.js';
import { closeLedgers, openLedger, type Ledger } from '../helpers/ledger.js';
import type { LiveTask, TaskInput } from '../../foreman/task-types.js';

const OPTIONS = { maxAttempts: 3, maxLosses: 3, retryBackoffMs: 1000, retryBackoffMaxMs: 60_000, hotQueueMax: 60_000 };

let dir: string;
let file: string;
/** Opens (or reopens) the ledger on the test's database file. */
const ledger = (options: Partial<typeof OPTIONS> = {}): Ledger => openLedger(file, { ...OPTIONS, ...options });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gaffer-task-manager-'));
  file = join(dir, 'store.db');
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  closeLedgers();
  rmSync(dir, { recursive: true, force: true });
});

/** Reads rows through a separate connection, so only committed state is seen. */
function committed<T = Record<string, unknown>>(sql: string, ...params: unknown[]): T[] {
  const reader = new Database(file, { readonly: true });
  try {
    return reader.prepare(sql).all(...params) as T[];
  } finally {
    reader.close();
  }
}

async function submitOne(l: Ledger, input: TaskInput = { type: 'echo', params: { x: 1 } }): Promise<LiveTask> {
  const [id] = await l.tm.submit([input], null);
  return l.tm.live.get(id) as LiveTask;
}

/** Takes the task from the queue and starts an attempt on `workerId`, as the dispatcher does. */
function assign(l: Ledger, task: LiveTask, workerId: string, now = Date.now()) {
  expect(l.tm.queues.peek(task.type)).toBe(task);
  const assignment = l.tm.assign(task, workerId, now);
  l.commit.flush();
  return assignment;
}

const success = (task: LiveTask, attempt: number, value: unknown = 'ok'): TaskResult => ({ taskId: task.id, attempt, outcome: 'succeeded', value, durationMs: 1 });
const failure = (task: LiveTask, attempt: number, retryable: boolean, code = retryable ? 'HANDLER_ERROR' : 'PERMANENT'): TaskResult => ({
  taskId: task.id,
  attempt,
  outcome: 'failed',
  error: { code, message: `${code} on attempt ${attempt}`, retryable },
  durationMs: 1,
});

/** Offers a result; resolves when it is durable, and rejects if it is refused. */
function accept(l: Ledger, workerId: string, r: TaskResult, now = Date.now()): Promise<void> {
  return new Promise((resolve, reject) => {
    const reason = l.tm.acceptResult(workerId, r, now, resolve);
    if (reason !== null) reject(new Error(`result rejected: ${reason}`));
  });
}

/** Offers a result that must be refused, and returns why. */
const refusal = (l: Ledger, workerId: string, r: TaskResult) => l.tm.acceptResult(workerId, r, Date.now(), () => expect.unreachable('refused results are never durable'));

const row = (id: string) => committed<Record<string, any>>('SELECT * FROM tasks WHERE id = ?', id)[0];


describe('TaskManager: submission', () => {
  it('resolves only once the task is durable, then queues it and signals onReady', async () => {
    const l = ledger();
    const p = l.tm.submit([{ type: 'echo', params: { n: 1 }, priority: 4 }], null);
    expect(committed('SELECT id FROM tasks')).toEqual([]);
    const [id] = await p;
    expect(row(id)).toMatchObject({ id, type: 'echo', state: 'queued', priority: 4, max_attempts: OPTIONS.maxAttempts });
    expect(l.store.getTask(id)?.params).toEqual({ n: 1 });
    expect(l.tm.queues.peek('echo')?.id).toBe(id);
    expect(l.tm.counts.queued).toBe(1);
    expect(l.hooks.onReady).toHaveBeenCalled();
  });

  it('an idempotency key returns the same task for a second submission of the same task', async () => {
    const l = ledger();
    const [first] = await l.tm.submit([{ type: 'echo', key: 'order-42', params: { n: 1 } }], null);
    const [second] = await l.tm.submit([{ type: 'echo', key: 'order-42', params: { n: 1 } }], null);
    expect(second).toBe(first);
    // The same key with other params or another type is a conflict, not a silent drop (issue 9.2).
    await expect(l.tm.submit([{ type: 'echo', key: 'order-42', params: 'different' }], null)).rejects.toMatchObject({ code: 'KEY_CONFLICT', statusCode: 409, field: 'body/0/key' });
    await expect(l.tm.submit([{ type: 'other', params: 1 }, { type: 'other', key: 'order-42', params: { n: 1 } }], null)).rejects.toMatchObject({ code: 'KEY_CONFLICT', field: 'body/1/key' });
    expect(committed('SELECT id FROM tasks')).toEqual([{ id: first }]);
    expect(l.tm.live.size).toBe(1);
    expect(l.tm.queues.size).toBe(1);
    expect(l.tm.counts.queued).toBe(1);
  });

  it('two submissions with one key racing in the same turn get one task', async () => {
    const l = ledger();
    const a = l.tm.submit([{ type: 'echo', key: 'race' }], null);
    const b = l.tm.submit([{ type: 'echo', key: 'race' }], null);
    const [[idA], [idB]] = await Promise.all([a, b]);
    expect(idB).toBe(idA);
    expect(committed(`SELECT id FROM tasks WHERE idem_key = 'race'`)).toEqual([{ id: idA }]);
    expect(l.tm.queues.size).toBe(1);
    expect(l.tm.counts.queued).toBe(1);
  });

  it('mixes keyed duplicates and fresh tasks in one submission, keeping positions', async () => {
    const l = ledger();
    const [existing] = await l.tm.submit([{ type: 'echo', key: 'k1' }], null);
    const ids = await l.tm.submit([{ type: 'echo' }, { type: 'echo', key: 'k1' }, { type: 'echo', key: 'k2' }], null);
    expect(ids[1]).toBe(existing);
    expect(new Set(ids).size).toBe(3);
    expect(committed('SELECT count(*) AS n FROM tasks')).toEqual([{ n: 3 }]);
  });

  it('a submission whose commit fails rejects to its caller only, with no unhandled rejection (job-key race)', async () => {
    // An unhandled rejection ends a Node process: it must never come from a failed submission.
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const l = ledger();
      const winner = l.tm.submit([{ type: 'echo', key: 'task-a' }], 'j_1', { key: 'job-key', open: false });
      const loser = l.tm.submit([{ type: 'echo', key: 'task-b' }], 'j_2', { key: 'job-key', open: false });
      const [winnerId] = await winner;
      await expect(loser).rejects.toThrow(/UNIQUE/);
      await new Promise<void>((resolve) => setImmediate(resolve));
      await new Promise<void>((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
      expect(committed('SELECT id FROM tasks')).toEqual([{ id: winnerId }]);
      // The loser's task key is free again.
      const [b] = await l.tm.submit([{ type: 'echo', key: 'task-b' }], null);
      expect(row(b).idem_key).toBe('task-b');
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('two tasks with the same key in one submission (one job) become one task', async () => {
    const l = ledger();
    const ids = await l.tm.submit([{ type: 'echo', key: 'dup' }, { type: 'echo', key: 'dup' }], 'j_1', { key: null, open: false });
    expect(ids[1]).toBe(ids[0]);
    expect(committed(`SELECT id FROM tasks WHERE idem_key = 'dup'`)).toEqual([{ id: ids[0] }]);
  });

  it('an idempotency key still names the original task after a restart', async () => {
    const before = ledger();
    const [id] = await before.tm.submit([{ type: 'echo', key: 'survives' }], null);
    closeLedgers();
    const after = ledger();
    expect(after.tm.live.get(id)?.state).toBe('queued');
    const [again] = await after.tm.submit([{ type: 'echo', key: 'survives' }], null);
    expect(again).toBe(id);
    expect(committed('SELECT count(*) AS n FROM tasks')).toEqual([{ n: 1 }]);
    // New tasks continue the sequence rather than reusing it.
    const [other] = await after.tm.submit([{ type: 'echo' }], null);
    expect(row(other).seq).toBeGreaterThan(row(id).seq);
  });
});

describe('TaskManager: assignment and fencing', () => {
  it('gives each assignment the next attempt number and makes it durable', async () => {
    const l = ledger();
    const task = await submitOne(l);
    const a = assign(l, task, 'w1');
    expect(a).toMatchObject({ taskId: task.id, jobId: null, type: 'echo', attempt: 1, priority: 0, params: { x: 1 }, timeoutMs: null });
    expect(row(task.id)).toMatchObject({ state: 'running', attempt: 1, worker_id: 'w1' });
    expect(l.tm.owns('w1', { taskId: task.id, attempt: 1 })).toBe(true);
    expect(l.tm.owns('w2', { taskId: task.id, attempt: 1 })).toBe(false);
    expect(l.tm.owns('w1', { taskId: task.id, attempt: 2 })).toBe(false);
    expect(l.tm.counts).toMatchObject({ queued: 0, running: 1 });
  });

  it('rejects a result for a stale attempt and accepts the current one exactly once', async () => {
    const l = ledger();
    const task = await submitOne(l);
    assign(l, task, 'w1');
    // w1 goes silent; its attempt is lost and the task runs again on w2.
    l.tm.lose([task], Date.now());
    const a2 = assign(l, task, 'w2');
    expect(a2.attempt).toBe(2);
    expect(a2.params).toEqual({ x: 1 });

    // w1 wakes up and reports its old attempt: fenced off, never recorded.
    expect(refusal(l, 'w1', success(task, 1, 'late'))).toBe('stale attempt');
    // Claiming the current attempt number does not help a worker that does not hold it.
    expect(refusal(l, 'w1', success(task, 2, 'forged'))).toBe('not your task');
    l.commit.flush();
    expect(row(task.id)).toMatchObject({ state: 'running', attempt: 2, worker_id: 'w2', result: null });

    await accept(l, 'w2', success(task, 2, { answer: 42 }));
    expect(row(task.id)).toMatchObject({ state: 'succeeded', attempt: 2 });
    expect(l.store.getTask(task.id)?.result).toEqual({ answer: 42 });

    // A duplicate of the accepted result (resent after a reconnect) is rejected and changes nothing.
    expect(refusal(l, 'w2', failure(task, 2, false))).toBe('already settled');
    expect(l.store.getTask(task.id)).toMatchObject({ state: 'succeeded', result: { answer: 42 }, error: null });
    expect(l.settled.map((s) => [s.id, s.state, s.attempt, s.workerId])).toEqual([[task.id, 'succeeded', 2, 'w2']]);

    expect(l.store.getAttempts(row(task.id).seq).map((a) => [a.attempt, a.workerId, a.outcome, a.error?.code ?? null])).toEqual([
      [1, 'w1', 'lost', 'WORKER_LOST'],
      [2, 'w2', 'succeeded', null],
    ]);
  });

  it('a second result for the same attempt before the first is committed records nothing new and is acknowledged with that commit', async () => {
    const l = ledger();
    const task = await submitOne(l);
    assign(l, task, 'w1');
    const first = accept(l, 'w1', success(task, 1, 'first'));
    // The worker resent it (it reconnected): refusing it as settled would make it drop a result not yet durable (issue 9.20).
    const resent = accept(l, 'w1', success(task, 1, 'second'));
    expect(refusal(l, 'w2', success(task, 1, 'forged'))).toBe('already settled');
    await Promise.all([first, resent]);
    expect(l.store.getTask(task.id)?.result).toBe('first');
    expect(l.settled).toHaveLength(1);
    expect(refusal(l, 'w1', success(task, 1, 'third'))).toBe('already settled');
  });

  it('tells "already settled" from "unknown task"', async () => {
    const l = ledger();
    const task = await submitOne(l);
    assign(l, task, 'w1');
    await accept(l, 'w1', success(task, 1));
    expect(refusal(l, 'w1', success(task, 1))).toBe('already settled');
    expect(refusal(l, 'w1', { ...success(task, 1), taskId: 't_nope' })).toBe('unknown task');
  });

  it('signals onSettled only after the outcome is durable', async () => {
    const l = ledger();
    const task = await submitOne(l);
    assign(l, task, 'w1');
    const durable = accept(l, 'w1', success(task, 1));
    expect(l.settled).toEqual([]);
    await durable;
    expect(l.settled).toHaveLength(1);
    expect(row(task.id).state).toBe('succeeded');
  });

  it('stores a custom status with a success', async () => {
    const l = ledger();
    const task = await submitOne(l);
    assign(l, task, 'w1');
    await accept(l, 'w1', { ...success(task, 1, { score: 0.4 }), status: 'needs_review' });
    expect(l.store.getTask(task.id)).toMatchObject({ state: 'succeeded', status: 'needs_review', result: { score: 0.4 } });
  });
});

describe('TaskManager: failures and retries', () => {
  it('requeues a transient failure after a backoff, and the delay timer makes it ready again', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const l = ledger();
    const task = await submitOne(l);
    assign(l, task, 'w1');
    const now = Date.now();
    l.hooks.onReady.mockClear();
    await accept(l, 'w1', failure(task, 1, true), now);

    // Backoff after the first failure: random in [base/2, base].
    expect(task.runAt).toBeGreaterThanOrEqual(now + OPTIONS.retryBackoffMs / 2);
    expect(task.runAt).toBeLessThanOrEqual(now + OPTIONS.retryBackoffMs);
    expect(task).toMatchObject({ state: 'queued', failures: 1, losses: 0, workerId: null });
    expect(row(task.id)).toMatchObject({ state: 'queued', failures: 1, run_at: task.runAt });
    expect(l.store.getTask(task.id)?.error).toEqual({ code: 'HANDLER_ERROR', message: 'HANDLER_ERROR on attempt 1', retryable: true });
    expect(l.store.getAttempts(row(task.id).seq)[0]).toMatchObject({ attempt: 1, outcome: 'failed' });

    // Not dispatchable before its time.
    expect(l.tm.queues.peek('echo')).toBeUndefined();
    vi.advanceTimersByTime(task.runAt - now - 1);
    expect(l.tm.queues.peek('echo')).toBeUndefined();
    expect(l.hooks.onReady).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(l.hooks.onReady).toHaveBeenCalledTimes(1);
    expect(l.tm.queues.peek('echo')).toBe(task);

    const a2 = assign(l, task, 'w2');
    expect(a2.attempt).toBe(2);
    expect(a2.params).toEqual({ x: 1 });
  });

  it('grows the backoff with each failure', async () => {
    const l = ledger({ maxAttempts: 10 });
    vi.spyOn(Math, 'random').mockReturnValue(0.999999);
    const task = await submitOne(l);
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 4; attempt++) {
      task.runAt = 0; // make it ready without waiting
      l.tm.queues.promoteDue(Number.MAX_SAFE_INTEGER);
      assign(l, task, 'w1');
      const now = Date.now();
      await accept(l, 'w1', failure(task, attempt, true), now);
      delays.push(task.runAt - now);
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000]);
  });

  it('fails a task after its last allowed attempt, with the last error', async () => {
    const l = ledger({ maxAttempts: 2 });
    const task = await submitOne(l);
    assign(l, task, 'w1');
    await accept(l, 'w1', failure(task, 1, true));
    l.tm.queues.promoteDue(task.runAt);
    assign(l, task, 'w1');
    await accept(l, 'w1', failure(task, 2, true, 'FLAKY'));
    expect(row(task.id)).toMatchObject({ state: 'failed', failures: 2 });
    // The final failure says nothing will retry it, though the error itself was transient.
    expect(l.store.getTask(task.id)?.error).toEqual({ code: 'FLAKY', message: 'FLAKY on attempt 2', retryable: false });
    expect(l.settled.map((s) => [s.state, s.error?.code])).toEqual([['failed', 'FLAKY']]);
    expect(l.tm.live.has(task.id)).toBe(false);
    expect(l.tm.counts).toMatchObject({ failed: 1, queued: 0, running: 0 });
  });

  it('fails a permanent error at once, whatever attempts are left', async () => {
    const l = ledger({ maxAttempts: 5 });
    const task = await submitOne(l);
    assign(l, task, 'w1');
    await accept(l, 'w1', failure(task, 1, false));
    expect(row(task.id)).toMatchObject({ state: 'failed', failures: 1, attempt: 1 });
    expect(l.store.getTask(task.id)?.error?.code).toBe('PERMANENT');
    expect(l.tm.queues.size).toBe(0);
  });

  it('treats a failure without an error as a retryable HANDLER_ERROR', async () => {
    const l = ledger();
    const task = await submitOne(l);
    assign(l, task, 'w1');
    await accept(l, 'w1', { taskId: task.id, attempt: 1, outcome: 'failed', durationMs: 1 });
    expect(task).toMatchObject({ state: 'queued', failures: 1 });
    expect(l.store.getTask(task.id)?.error).toMatchObject({ code: 'HANDLER_ERROR', retryable: true });
  });
});

describe('TaskManager: lost attempts', () => {
  it('counts a lost attempt as a loss, not a failure, and requeues it at once', async () => {
    const l = ledger();
    const task = await submitOne(l);
    assign(l, task, 'w1');
    l.hooks.onReady.mockClear();
    l.tm.lose([task], Date.now());
    l.commit.flush();
    expect(task).toMatchObject({ state: 'queued', losses: 1, failures: 0, workerId: null });
    expect(l.tm.queues.peek('echo')).toBe(task);
    expect(l.hooks.onReady).toHaveBeenCalled();
    expect(row(task.id)).toMatchObject({ state: 'queued', losses: 1, failures: 0 });
    expect(l.store.getTask(task.id)?.error?.code).toBe('WORKER_LOST');
  });

  it('losses do not use up maxAttempts', async () => {
    const l = ledger({ maxAttempts: 1, maxLosses: 5 });
    const task = await submitOne(l);
    for (let i = 1; i <= 3; i++) {
      assign(l, task, `w${i}`);
      l.tm.lose([task], Date.now());
    }
    const a = assign(l, task, 'w4');
    expect(a.attempt).toBe(4);
    await accept(l, 'w4', success(task, 4, 'finally'));
    expect(row(task.id)).toMatchObject({ state: 'succeeded', losses: 3, failures: 0 });
  });

  it('fails a task lost maxLosses times with TOO_MANY_LOSSES, not before', async () => {
    const l = ledger({ maxLosses: 3 });
    const task = await submitOne(l);
    for (let loss = 1; loss < 3; loss++) {
      assign(l, task, 'w1');
      l.tm.lose([task], Date.now());
      expect(task.state, `after loss ${loss}`).toBe('queued');
    }
    assign(l, task, 'w1');
    l.tm.lose([task], Date.now());
    l.commit.flush();
    await vi.waitFor(() => expect(l.settled).toHaveLength(1));
    expect(row(task.id)).toMatchObject({ state: 'failed', losses: 3, failures: 0 });
    expect(l.store.getTask(task.id)?.error).toMatchObject({ code: 'TOO_MANY_LOSSES', retryable: false });
    expect(l.settled[0]).toMatchObject({ state: 'failed', error: { code: 'TOO_MANY_LOSSES' } });
    expect(l.tm.queues.size).toBe(0);
  });

  it('ignores tasks that are not running', async () => {
    const l = ledger();
    const task = await submitOne(l);
    l.tm.lose([task], Date.now());
    expect(task).toMatchObject({ state: 'queued', losses: 0 });
    expect(l.tm.queues.size).toBe(1);
  });

  it('a worker handing an attempt back (release) counts neither a failure nor a loss', async () => {
    const l = ledger();
    const task = await submitOne(l);
    assign(l, task, 'w1');
    expect(l.tm.release('w2', [{ taskId: task.id, attempt: 1 }], Date.now())).toEqual([]);
    expect(l.tm.release('w1', [{ taskId: task.id, attempt: 1 }], Date.now())).toEqual([task]);
    l.commit.flush();
    expect(task).toMatchObject({ state: 'queued', failures: 0, losses: 0 });
    expect(l.tm.queues.peek('echo')).toBe(task);
    expect(l.store.getAttempts(row(task.id).seq)[0].outcome).toBe('released');
  });
});

describe('TaskManager: cancellation', () => {
  it('cancels a queued task at once', async () => {
    const l = ledger();
    const task = await submitOne(l);
    expect(await l.tm.cancel(task.id)).toBe('cancelled');
    expect(row(task.id).state).toBe('cancelled');
    expect(l.tm.queues.size).toBe(0);
  });

  it('a running task becomes cancelling, the worker is told, and any later result records it as cancelled', async () => {
    const l = ledger();
    const task = await submitOne(l);
    assign(l, task, 'w1');
    expect(await l.tm.cancel(task.id)).toBe('cancelling');
    expect(l.hooks.onCancel).toHaveBeenCalledWith('w1', [{ taskId: task.id, attempt: 1 }]);
    expect(row(task.id).state).toBe('cancelling');
    // The handler ignored its signal and returned a value: still cancelled, never succeeded.
    await accept(l, 'w1', success(task, 1, 'too late'));
    expect(l.store.getTask(task.id)).toMatchObject({ state: 'cancelled', result: null, error: { code: 'CANCELLED' } });
    expect(l.settled.map((s) => s.state)).toEqual(['cancelled']);
  });

  it('a cancelling task whose worker is lost is cancelled, not requeued', async () => {
    const l = ledger();
    const task = await submitOne(l);
    assign(l, task, 'w1');
    await l.tm.cancel(task.id);
    l.tm.lose([task], Date.now());
    l.commit.flush();
    await vi.waitFor(() => expect(row(task.id).state).toBe('cancelled'));
    expect(l.tm.queues.size).toBe(0);
  });
});
