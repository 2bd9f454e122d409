import { describe, expect, it } from 'vitest';
import { spawnWorker, startForeman } from '../helpers/processes.js';
import { getTask, postRaw, settled, submit, waitForTask } from '../helpers/tasks.js';
import { storeArgs, STORES } from '../helpers/stores.js';

describe('dependent tasks (sqlite)', () => {
  it('runs a child once every parent succeeded, with their results in ctx.parents', async () => {
    const foreman = await startForeman();
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
    const foreman = await startForeman();
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
    let foreman = await startForeman();
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
});

describe.each(STORES.filter((s) => s === 'postgres'))('dependent tasks (%s)', (store) => {
  it('refuses dependsOn, naming the field', async () => {
    const foreman = await startForeman(await storeArgs(store));
    const parent = await submit(foreman.api, { type: 'identity', params: 1 });
    const res = await postRaw(`${foreman.url}/tasks`, JSON.stringify({ type: 'identity', dependsOn: [parent] }));
    expect(res).toMatchObject({ status: 400, body: { code: 'INVALID_REQUEST', field: 'body/dependsOn' } });
  });
});
