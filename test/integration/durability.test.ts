import { describe, expect, it } from 'vitest';
import { FAST_LIVENESS } from '../helpers/fast-liveness.js';
import { spawnWorker, startForeman, type ForemanProcess, type WorkerProcess } from '../helpers/processes.js';
import { settled, submit, waitForPurge, waitForTask, getTask } from '../helpers/tasks.js';
import { storeArgs, STORES } from '../helpers/stores.js';
import { waitFor } from '../helpers/wait-for.js';

/** SIGKILLs the foreman and starts a new one on the same file and port. */
async function crashAndRestart(foreman: ForemanProcess, extra: string[] = []): Promise<ForemanProcess> {
  foreman.kill('SIGKILL');
  await foreman.exited();
  return startForeman([...foreman.args, ...extra], { dbPath: foreman.dbPath, port: foreman.port });
}

/**
 * Waits until the worker runs a task: a task is `running` once its attempt is durable, and the
 * assignment leaves a moment later (on PostgreSQL, one event-loop turn after the commit).
 */
async function runningOnWorker(w: WorkerProcess): Promise<void> {
  await waitFor(async () => (await fetch(`${w.statusUrl}/`).then((r) => r.json())).tasks.length > 0, 'task running on the worker');
}

describe.each(STORES)('durability across foreman crashes (%s)', (store) => {
  it('keeps queued tasks and re-adopts running ones under the same attempt after kill -9', async () => {
    let foreman = await startForeman([...(await storeArgs(store)), ...FAST_LIVENESS]);
    const w = await spawnWorker(foreman.wsUrl, { concurrency: 1 });
    const running = await submit(foreman.api, { type: 'sleep', params: { ms: 1500 } });
    await waitForTask(foreman.api, running, (t) => t.state === 'running', 'running');
    await runningOnWorker(w);
    const queued = await submit(foreman.api, { type: 'reverse', params: { text: 'abc' } });
    foreman = await crashAndRestart(foreman);
    expect((await getTask(foreman.api, queued)).state).toMatch(/queued|running|succeeded/);
    await w.registered(2);
    const t = await waitForTask(foreman.api, running, settled, 'running task settled');
    expect(t).toMatchObject({ state: 'succeeded', attempt: 1, losses: 0 });
    expect(t.attempts).toHaveLength(1);
    const q = await waitForTask(foreman.api, queued, settled, 'queued task settled');
    expect(q).toMatchObject({ state: 'succeeded', result: 'cba' });
  });

  it('delivers a result that finished while the foreman was down, and accepts it once', async () => {
    let foreman = await startForeman([...(await storeArgs(store)), ...FAST_LIVENESS]);
    const w = await spawnWorker(foreman.wsUrl);
    const id = await submit(foreman.api, { type: 'sleep', params: { ms: 300 } });
    await waitForTask(foreman.api, id, (t) => t.state === 'running', 'running');
    await runningOnWorker(w);
    foreman.kill('SIGKILL');
    await foreman.exited();
    // The worker finishes the task with nobody to tell, and holds the result.
    await waitFor(async () => (await fetch(`${w.statusUrl}/`).then((r) => r.json())).heldResults === 1, 'result held by the worker');
    foreman = await startForeman(foreman.args, { dbPath: foreman.dbPath, port: foreman.port });
    const t = await waitForTask(foreman.api, id, settled, 'settled');
    expect(t).toMatchObject({ state: 'succeeded', attempt: 1, result: { slept: 300 } });
    expect(t.attempts).toHaveLength(1);
    await waitFor(async () => (await fetch(`${w.statusUrl}/`).then((r) => r.json())).heldResults === 0, 'held result acknowledged');
  });

  it('requeues running tasks whose worker does not come back within the restart grace', async () => {
    let foreman = await startForeman([...(await storeArgs(store)), ...FAST_LIVENESS, '--restart-grace-ms', '300']);
    const a = await spawnWorker(foreman.wsUrl, { concurrency: 1 });
    const id = await submit(foreman.api, { type: 'sleep', params: { ms: 5000 } });
    await waitForTask(foreman.api, id, (t) => t.state === 'running', 'running');
    await runningOnWorker(a);
    a.kill('SIGKILL');
    foreman = await crashAndRestart(foreman);
    const b = await spawnWorker(foreman.wsUrl);
    const t = await waitForTask(foreman.api, id, (x) => x.state === 'running' && x.workerId === b.id, 'running on B');
    expect(t.attempt).toBe(2);
    expect(t.attempts[0]).toMatchObject({ workerId: a.id, outcome: 'lost' });
  });

  // The spill is SQLite's: a PostgreSQL foreman holds only what it claimed for free slots.
  if (store === 'sqlite') it('holds at most --hot-queue-max queued tasks in memory, keeps the rest in the store across a restart, and runs all in order', async () => {
    let foreman = await startForeman(['--hot-queue-max', '5']);
    const { jobId, taskIds } = await foreman.api.request('POST', '/jobs', Array.from({ length: 20 }, (_, i) => ({ type: 'echo', params: i })));
    expect((await foreman.api.request('GET', '/stats')).queue).toMatchObject({ depth: 20, spilled: 15 });
    foreman = await crashAndRestart(foreman);
    expect((await foreman.api.request('GET', '/stats')).queue).toMatchObject({ depth: 20, spilled: 15 });
    await spawnWorker(foreman.wsUrl, { concurrency: 1 });
    const results = [];
    for await (const line of foreman.api.results(jobId)) results.push(line);
    expect(results.map((r: any) => [r.id, r.state, r.result])).toEqual(taskIds.map((id: string, i: number) => [id, 'succeeded', i]));
    expect((await foreman.api.request('GET', '/stats')).queue).toMatchObject({ depth: 0, spilled: 0 });
  });

  it('returns the original task for a repeated Idempotency-Key, across a restart', async () => {
    let foreman = await startForeman(await storeArgs(store));
    const first = await foreman.api.request('POST', '/tasks', { type: 'echo', params: 1 }, { 'idempotency-key': 'order-17' });
    const again = await foreman.api.request('POST', '/tasks', { type: 'echo', params: 1 }, { 'idempotency-key': 'order-17' });
    expect(again).toEqual({ id: first.id, duplicate: true });
    // The same key for a different task is a conflict, never a silent drop.
    await expect(foreman.api.request('POST', '/tasks', { type: 'echo', params: 2 }, { 'idempotency-key': 'order-17' })).rejects.toMatchObject({
      status: 409,
      body: { statusCode: 409, code: 'KEY_CONFLICT', field: 'headers/idempotency-key' },
    });
    const job = await foreman.api.request('POST', '/jobs', { key: 'batch-1', tasks: [{ type: 'echo', key: 'a' }, { type: 'echo', key: 'b' }] });
    foreman = await crashAndRestart(foreman);
    const afterRestart = await foreman.api.request('POST', '/tasks', { type: 'echo', params: 1 }, { 'idempotency-key': 'order-17' });
    expect(afterRestart.id).toBe(first.id);
    const jobAgain = await foreman.api.request('POST', '/jobs', { key: 'batch-1', tasks: [{ type: 'echo' }] });
    expect(jobAgain).toMatchObject({ jobId: job.jobId, count: 2, duplicate: true });
    // Per-task keys inside a new job map to the tasks that already exist.
    const mixed = await foreman.api.request('POST', '/jobs', [{ type: 'echo', key: 'a' }, { type: 'echo', key: 'c' }]);
    expect(mixed.taskIds[0]).toBe(job.taskIds[0]);
    expect(mixed.taskIds[1]).not.toBe(job.taskIds[1]);
    // PostgreSQL's counters are the whole fleet's, counted once a second while someone reads them.
    await waitFor(async () => (await foreman.api.request('GET', '/stats')).tasks.queued === 4, 'four tasks queued');
  });

  it('closes an open job, which then completes when its tasks settle', async () => {
    const foreman = await startForeman(await storeArgs(store));
    await spawnWorker(foreman.wsUrl);
    const { jobId } = await foreman.api.request('POST', '/jobs', { open: true, tasks: [{ type: 'echo', params: 1 }] });
    await foreman.api.request('POST', `/jobs/${jobId}/tasks`, [{ type: 'echo', params: 2 }]);
    await waitFor(async () => (await foreman.api.request('GET', `/jobs/${jobId}`)).settled === 2, 'both settled');
    expect((await foreman.api.request('GET', `/jobs/${jobId}`)).complete).toBe(false);
    // A result stream opened while the job is open ends once it is closed (and only then).
    const lines: unknown[] = [];
    const streamed = (async () => {
      for await (const line of foreman.api.results(jobId)) lines.push(line);
    })();
    await waitFor(() => lines.length === 2, 'both results streamed');
    const closed = await foreman.api.request('POST', `/jobs/${jobId}/close`);
    expect(closed).toMatchObject({ complete: true, total: 2 });
    await streamed;
    expect(lines).toHaveLength(2);
    await expect(foreman.api.request('POST', `/jobs/${jobId}/tasks`, [{ type: 'echo' }])).rejects.toMatchObject({ status: 409 });
  });
});

