/**
 * The worker dashboard (served by the worker's status server) in real
 * Chromium: live progress and counters that agree with GET /stats, and a
 * Restart button whose effect the foreman's API confirms.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { numberIn, openPage, screenshot, textOf, waitForText } from '../helpers/browser.js';
import { spawnWorker, startForeman, tempDir } from '../helpers/processes.js';
import { settled, submit, waitForTask } from '../helpers/tasks.js';
import { waitFor } from '../helpers/wait-for.js';


/** How many canvas pixels are drawn on (the sparkline is not blank). */
function inkedPixels(page: Page, selector: string): Promise<number> {
  return page.$eval(selector, (c) => {
    const canvas = c as HTMLCanvasElement;
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
    return n;
  });
}

describe('worker dashboard', () => {
  it('shows running tasks, counters, throughput and errors live, in agreement with GET /stats', async () => {
    const foreman = await startForeman();
    const worker = await spawnWorker(foreman.wsUrl, { concurrency: 2 });
    const page = await openPage(`${worker.statusUrl}/`);
    await waitForText(page, '#connection', (t) => t === 'live', 'live updates');
    await waitForText(page, '#worker-state', (t) => t === 'ready', 'worker ready');
    expect(await textOf(page, '[data-field=workerId]')).toBe(worker.id);
    expect(await textOf(page, '[data-field=foreman]')).toBe(`${foreman.wsUrl}/ws/worker`);

    const { jobId } = await foreman.api.request('POST', '/jobs', [
      ...Array.from({ length: 8 }, () => ({ type: 'progress', params: { steps: 10, ms: 60 } })),
      { type: 'fail', params: { kind: 'permanent', message: 'cannot parse row 7' } },
    ]);
    // Live progress: a running task's bar label moves without a reload.
    const label = '#tasks tbody tr [data-field=progress]';
    const firstLabel = await waitForText(page, label, (t) => /%/.test(t), 'a task with progress');
    await waitForText(page, label, (t) => /%/.test(t) && t !== firstLabel, 'progress moving');
    expect(await page.locator('#tasks tbody tr').count()).toBeLessThanOrEqual(2);
    await waitForText(page, '[data-field=completed]', (t) => numberIn(t) > 0 && numberIn(t) < 8, 'completed counter rising mid-job');

    for await (const _ of foreman.api.results(jobId));
    const stats = await (await fetch(`${worker.statusUrl}/stats`)).json();
    expect(stats).toMatchObject({ completed: 8, failed: 1 });
    // The page's counters come from pushed snapshots, one of which may hold the 8th success before the failure:
    // wait for one that shows the job's end, then compare each counter with /stats.
    const counters = async () => ({
      completed: numberIn(await textOf(page, '[data-field=completed]')),
      failed: numberIn(await textOf(page, '[data-field=failed]')),
      cancelled: numberIn(await textOf(page, '[data-field=cancelled]')),
      succeeded: numberIn(await textOf(page, '#types tr[data-type=progress] [data-field=succeeded]')),
    });
    await waitFor(async () => {
      const shown = await counters();
      return shown.completed + shown.failed === stats.completed + stats.failed;
    }, 'final counts');
    expect(await counters()).toEqual({ completed: stats.completed, failed: stats.failed, cancelled: stats.cancelled, succeeded: stats.perType.progress.succeeded });
    await waitForText(page, '[data-field=running]', (t) => t === '0', 'idle');
    expect(await textOf(page, '#errors tbody tr')).toContain('cannot parse row 7');
    expect(await textOf(page, '#errors tbody tr')).toContain('PERMANENT');
    expect(await inkedPixels(page, '#throughput canvas')).toBeGreaterThan(100);
    expect(await textOf(page, '[data-field=cpu]')).toMatch(/%$/);
    expect(await textOf(page, '[data-field=rss]')).toMatch(/MiB/);

    // The README picture: a second batch under way, with the first one's counters, errors and throughput.
    await foreman.api.request('POST', '/jobs', Array.from({ length: 4 }, () => ({ type: 'progress', params: { steps: 20, ms: 100 } })));
    const percents = async () => (await page.locator(label).allTextContents()).map((t) => Number(/([\d.]+)%/.exec(t)?.[1] ?? 0));
    await waitFor(async () => (await percents()).filter((p) => p >= 30 && p < 100).length === 2, 'two tasks well under way');
    await screenshot(page, 'worker-dashboard', 'worker-dashboard.png');
  });

  it('Restart finishes the running task (accepted once); Hard restart requeues it and it completes again', async () => {
    const foreman = await startForeman();
    const worker = await spawnWorker(foreman.wsUrl, { concurrency: 1 });
    const page = await openPage(`${worker.statusUrl}/`);
    await waitForText(page, '#worker-state', (t) => t === 'ready', 'worker ready');
    const file = join(tempDir(), 'executions.txt');
    writeFileSync(file, '');
    const executedAttempts = () => readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => Number(l.split(' ')[1]));

    const graceful = await submit(foreman.api, { type: 'record', params: { file, ms: 1500 } });
    await page.locator(`#tasks tr[data-task-id="${graceful}"]`).waitFor();
    await page.locator('[data-action=restart]').click();
    await waitForText(page, '[data-field=restarting]', (t) => t.includes('graceful restart'), 'restart shown as under way');
    expect(await textOf(page, '#worker-state')).toBe('draining');
    const first = await waitForTask(foreman.api, graceful, settled, 'graceful task settled');
    expect(first).toMatchObject({ state: 'succeeded', attempt: 1 });
    expect(first.attempts).toHaveLength(1);
    await worker.registered(2);
    await waitForText(page, '[data-field=reconnects]', (t) => t === '1', 'reconnect counted on the page');
    await waitForText(page, '#worker-state', (t) => t === 'ready', 'ready again');
    await waitForText(page, '[data-field=restarting]', (t) => t === '', 'restart finished');

    const hard = await submit(foreman.api, { type: 'record', params: { file, ms: 1500 } });
    await page.locator(`#tasks tr[data-task-id="${hard}"]`).waitFor();
    await page.locator('[data-action=hard-restart]').click();
    const second = await waitForTask(foreman.api, hard, settled, 'hard-restarted task settled');
    expect(second.state).toBe('succeeded');
    expect(second.attempt).toBeGreaterThanOrEqual(2);
    expect(second.attempts[0]).toMatchObject({ attempt: 1, outcome: 'released' });
    // The graceful task once, then the aborted attempt and the accepted one (a lost attempt between them may never run).
    expect(executedAttempts()).toEqual([1, 1, second.attempt]);
    await worker.registered(3);
    await waitForText(page, '[data-field=reconnects]', (t) => t === '2', 'second reconnect on the page');
    const { workers } = await foreman.api.request('GET', '/workers');
    expect(workers[0]).toMatchObject({ id: worker.id, reconnects: 2, state: 'active' });
    // The page follows within a tick: idle, with the counters GET /stats reports.
    await waitForText(page, '[data-field=running]', (t) => t === '0', 'idle on the page');
    const stats = await (await fetch(`${worker.statusUrl}/stats`)).json();
    await waitForText(page, '[data-field=completed]', (t) => numberIn(t) === stats.completed, 'completed as in /stats');
    await screenshot(page, 'worker-dashboard-after-restarts');
  });
});
