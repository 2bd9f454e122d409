/**
 * The foreman dashboard's buttons in real Chromium: each click must change
 * what the foreman's JSON API reports, and the page must follow.
 */
import { describe, expect, it } from 'vitest';
import { numberIn, openPage, screenshot, waitForText } from '../helpers/browser.js';
import { spawnWorker, startForeman, type WorkerProcess } from '../helpers/processes.js';
import { waitForTask } from '../helpers/tasks.js';
import { waitFor } from '../helpers/wait-for.js';

const workerRow = (id: string) => `#fleet tr[data-worker-id="${id}"]`;

describe('foreman dashboard commands', () => {
  it('Restart, Hard restart and Drain a worker, cancel a task and cancel a job, each confirmed by the API', async () => {
    const foreman = await startForeman();
    const api = foreman.api;
    // A short drain deadline: the handlers below run for minutes, and a graceful restart hands them back after it.
    const args = ['--drain-timeout-ms', '300'];
    const [a, b] = await Promise.all([spawnWorker(foreman.wsUrl, { concurrency: 2, args }), spawnWorker(foreman.wsUrl, { concurrency: 2, args })]);
    const page = await openPage(`${foreman.url}/`);
    await waitForText(page, '#connection', (t) => t === 'live', 'live updates');

    const { jobId, taskIds } = await api.request('POST', '/jobs', Array.from({ length: 8 }, () => ({ type: 'honours-abort', params: {} })));
    await waitFor(async () => (await page.locator('#fleet .chip[data-task-id]').count()) === 4, 'four running tasks shown');

    // Cancel one running task from its chip.
    const chip = page.locator(`${workerRow(a.id)} .chip[data-task-id]`).first();
    const taskId = (await chip.getAttribute('data-task-id')) as string;
    expect(taskIds).toContain(taskId);
    await chip.locator('[data-action=cancel-task]').click();
    await waitForTask(api, taskId, (t) => t.state === 'cancelled', 'task cancelled from the dashboard');
    await waitFor(async () => (await page.locator(`.chip[data-task-id="${taskId}"]`).count()) === 0, 'cancelled task gone from the fleet');

    const restartedWith = async (w: WorkerProcess, mode: string) => {
      await w.registered(2);
      expect(w.lines.some((l) => l.msg === 'restarting session' && l.mode === mode)).toBe(true);
      await waitFor(async () => {
        const { workers } = await api.request('GET', '/workers');
        return workers.find((x: any) => x.id === w.id && x.reconnects === 1 && x.state === 'active');
      }, `${w.id} back and active`);
      await waitForText(page, `${workerRow(w.id)} [data-field=reconnects]`, (t) => t === '1', `${w.id} reconnects on the page`);
    };
    await page.locator(`${workerRow(a.id)} [data-action=restart]`).click();
    await restartedWith(a, 'graceful');
    await page.locator(`${workerRow(b.id)} [data-action=hard-restart]`).click();
    await restartedWith(b, 'hard');

    await page.locator(`${workerRow(b.id)} [data-action=drain]`).click();
    await waitFor(async () => {
      const { workers } = await api.request('GET', '/workers');
      return workers.find((x: any) => x.id === b.id && x.state === 'draining');
    }, 'worker b draining');
    await waitForText(page, `${workerRow(b.id)} [data-field=state]`, (t) => t === 'draining', 'draining on the page');

    await page.locator(`#jobs tr[data-job-id="${jobId}"] [data-action=cancel-job]`).click();
    const job = await waitFor(async () => {
      const j = await api.request('GET', `/jobs/${jobId}`);
      return j.complete && j;
    }, 'job cancelled and complete');
    expect(job.cancelledAt).not.toBeNull();
    expect(job.counts).toMatchObject({ cancelled: 8, succeeded: 0, queued: 0, running: 0 });
    const row = `#jobs tr[data-job-id="${jobId}"]`;
    await waitForText(page, `${row} [data-field=settled]`, (t) => numberIn(t) === 8, 'job settled on the page');
    expect(await page.locator(`${row} [data-action=cancel-job]`).isDisabled()).toBe(true);
    // The summary tiles come from stats(), which a busy foreman refreshes less often than the job rows.
    await waitForText(page, '[data-field="tasks.cancelled"]', (t) => t === '8', 'cancelled tasks on the page');
    await screenshot(page, 'foreman-dashboard-after-commands');
  });
});