describe('dead letters, replay and operations', () => {
  it('keeps every attempt of a failed task and requeues it on retry', async () => {
    const foreman = await startForeman(FAST_LIVENESS);
    const w = await spawnWorker(foreman.wsUrl);
    const { jobId, taskIds } = await foreman.api.request('POST', '/jobs', [
      { type: 'fail', params: { kind: 'transient', succeedOnAttempt: 3 }, maxAttempts: 2 },
      { type: 'fail', params: { kind: 'permanent' } },
      { type: 'echo', params: 'ok' },
    ]);
    await waitFor(async () => (await foreman.api.request('GET', `/jobs/${jobId}`)).complete, 'job complete');
    const failed = await getTask(foreman.api, taskIds[0]);
    expect(failed.state).toBe('failed');
    expect(failed.attempts.map((a: any) => [a.attempt, a.workerId, a.outcome, a.error.code])).toEqual([
      [1, w.id, 'failed', 'HANDLER_ERROR'],
      [2, w.id, 'failed', 'HANDLER_ERROR'],
    ]);
    const { tasks: deadLetters } = await foreman.api.request('GET', `/tasks?state=failed`);
    expect(deadLetters.map((t: any) => t.id).sort()).toEqual([taskIds[0], taskIds[1]].sort());

    // A retry gets a fresh failure budget; attempt numbers keep counting up.
    await foreman.api.request('POST', `/tasks/${taskIds[0]}/retry`);
    const retried = await waitForTask(foreman.api, taskIds[0], settled, 'retried task settled');
    expect(retried).toMatchObject({ state: 'succeeded', result: { succeededOnAttempt: 3 } });
    const again = await foreman.api.request('POST', `/jobs/${jobId}/retry-failed`);
    expect(again.requeued).toBe(1);
    await expect(foreman.api.request('POST', `/tasks/${taskIds[2]}/retry`)).rejects.toMatchObject({ status: 409 });
  });

  it('stops dispatch on drain and resumes it, and reports stats that match the tasks', async () => {
    const foreman = await startForeman();
    await spawnWorker(foreman.wsUrl);
    await foreman.api.request('POST', '/ops/drain');
    const id = await submit(foreman.api, { type: 'echo', params: 1, priority: 3 });
    await submit(foreman.api, { type: 'nobody', params: 1 });
    const stats = await foreman.api.request('GET', '/stats');
    expect(stats).toMatchObject({ dispatching: false, tasks: { queued: 2 }, workers: { active: 1 }, queue: { depth: 2, byPriority: { 0: 1, 3: 1 } } });
    expect(stats.queue.byType.nobody).toEqual({ depth: 1, workersWithSkill: 0 });
    expect(stats.queue.oldestQueuedAgeMs).toBeGreaterThanOrEqual(0);
    expect((await getTask(foreman.api, id)).state).toBe('queued');
    await foreman.api.request('POST', '/ops/resume');
    await waitForTask(foreman.api, id, (t) => t.state === 'succeeded', 'succeeded after resume');
  });

  it('requeues the tasks of a silent worker on demand', async () => {
    const foreman = await startForeman([...FAST_LIVENESS, '--stale-after-ms', '200', '--lease-ms', '60000', '--grace-ms', '60000']);
    const a = await spawnWorker(foreman.wsUrl);
    const id = await submit(foreman.api, { type: 'sleep', params: { ms: 10_000 } });
    await waitForTask(foreman.api, id, (t) => t.state === 'running', 'running');
    a.kill('SIGSTOP');
    await waitFor(async () => (await foreman.api.request('GET', '/workers')).workers[0].state !== 'active', 'worker not active');
    const { requeued } = await foreman.api.request('POST', '/ops/requeue-stale');
    expect(requeued).toBe(1);
    expect((await getTask(foreman.api, id)).state).toBe('queued');
  });

  it('offers /ops/reset only in dev mode', async () => {
    const prod = await startForeman();
    await expect(prod.api.request('POST', '/ops/reset')).rejects.toMatchObject({ status: 404 });
    const dev = await startForeman(['--dev']);
    await submit(dev.api, { type: 'echo' });
    await dev.api.request('POST', '/ops/reset');
    expect((await dev.api.request('GET', '/stats')).tasks.queued).toBe(0);
  });

  it('purges settled tasks past the retention period', async () => {
    const foreman = await startForeman(['--retention-ms', '1']);
    await spawnWorker(foreman.wsUrl);
    const id = await submit(foreman.api, { type: 'echo', params: 'short-lived' });
    await waitForPurge(foreman.api, id, 'task purged');
    expect((await foreman.api.request('GET', '/stats')).tasks.succeeded).toBe(0);
  });
});
