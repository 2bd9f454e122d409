import Database from 'better-sqlite3';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { spawnWorker, startForeman } from '../helpers/processes.js';
import { getTask, postRaw, settled, submit, waitForPurge, waitForTask } from '../helpers/tasks.js';
import { storeArgs, STORES, type StoreKind } from '../helpers/stores.js';
import { postgresAvailable } from '../helpers/postgres.js';
import { encodeValue } from '../../shared/codec.js';

/** How many dependency edges the store holds (read from the side: the foreman has no route for it). */
async function edgeCount(store: StoreKind, args: string[], dbPath: string): Promise<number> {
  if (store === 'sqlite') {
    const db = new Database(dbPath, { readonly: true, fileMustExist: true });
    try {
      return (db.prepare('SELECT count(*) AS n FROM task_deps').get() as { n: number }).n;
    } finally {
      db.close();
    }
  }
  return Number((await pgQuery(args, 'SELECT count(*) AS n FROM task_deps')).rows[0].n);
}

/** One statement on the PostgreSQL store the foreman was started on (`args`). */
async function pgQuery(args: string[], sql: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: args[args.indexOf('--store') + 1] });
  await client.connect();
  try {
    return await client.query(sql, values);
  } finally {
    await client.end();
  }
}

describe.each(STORES)('dependent tasks (%s)', (store) => {
  it('runs a child once every parent succeeded, with their results in ctx.parents', async () => {
    const foreman = await startForeman(await storeArgs(store));
    await spawnWorker(foreman.wsUrl, { concurrency: 4 });
    const a = await submit(foreman.api, { type: 'sleep', params: { ms: 800 } });
    const b = await submit(foreman.api, { type: 'sleep', params: { ms: 1200 } });
    const child = await submit(foreman.api, { type: 'echo-parents', params: { reduce: true }, dependsOn: [a, b] });
    expect(await getTask(foreman.api, child)).toMatchObject({ state: 'queued', heldBy: 'dependencies', dependsOn: [a, b] });
    const done = await waitForTask(foreman.api, child, settled, 'child settled');
    expect(done).toMatchObject({ state: 'succeeded', result: { parents: { [a]: { slept: 800 }, [b]: { slept: 1200 } }, params: { reduce: true } } });
    const parentB = await getTask(foreman.api, b);
    expect(done.startedAt).toBeGreaterThanOrEqual(parentB.finishedAt);
    // A parent already succeeded at submission: the child runs at once.
    const late = await submit(foreman.api, { type: 'echo-parents', params: null, dependsOn: [a] });
    expect(await waitForTask(foreman.api, late, settled, 'late child settled')).toMatchObject({ state: 'succeeded', result: { parents: { [a]: { slept: 800 } } } });
  });

  it('fails the child (and its own children) with DEPENDENCY_FAILED, without running it, when a parent fails or is cancelled', async () => {
    const foreman = await startForeman(await storeArgs(store));
    await spawnWorker(foreman.wsUrl);
    const failing = await submit(foreman.api, { type: 'log-and-throw', params: { lines: 1, throw: true }, maxAttempts: 1 });
    const child = await submit(foreman.api, { type: 'echo-parents', dependsOn: [failing] });
    const grandchild = await submit(foreman.api, { type: 'echo-parents', dependsOn: [child] });
    for (const id of [child, grandchild]) {
      const t = await waitForTask(foreman.api, id, settled, 'dependent settled');
      expect(t).toMatchObject({ state: 'failed', attempt: 0, error: { code: 'DEPENDENCY_FAILED', retryable: false } });
      expect(t.attempts).toEqual([]);
    }
    const waitingParent = await submit(foreman.api, { type: 'identity', params: 1, delayMs: 60_000 });
    const orphan = await submit(foreman.api, { type: 'echo-parents', dependsOn: [waitingParent] });
    await foreman.api.request('POST', `/tasks/${waitingParent}/cancel`);
    expect(await waitForTask(foreman.api, orphan, settled, 'orphan settled')).toMatchObject({ state: 'failed', attempt: 0, error: { code: 'DEPENDENCY_FAILED' } });
  });

  it('keeps a waiting child across a restart, and refuses parents that do not exist', async () => {
    let foreman = await startForeman(await storeArgs(store));
    await spawnWorker(foreman.wsUrl);
    const parent = await submit(foreman.api, { type: 'identity', params: 'p', delayMs: 3000 });
    const { taskIds } = await foreman.api.request('POST', '/jobs', { tasks: [{ type: 'echo-parents', params: 'c', dependsOn: [parent] }] });
    foreman.kill('SIGTERM');
    await foreman.exited();
    foreman = await startForeman(foreman.args, { dbPath: foreman.dbPath, port: foreman.port });
    const done = await waitForTask(foreman.api, taskIds[0], settled, 'child settled after restart');
    expect(done).toMatchObject({ state: 'succeeded', result: { parents: { [parent]: 'p' }, params: 'c' }, dependsOn: [parent] });

    const bad = await postRaw(`${foreman.url}/tasks`, JSON.stringify({ type: 'identity', dependsOn: [parent, 't_nope'] }));
    expect(bad).toMatchObject({ status: 400, body: { code: 'INVALID_REQUEST', field: 'body/dependsOn/1' } });
    const badJob = await postRaw(`${foreman.url}/jobs`, JSON.stringify({ tasks: [{ type: 'identity' }, { type: 'identity', dependsOn: ['t_nope'] }] }));
    expect(badJob).toMatchObject({ status: 400, body: { field: 'body/tasks/1/dependsOn/0' } });
  });

  it('names parents by key within a job: earlier in the same submission, or added to the job before', async () => {
    const foreman = await startForeman(await storeArgs(store));
    await spawnWorker(foreman.wsUrl, { concurrency: 4 });
    const { jobId, taskIds } = await foreman.api.request('POST', '/jobs', {
      open: true,
      tasks: [
        { type: 'sleep', params: { ms: 600 }, key: 'a' },
        { type: 'identity', params: 'b', key: 'b' },
        { type: 'echo-parents', params: 'reduce', key: 'r', dependsOnKeys: ['a', 'b'] },
      ],
    });
    const [a, b, r] = taskIds;
    const reduced = await waitForTask(foreman.api, r, settled, 'reduce settled');
    expect(reduced).toMatchObject({ state: 'succeeded', result: { parents: { [a]: { slept: 600 }, [b]: 'b' }, params: 'reduce' } });
    expect([...reduced.dependsOn].sort()).toEqual([a, b].sort());
    expect(reduced.startedAt).toBeGreaterThanOrEqual((await getTask(foreman.api, a)).finishedAt);

    // Added to the job later, naming a task already in it.
    const { taskIds: [late] } = await foreman.api.request('POST', `/jobs/${jobId}/tasks`, [{ type: 'echo-parents', params: 'late', dependsOnKeys: ['r'] }]);
    expect(await waitForTask(foreman.api, late, settled, 'late settled')).toMatchObject({ state: 'succeeded', result: { parents: { [r]: reduced.result } } });

    // A parent in the same submission whose key names an existing task: the child depends on that task.
    const again = await foreman.api.request('POST', '/jobs', { tasks: [{ type: 'sleep', params: { ms: 600 }, key: 'a' }, { type: 'echo-parents', dependsOnKeys: ['a'] }] });
    expect(again.taskIds[0]).toBe(a);
    expect(await waitForTask(foreman.api, again.taskIds[1], settled, 'child of the existing task settled')).toMatchObject({
      state: 'succeeded', dependsOn: [a], result: { parents: { [a]: { slept: 600 } } },
    });

    // NDJSON lines too.
    const lines = [{ type: 'identity', params: 'x', key: 'nd-x' }, { type: 'echo-parents', dependsOnKeys: ['nd-x'] }].map((t) => JSON.stringify(t)).join('\n');
    const nd = await postRaw(`${foreman.url}/jobs`, lines, 'application/x-ndjson');
    expect(nd.status).toBe(202);
    expect(await waitForTask(foreman.api, nd.body.taskIds[1], settled, 'NDJSON child settled')).toMatchObject({ state: 'succeeded', result: { parents: { [nd.body.taskIds[0]]: 'x' } } });

    // Refused: the key of a later task, a key of another job's task, and dependsOnKeys outside a job.
    const later = await postRaw(`${foreman.url}/jobs`, JSON.stringify({ tasks: [{ type: 'echo-parents', dependsOnKeys: ['z'] }, { type: 'identity', key: 'z' }] }));
    expect(later).toMatchObject({ status: 400, body: { code: 'INVALID_REQUEST', field: 'body/tasks/0/dependsOnKeys/0' } });
    const otherJob = await postRaw(`${foreman.url}/jobs`, JSON.stringify([{ type: 'identity' }, { type: 'echo-parents', dependsOnKeys: ['b', 'a'] }]));
    expect(otherJob).toMatchObject({ status: 400, body: { code: 'INVALID_REQUEST', field: 'body/1/dependsOnKeys/0' } });
    const single = await postRaw(`${foreman.url}/tasks`, JSON.stringify({ type: 'identity', dependsOnKeys: ['a'] }));
    expect(single).toMatchObject({ status: 400, body: { code: 'INVALID_REQUEST' } });
  });

  it('deletes the edges with their tasks when retention purges them', async () => {
    const args = await storeArgs(store);
    const foreman = await startForeman([...args, '--retention-ms', '1']);
    await spawnWorker(foreman.wsUrl);
    const parent = await submit(foreman.api, { type: 'sleep', params: { ms: 1000 } });
    const child = await submit(foreman.api, { type: 'echo-parents', dependsOn: [parent] });
    expect(await edgeCount(store, args, foreman.dbPath)).toBe(1);
    await waitForPurge(foreman.api, child, 'child purged');
    expect(await edgeCount(store, args, foreman.dbPath)).toBe(0);
  });
});

