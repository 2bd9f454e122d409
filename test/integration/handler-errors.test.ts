/**
 * A handler that throws can be debugged from the API: each failed attempt keeps the error's class and stack,
 * the final failure says retryable: false, the worker logs the failure with the task id, and every attempt's
 * ctx.log() lines (bounded) come back with GET /tasks/:id.
 */
import { describe, expect, it } from 'vitest';
import { spawnWorker, startForeman } from '../helpers/processes.js';
import { STORES, storeArgs } from '../helpers/stores.js';
import { settled, waitForTask } from '../helpers/tasks.js';

describe.each(STORES)('handler failures (%s)', (store) => {
  it('keeps the class and stack of every failed attempt, says retryable: false at the end, and logs it on the worker', async () => {
    const foreman = await startForeman(['--retry-backoff-ms', '10', ...(await storeArgs(store))]);
    const worker = await spawnWorker(foreman.wsUrl);
    const { id } = await foreman.api.request('POST', '/tasks', { type: 'log-and-throw', params: { lines: 2, throw: true }, maxAttempts: 2 });
    const task = await waitForTask(foreman.api, id, settled, 'final failure');
    expect(task).toMatchObject({ state: 'failed', error: { code: 'HANDLER_ERROR', message: 'bad input on attempt 2', retryable: false, errorClass: 'TypeError' } });
    expect(task.error.stack).toMatch(/^TypeError: bad input on attempt 2\n\s+at .*handlers\.ts/);
    expect(task.error.stack.length).toBeLessThanOrEqual(4000);
    const failed = task.attempts.filter((a: { outcome: string }) => a.outcome === 'failed');
    expect(failed.map((a: { error: { errorClass: string; message: string } }) => [a.error.errorClass, a.error.message])).toEqual([
      ['TypeError', 'bad input on attempt 1'],
      ['TypeError', 'bad input on attempt 2'],
    ]);
    expect(failed[0].error.stack).toMatch(/handlers\.ts/);

    // What the handler said, per attempt.
    expect(task.logs.map((l: { attempt: number; workerId: string }) => [l.attempt, l.workerId])).toEqual([[1, worker.id], [2, worker.id]]);
    expect(task.logs[1].lines).toHaveLength(2);
    expect(task.logs[1].lines[1]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z line 2 of attempt 2 \{"i":2\}$/);

    // The worker's own log names the task.
    const line = await worker.waitForLine((l) => l.msg === 'task attempt failed: bad input on attempt 1', 'failure logged on the worker');
    expect(line).toMatchObject({ taskId: id, attempt: 1, type: 'log-and-throw', code: 'HANDLER_ERROR', errorClass: 'TypeError', level: 40 });
  });

  it('keeps only the last lines of a chatty attempt (--task-log-max-lines), and logs of a success too', async () => {
    const foreman = await startForeman(await storeArgs(store));
    await spawnWorker(foreman.wsUrl, { args: ['--task-log-max-lines', '5'] });
    const { id } = await foreman.api.request('POST', '/tasks', { type: 'log-and-throw', params: { lines: 500 } });
    const task = await waitForTask(foreman.api, id, settled, 'success');
    expect(task).toMatchObject({ state: 'succeeded', result: 500 });
    const lines: string[] = task.logs[0].lines;
    expect(lines[0]).toBe('[495 earlier lines dropped]');
    expect(lines.slice(1).map((l) => l.replace(/^\S+ /, '').replace(/ \{.*$/, ''))).toEqual([496, 497, 498, 499, 500].map((i) => `line ${i} of attempt 1`));
  });
});
