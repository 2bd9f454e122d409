/**
 * The foreman dashboard's drill-down views in real Chromium against a real
 * foreman and worker processes: task detail (found by id or key), retry from
 * the page, the failed-task list, job and worker detail, Undrain, pause/resume
 * dispatch, a read-only token that sees no buttons, and the page at 800 px.
 */
import { describe, expect, it } from 'vitest';
import { openPage, screenshot, textOf, waitForText } from '../helpers/browser.js';
import { spawnWorker, startForeman } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait-for.js';

/** Fails on attempt 1 with PERMANENT, succeeds from attempt 2: a failed task that a retry fixes. */
const failsOnce = (message: string) => ({ type: 'fail', params: { kind: 'permanent', message, succeedOnAttempt: 2 } });
const viewState = '#view .view-head [data-field=state]';

describe('foreman dashboard drill-down', () => {
  it('finds a task by id or key, shows its attempts, and retries it from the page until it succeeds', async () => {
    const foreman = await startForeman();
    await spawnWorker(foreman.wsUrl, { concurrency: 2 });
    const { id } = await foreman.api.request('POST', '/tasks', { ...failsOnce('bad input'), key: 'order-17' });
    expect((await foreman.api.request('GET', `/tasks/${id}/wait?timeoutMs=20000`)).state).toBe('failed');

    const page = await openPage(`${foreman.url}/`);
    await page.fill('#search input', id);
    await page.press('#search input', 'Enter');
    await waitForText(page, '#view [data-field=task-id]', (t) => t === id, 'task detail');
    expect(await textOf(page, viewState)).toBe('failed');
    // A view replaces the live monitoring page (which comes back on #).
    expect(await page.locator('#home').isVisible()).toBe(false);
    expect(await textOf(page, '#attempts tr[data-attempt="1"] [data-field=state]')).toBe('failed');
    expect(await textOf(page, '#attempts tr[data-attempt="1"] [data-field=error-code]')).toBe('PERMANENT');
    expect(await textOf(page, '#attempts tr[data-attempt="1"] [data-field=error-message]')).toBe('bad input');
    expect(JSON.parse(await textOf(page, '#view [data-field=params]'))).toEqual(failsOnce('bad input').params);

    await page.click('#view [data-action=retry-task]');
    await waitForText(page, viewState, (t) => t === 'succeeded', 'succeeded after Retry');
    expect(await textOf(page, '#attempts tr[data-attempt="2"] [data-field=state]')).toBe('succeeded');
    expect(JSON.parse(await textOf(page, '#view [data-field=result]'))).toEqual({ succeededOnAttempt: 2 });
    expect((await foreman.api.request('GET', `/tasks/${id}`)).state).toBe('succeeded');

    // The search takes an idempotency key too.
    await page.click('nav.views a[href="#"]');
    await page.locator('#home .tiles').waitFor();
    expect(await page.locator('#view').isVisible()).toBe(false);
    await page.fill('#search input', 'order-17');
    await page.press('#search input', 'Enter');
    await waitForText(page, '#view [data-field=task-id]', (t) => t === id, 'task found by key');
  });

  it('follows a running task live: its progress moves on the page without a reload, then it settles', async () => {
    const foreman = await startForeman();
    const { id } = await foreman.api.request('POST', '/tasks', { type: 'sleep', params: { ms: 6000 } });
    const page = await openPage(`${foreman.url}/#task/${id}`);
    // The worker joins once the page follows the task, so that none of its run happens before the page looks.
    await waitForText(page, viewState, (t) => t === 'queued', 'queued on the page');
    await spawnWorker(foreman.wsUrl);
    const percent = (t: string) => Number(/(\d+)%/.exec(t)?.[1] ?? -1);
    const first = percent(await waitForText(page, '#view [data-field=progress]', (t) => percent(t) > 0 && percent(t) < 100, 'progress shown'));
    expect(await textOf(page, viewState)).toBe('running');
    await waitForText(page, '#view [data-field=progress]', (t) => percent(t) > first, 'progress moving');
    await waitForText(page, viewState, (t) => t === 'succeeded', 'settled on the page');
    expect(JSON.parse(await textOf(page, '#view [data-field=result]'))).toEqual({ slept: 6000 });

    // A delayed task says what holds it.
    const delayed = await foreman.api.request('POST', '/tasks', { type: 'echo', params: {}, delayMs: 600_000 });
    await page.fill('#search input', delayed.id);
    await page.press('#search input', 'Enter');
    await waitForText(page, '#view [data-field=held-by]', (t) => t === 'delay', 'held by delay');
    expect(await textOf(page, viewState)).toBe('queued');

    // A dependent task says it waits for its parent, and the parent is one click away.
    const child = await foreman.api.request('POST', '/tasks', { type: 'echo', params: {}, dependsOn: [delayed.id] });
    await page.goto(`${foreman.url}/#task/${child.id}`);
    await waitForText(page, '#view [data-field=held-by]', (t) => t === 'dependencies', 'held by its parent');
    await page.click(`#view [data-field=depends-on] a[data-task-link="${delayed.id}"]`);
    await waitForText(page, '#view [data-field=task-id]', (t) => t === delayed.id, 'the parent opened');
  });

  it('lists failed tasks by type and code, retries from the list, and drills into jobs and workers', async () => {
    const foreman = await startForeman();
    const worker = await spawnWorker(foreman.wsUrl, { concurrency: 2 });
    const { jobId } = await foreman.api.request('POST', '/jobs', [failsOnce('one'), failsOnce('two'), { type: 'echo', params: { x: 1 } }]);
    for await (const _ of foreman.api.results(jobId));
    const failed = (await foreman.api.request('GET', `/tasks?jobId=${jobId}&state=failed`)).tasks as Array<{ id: string }>;
    expect(failed).toHaveLength(2);

    const page = await openPage(`${foreman.url}/`);
    // From the job row on the live view to the job's detail, filtered to its failed tasks.
    await page.click(`#jobs a[data-job-link="${jobId}"]`);
    await page.locator('#job-tasks tr[data-task-id]').first().waitFor();
    expect(await page.locator('#job-tasks tr[data-task-id]').count()).toBe(3);
    await page.selectOption('#view [data-field=state-filter]', 'failed');
    await waitFor(async () => (await page.locator('#job-tasks tr[data-task-id]').count()) === 2, 'only the failed tasks listed');

    // The dead-letter list, filtered: a code no task has lists nothing; PERMANENT lists both.
    await page.goto(`${foreman.url}/#failed`);
    await page.fill('#failed-filter [name=code]', 'NO_SUCH_CODE');
    await page.click('#failed-filter button[type=submit]');
    await page.locator('#failed-list .empty').waitFor();
    await page.fill('#failed-filter [name=code]', 'PERMANENT');
    await page.fill('#failed-filter [name=type]', 'fail');
    await page.click('#failed-filter button[type=submit]');
    await waitFor(async () => (await page.locator('#failed-list tr[data-task-id]').count()) === 2, 'both failed tasks listed');
    await page.click(`#failed-list tr[data-task-id="${failed[0].id}"] [data-action=retry-task]`);
    await waitFor(async () => (await foreman.api.request('GET', `/tasks/${failed[0].id}`)).state === 'succeeded', 'the one retried succeeds');
    await page.click('#failed-filter [data-action=retry-all]');
    await waitFor(async () => (await foreman.api.request('GET', `/tasks/${failed[1].id}`)).state === 'succeeded', 'retry all: the other succeeds');
    await page.click('#failed-filter button[type=submit]');
    await page.locator('#failed-list .empty').waitFor();

    // Worker detail: skills, its recent tasks, Drain then Undrain.
    await page.goto(`${foreman.url}/#worker/${encodeURIComponent(worker.id)}`);
    await waitForText(page, '#view [data-field=skills]', (t) => t.includes('fail') && t.includes('echo'), 'worker skills');
    await waitFor(async () => (await page.locator('#worker-recent tr[data-task-id]').count()) === 3, 'its three tasks');
    const draining = async () => ((await foreman.api.request('GET', '/workers')).workers[0].draining as boolean);
    await page.click('#view [data-action=drain]');
    await waitFor(draining, 'worker draining');
    await page.locator('#view [data-action=undrain]:not([disabled])').click();
    await waitFor(async () => !(await draining()), 'worker undrained');
    // An undrained worker takes work again.
    const { id } = await foreman.api.request('POST', '/tasks', { type: 'echo', params: { y: 2 } });
    expect((await foreman.api.request('GET', `/tasks/${id}/wait?timeoutMs=20000`)).state).toBe('succeeded');

    // Pause and resume dispatch from the header.
    const dispatching = async () => (await foreman.api.request('GET', '/stats')).dispatching as boolean;
    await waitForText(page, '[data-action=toggle-dispatch]', (t) => t === 'Pause dispatch', 'pause button');
    await page.click('[data-action=toggle-dispatch]');
    await waitFor(async () => !(await dispatching()), 'dispatch paused');
    await waitForText(page, '[data-action=toggle-dispatch]', (t) => t === 'Resume dispatch', 'resume button');
    await page.click('[data-action=toggle-dispatch]');
    await waitFor(dispatching, 'dispatch resumed');
  });

  it('sets a type limit from the page, and dispatch honours it and its edit', async () => {
    const foreman = await startForeman();
    await spawnWorker(foreman.wsUrl, { concurrency: 2 });
    await spawnWorker(foreman.wsUrl, { concurrency: 2 });
    const page = await openPage(`${foreman.url}/#limits`);
    await page.locator('#limits-list .empty').waitFor();
    await page.fill('form[data-limit-form=""] [name=type]', 'sleep');
    await page.fill('form[data-limit-form=""] [name=maxRunning]', '1');
    await page.click('form[data-limit-form=""] [data-action=save-limit]');
    await waitForText(page, '#limits-list tr[data-type=sleep] [data-field=limits]', (t) => t.includes('max running 1'), 'the limit listed');
    expect(await foreman.api.request('GET', '/types/sleep/limits')).toMatchObject({ maxRunning: 1, ratePerSecond: null });

    const { jobId } = await foreman.api.request('POST', '/jobs', Array.from({ length: 6 }, () => ({ type: 'sleep', params: { ms: 1500 } })));
    // Four free slots, one task at a time: the others wait, held by the limit, and the page says so.
    let maxSeen = 0;
    await waitFor(async () => {
      const l = await foreman.api.request('GET', '/types/sleep/limits');
      maxSeen = Math.max(maxSeen, l.running);
      return (await foreman.api.request('GET', `/jobs/${jobId}`)).counts.succeeded >= 1;
    }, 'the first task done under the limit');
    expect(maxSeen).toBe(1);
    await waitForText(page, '#limits-list tr[data-type=sleep] [data-field=held-by]', (t) => t === 'maxRunning', 'held by maxRunning on the page');

    // Raised to 3 on the page: three run at once.
    await page.fill('form[data-limit-form=sleep] [name=maxRunning]', '3');
    await page.click('form[data-limit-form=sleep] [data-action=save-limit]');
    await waitFor(async () => (await foreman.api.request('GET', '/types/sleep/limits')).running === 3, 'three sleep tasks running');
    await waitForText(page, '#limits-list tr[data-type=sleep] [data-field=limits]', (t) => t.includes('max running 3'), 'the new limit listed');
    await page.click('form[data-limit-form=sleep] [data-action=remove-limit]');
    await page.locator('#limits-list .empty').waitFor();
    expect((await foreman.api.request('GET', '/types/limits')).types).toEqual([]);
  });

  it('shows a read-only token no button it cannot use, and the API token all of them', async () => {
    const apiToken = 'drilldown-api-token-0123456789';
    const readToken = 'drilldown-read-token-0123456789';
    const foreman = await startForeman(['--api-token', apiToken, '--read-token', readToken]);
    await spawnWorker(foreman.wsUrl);
    const res = await fetch(`${foreman.url}/tasks`, { method: 'POST', headers: { authorization: `Bearer ${apiToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'fail', params: { kind: 'permanent' } }) });
    const { id } = await res.json();

    const visibleWriteButtons = async (page: Awaited<ReturnType<typeof openPage>>) => {
      let n = 0;
      for (const b of await page.locator('button[data-write], [data-action=toggle-dispatch], [data-action=retry-task], [data-action=cancel-task], [data-action=drain]').all()) if (await b.isVisible()) n++;
      return n;
    };
    for (const [token, role] of [[readToken, 'read'], [apiToken, 'api']] as const) {
      const page = await openPage(`${foreman.url}/#task/${id}&token=${token}`);
      await page.waitForFunction((r) => document.body.dataset.role === r, role);
      await waitForText(page, viewState, (t) => t === 'failed', 'the failed task');
      const onTask = await visibleWriteButtons(page);
      await page.goto(`${foreman.url}/#failed`);
      await page.locator('#failed-list tr[data-task-id]').first().waitFor();
      const onFailed = await visibleWriteButtons(page);
      await page.goto(`${foreman.url}/#limits`);
      await page.locator('#limits-list .empty').waitFor();
      const onLimits = await visibleWriteButtons(page);
      await page.goto(`${foreman.url}/#`);
      await page.locator('#fleet tr[data-worker-id]').first().waitFor();
      const onHome = await visibleWriteButtons(page);
      if (role === 'read') expect([onTask, onFailed, onLimits, onHome]).toEqual([0, 0, 0, 0]);
      else for (const n of [onTask, onFailed, onLimits, onHome]) expect(n).toBeGreaterThan(0);
    }
  });

  it('is usable at 800 px wide', async () => {
    const foreman = await startForeman();
    const worker = await spawnWorker(foreman.wsUrl, { concurrency: 2 });
    const { id } = await foreman.api.request('POST', '/tasks', { ...failsOnce('bad input'), key: 'resize-photo-42' });
    await foreman.api.request('POST', '/tasks', { type: 'fail', params: { kind: 'permanent', message: 'a failure that stays' } });
    await foreman.api.request('GET', `/tasks/${id}/wait?timeoutMs=20000`);
    const page = await openPage(`${foreman.url}/#task/${id}`, { width: 800, height: 900 });
    await waitForText(page, viewState, (t) => t === 'failed', 'the failed task');
    await page.click('#view [data-action=retry-task]');
    await waitForText(page, viewState, (t) => t === 'succeeded', 'succeeded after Retry');
    // Nothing wider than the window: no sideways scrolling of the page.
    for (const hash of [`#task/${id}`, '#failed', `#worker/${worker.id}`, '#limits', '#']) {
      await page.goto(`${foreman.url}/${hash}`);
      await page.locator('#view > *, #home:not([hidden]) .tiles').first().waitFor();
      expect(await page.evaluate(() => document.documentElement.scrollWidth), hash).toBeLessThanOrEqual(800);
      await screenshot(page, `foreman-800-${hash.slice(1).split('/')[0] || 'home'}`);
    }
    await page.goto(`${foreman.url}/#task/${id}`);
    await waitForText(page, viewState, (t) => t === 'succeeded', 'task detail again');
    await screenshot(page, 'foreman-task-detail-800', 'foreman-task-detail-800.png');
  });
});
