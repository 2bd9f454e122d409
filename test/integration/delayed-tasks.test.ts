import { describe, expect, it } from 'vitest';
import { spawnWorker, startForeman } from '../helpers/processes.js';
import { getTask, postRaw, settled, submit, waitForTask } from '../helpers/tasks.js';
import { storeArgs, STORES } from '../helpers/stores.js';

describe.each(STORES)('delayed tasks (%s)', (store) => {
  it('holds a task until runAt, says so, and keeps it across a foreman restart', async () => {
    let foreman = await startForeman(await storeArgs(store));
    await spawnWorker(foreman.wsUrl);
    const runAt = Date.now() + 2500;
    const delayed = await submit(foreman.api, { type: 'reverse', params: { text: 'later' }, runAt: new Date(runAt).toISOString() });
    const now = await submit(foreman.api, { type: 'reverse', params: { text: 'now' } });
    // The undelayed one runs while the delayed one waits, held by its delay.
    await waitForTask(foreman.api, now, settled, 'undelayed task settled');
    const held = await getTask(foreman.api, delayed);
    expect(held).toMatchObject({ runAt });
    // Read before runAt (a loaded machine may take longer than the delay to get here), it is still held.
    if (Date.now() < runAt - 100) expect(held).toMatchObject({ state: 'queued', heldBy: 'delay', attempt: 0 });

    foreman.kill('SIGTERM');
    await foreman.exited();
    foreman = await startForeman(foreman.args, { dbPath: foreman.dbPath, port: foreman.port });
    const t = await getTask(foreman.api, delayed);
    if (Date.now() < runAt - 200) expect(t).toMatchObject({ state: 'queued', heldBy: 'delay', runAt });
    const done = await waitForTask(foreman.api, delayed, settled, 'delayed task settled');
    expect(done).toMatchObject({ state: 'succeeded', result: 'retal', attempt: 1 });
    expect(done.startedAt).toBeGreaterThanOrEqual(runAt);
  });

  it('delays by delayMs, in jobs too, and refuses a malformed runAt naming the field', async () => {
    const foreman = await startForeman(await storeArgs(store));
    await spawnWorker(foreman.wsUrl);
    const before = Date.now();
    const { taskIds } = await foreman.api.request('POST', '/jobs', { tasks: [{ type: 'reverse', params: { text: 'ab' }, delayMs: 800 }] });
    const inJob = await getTask(foreman.api, taskIds[0]);
    if (Date.now() < before + 700) expect(inJob).toMatchObject({ state: 'queued', heldBy: 'delay' });
    expect(inJob.runAt).toBeGreaterThanOrEqual(before + 800);
    const id = await submit(foreman.api, { type: 'reverse', params: { text: 'cd' }, delayMs: 800 });
    const t = await waitForTask(foreman.api, id, settled, 'delayMs task settled');
    expect(t).toMatchObject({ state: 'succeeded', result: 'dc' });
    expect(t.startedAt).toBeGreaterThanOrEqual(before + 800);
    expect(t.runAt).toBeGreaterThanOrEqual(before + 800);
    expect(await waitForTask(foreman.api, taskIds[0], settled, 'delayed job task settled')).toMatchObject({ state: 'succeeded', result: 'ba' });

    const bad = await postRaw(`${foreman.url}/tasks`, JSON.stringify({ type: 'reverse', runAt: 'tomorrow' }));
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'INVALID_REQUEST', field: 'body/runAt' });
    const negative = await postRaw(`${foreman.url}/tasks`, JSON.stringify({ type: 'reverse', delayMs: -1 }));
    expect(negative.body).toMatchObject({ statusCode: 400, field: 'body/delayMs' });
  });
});