/**
 * Two foremen over one fresh database, a worker on each: B's takes fixture types only (no built-in
 * `sleep`), so a `sleep` task runs on A's worker; `concurrencyA` is the slots of A's worker.
 */
async function twoForemen(concurrencyA: number) {
  const store = await storeArgs('postgres');
  const a = await startForeman(store);
  const b = await startForeman(store);
  const onA = await spawnWorker(a.wsUrl, { concurrency: concurrencyA });
  const onB = await spawnWorker(b.wsUrl, { args: ['--no-builtins'] });
  return { a, b, onA, onB };
}

describe.runIf(postgresAvailable())('dependent tasks across foremen (postgres)', () => {
  it('runs a child submitted through B once, after parents that ran on A, with their results; fails one whose parent failed on A', async () => {
    // Only A's worker runs the built-in `sleep`, so the parents run (and settle) on A.
    const { a, b, onA, onB } = await twoForemen(4);
    const p1 = await submit(a.api, { type: 'sleep', params: { ms: 1500 } });
    const p2 = await submit(a.api, { type: 'sleep', params: { ms: 1500 } });
    const failing = await submit(a.api, { type: 'sleep', params: { ms: 'not a number' }, maxAttempts: 1 });
    const child = await submit(b.api, { type: 'echo-parents', params: 'c', dependsOn: [p1, p2] });
    const doomed = await submit(b.api, { type: 'echo-parents', dependsOn: [p1, failing] });
    // Seen from A, though B took it: waiting on its parents.
    expect(await getTask(a.api, child)).toMatchObject({ state: 'queued', heldBy: 'dependencies', dependsOn: expect.arrayContaining([p1, p2]) });

    const done = await waitForTask(b.api, child, settled, 'child settled');
    expect(done).toMatchObject({ state: 'succeeded', attempt: 1, result: { parents: { [p1]: { slept: 1500 }, [p2]: { slept: 1500 } }, params: 'c' } });
    // Released once: one attempt, on either foreman's worker, started after both parents finished.
    expect(done.attempts).toHaveLength(1);
    expect([onA.id, onB.id]).toContain(done.workerId);
    for (const p of [p1, p2]) {
      const parent = await getTask(b.api, p);
      expect(parent).toMatchObject({ state: 'succeeded', workerId: onA.id });
      expect(done.startedAt).toBeGreaterThanOrEqual(parent.finishedAt);
    }
    expect(await waitForTask(b.api, doomed, settled, 'doomed settled')).toMatchObject({
      state: 'failed', attempt: 0, attempts: [], error: { code: 'DEPENDENCY_FAILED', message: `task ${failing} it depends on failed` },
    });
  });

  it('releases each child once when its parents settle on two different foremen', async () => {
    // The first parent (`sleep`) runs on A and takes its one slot, so the second can only run on B's worker.
    const { a, b, onA, onB } = await twoForemen(1);
    const p1 = await submit(a.api, { type: 'sleep', params: { ms: 3000 } });
    await waitForTask(a.api, p1, (t) => t.state === 'running' && t.workerId === onA.id, 'first parent running on A');
    const p2 = await submit(b.api, { type: 'honours-abort', params: { ms: 1000 } });
    const children: string[] = [];
    for (let i = 0; i < 10; i++) children.push(await submit(i % 2 === 0 ? a.api : b.api, { type: 'echo-parents', params: i, dependsOn: [p1, p2] }));
    for (const [i, id] of children.entries()) {
      const t = await waitForTask(i % 2 === 0 ? b.api : a.api, id, settled, `child ${i} settled`, 60_000);
      expect(t).toMatchObject({ state: 'succeeded', attempt: 1, result: { parents: { [p1]: { slept: 3000 }, [p2]: 'finished' }, params: i } });
      expect(t.attempts).toHaveLength(1);
    }
    expect(await getTask(a.api, p1)).toMatchObject({ state: 'succeeded', workerId: onA.id });
    expect(await getTask(a.api, p2)).toMatchObject({ state: 'succeeded', workerId: onB.id });
  });
  it('releases a child whose parent was settled by a foreman that died before judging it (the sweep)', async () => {
    const store = await storeArgs('postgres');
    const foreman = await startForeman(store);
    await spawnWorker(foreman.wsUrl);
    const parent = await submit(foreman.api, { type: 'identity', params: 'p', delayMs: 600_000 });
    const child = await submit(foreman.api, { type: 'echo-parents', dependsOn: [parent] });
    // Settled behind every foreman's back, as by one that committed the result and died before it judged the children.
    const { rowCount } = await pgQuery(store, `UPDATE tasks SET state = 'succeeded', result = $2, finished_at = $3 WHERE id = $1 AND state = 'queued'`, [
      parent, encodeValue('p'), Date.now(),
    ]);
    expect(rowCount).toBe(1);
    expect(await waitForTask(foreman.api, child, settled, 'child released by the sweep')).toMatchObject({ state: 'succeeded', result: { parents: { [parent]: 'p' } } });
  });
});
