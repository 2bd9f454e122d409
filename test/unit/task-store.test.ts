/** The store's layout choices: large params out of the task row, and attempt history read back as before. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../foreman/store/database.js';
import { TaskStore } from '../../foreman/store/task-store.js';
import type { LiveTask } from '../../foreman/task-types.js';

let dir: string;
let db: Db;
let store: TaskStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gaffer-task-store-'));
  db = openDatabase(join(dir, 'store.db'), 'normal');
  store = new TaskStore(db);
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function task(seq: number, params: unknown): LiveTask {
  return {
    seq, id: `t_${seq}`, jobId: 'j_1', key: null, type: 'echo', priority: 0, params, paramsLoaded: true, state: 'queued',
    attempt: 0, failures: 0, losses: 0, maxAttempts: 3, timeoutMs: null, workerId: null, runAt: 1, createdAt: 1,
    startedAt: null, progress: null, queued: false,
  };
}

describe('TaskStore', () => {
  it('keeps large params out of the task row and reads them back everywhere', () => {
    const big = { text: 'x'.repeat(5000) };
    store.insertTask(task(1, big));
    store.insertTask(task(2, { small: true }));
    expect(db.prepare('SELECT seq, params IS NULL AS outOfLine FROM tasks ORDER BY seq').all()).toEqual([
      { seq: 1, outOfLine: 1 },
      { seq: 2, outOfLine: 0 },
    ]);
    expect(store.getTask('t_1')?.params).toEqual(big);
    expect(store.getParams(1)).toEqual(big);
    expect(store.searchTasks({ jobId: 'j_1' }, 0, 10).map((r) => r.params)).toEqual([big, { small: true }]);
    // Starting and settling the attempt leaves the params where they are.
    store.markRunning(1, 1, 'w1', 5);
    store.markSettled(1, 'succeeded', null, 'done', null, 0, 0, 9);
    expect(store.getTask('t_1')).toMatchObject({ state: 'succeeded', result: 'done', params: big });
    expect([...store.settledOfJob('j_1')].map((r) => r.params)).toEqual([big]);
    // Purging the task takes its params with it.
    expect(store.purgeFinished(10, 100)).toHaveLength(1);
    expect(db.prepare('SELECT count(*) AS n FROM task_params').get()).toEqual({ n: 0 });
  });

  it('purges only tasks settled before the cutoff, in batches, whatever their age', () => {
    // seq: [created at, finished at or null while live]
    const rows: Array<[number, number | null]> = [[10, 20], [10, null], [10, 150], [30, 40], [50, 60], [120, 130], [130, null]];
    rows.forEach(([createdAt, finishedAt], i) => {
      store.insertTask({ ...task(i + 1, null), createdAt });
      if (finishedAt !== null) store.markSettled(i + 1, 'succeeded', null, null, null, 0, 0, finishedAt);
    });
    const seqs = () => (db.prepare('SELECT seq FROM tasks ORDER BY seq').pluck().all() as number[]);
    expect(store.purgeFinished(100, 2).map((g) => g.seq)).toEqual([1, 4]);
    expect(store.purgeFinished(100, 2).map((g) => g.seq)).toEqual([5]);
    expect(store.purgeFinished(100, 2)).toEqual([]);
    // Live (2), finished after the cutoff though created before (3), created after the cutoff (6, 7): kept.
    expect(seqs()).toEqual([2, 3, 6, 7]);
    expect(store.purgeFinished(200, 10).map((g) => g.seq)).toEqual([3, 6]);
    expect(seqs()).toEqual([2, 7]);
  });

  it('shows the running attempt and a successful final attempt from the task row', () => {
    store.insertTask(task(1, null));
    store.markRunning(1, 1, 'w1', 100);
    store.recordAttempt(1, 1, 'w1', 100, 150, 'lost', { code: 'WORKER_LOST', message: 'lost', retryable: true });
    store.markQueued(1, 150, 0, 1, null);
    store.markRunning(1, 2, 'w2', 200);
    expect(store.getAttempts(1)).toEqual([
      { attempt: 1, workerId: 'w1', startedAt: 100, finishedAt: 150, outcome: 'lost', error: { code: 'WORKER_LOST', message: 'lost', retryable: true } },
      { attempt: 2, workerId: 'w2', startedAt: 200, finishedAt: null, outcome: null, error: null },
    ]);
    store.markSettled(1, 'succeeded', null, 'ok', null, 0, 1, 250);
    expect(store.getAttempts(1)[1]).toEqual({ attempt: 2, workerId: 'w2', startedAt: 200, finishedAt: 250, outcome: 'succeeded', error: null });
  });

  it('completes an attempt row left open by a foreman before schema 3', () => {
    store.insertTask(task(1, null));
    store.markRunning(1, 1, 'w1', 100);
    db.prepare(`INSERT INTO attempts (task_seq, attempt, worker_id, started_at) VALUES (1, 1, 'w1', 100)`).run();
    store.markSettled(1, 'succeeded', null, 'ok', null, 0, 0, 130);
    expect(store.getAttempts(1)).toEqual([{ attempt: 1, workerId: 'w1', startedAt: 100, finishedAt: 130, outcome: 'succeeded', error: null }]);
  });
});
