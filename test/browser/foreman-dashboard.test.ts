/**
 * The foreman dashboard in real Chromium against a real foreman and worker
 * processes: live numbers that agree with the JSON API, and an aggregated feed.
 */
import { describe, expect, it } from 'vitest';
import { countWsFrames, numberIn, openPage, screenshot, textOf, waitForText } from '../helpers/browser.js';
import { spawnWorker, startForeman } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait-for.js';

const jobRow = (jobId: string) => `#jobs tr[data-job-id="${jobId}"]`;


describe('foreman dashboard', () => {
  it('shows fleet, queue, jobs and charts live, in agreement with the JSON API', async () => {
    const foreman = await startForeman();
    const workers = await Promise.all([spawnWorker(foreman.wsUrl, { concurrency: 2 }), spawnWorker(foreman.wsUrl, { concurrency: 2 })]);
    // A task no worker can run: the queue panel must say why it waits.
    await foreman.api.request('POST', '/tasks', { type: 'transcode', params: {}, priority: 3 });

    let frames = { received: () => 0 };
    const openedAt = Date.now();
    const page = await openPage(`${foreman.url}/`, { beforeLoad: (p) => (frames = countWsFrames(p)) });
    await waitForText(page, '#connection', (t) => t === 'live', 'live updates');
    for (const w of workers) {
      const row = `#fleet tr[data-worker-id="${w.id}"]`;
      await waitForText(page, `${row} [data-field=state]`, (t) => t === 'active', `${w.id} active`);
      expect(await textOf(page, `${row} [data-field=slots]`)).toBe('0 / 2');
      // The status page link appears once the browser has reached the worker's /health.
      await page.locator(`${row} [data-field=link] a`).waitFor();
      expect(await page.locator(`${row} [data-field=link] a`).getAttribute('href')).toBe(w.statusUrl);
    }
    await waitForText(page, '#unrunnable', (t) => t.includes('transcode (1)'), 'unrunnable warning');
    expect(await textOf(page, '#queue-types tr[data-type=transcode] [data-field=skill]')).toMatch(/none/);
    expect(await textOf(page, '#queue-priorities tr[data-priority="3"] [data-field=depth]')).toBe('1');

    const tasks = [
      ...Array.from({ length: 60 }, () => ({ type: 'sleep', params: { ms: 300 } })),
      { type: 'fail', params: { kind: 'permanent', message: 'bad input' } },
      { type: 'fail', params: { kind: 'permanent', message: 'bad input' } },
    ];
    const { jobId } = await foreman.api.request('POST', '/jobs', tasks);
    const settledSel = `${jobRow(jobId)} [data-field=settled]`;

    // Live: the settled count rises on screen while the job is still running, and tasks show in the fleet.
    const first = numberIn(await waitForText(page, settledSel, (t) => /\d/.test(t), 'job row'));
    await page.locator('#fleet .chip[data-task-id]').first().waitFor();
    const later = numberIn(await waitForText(page, settledSel, (t) => numberIn(t) > first && numberIn(t) < tasks.length, 'settled count rising'));
    const api = await foreman.api.request('GET', `/jobs/${jobId}`);
    expect(api.complete).toBe(false);
    expect(later).toBeGreaterThan(first);
    expect(numberIn(await textOf(page, `${jobRow(jobId)} [data-field=rate]`))).toBeGreaterThan(0);
    await waitForText(page, '[data-field="chart.completed"]', (t) => numberIn(t) > 0, 'tasks/s chart legend above zero');
    await waitForText(page, '[data-field="chart.p50"]', (t) => /ms|s$/.test(t), 'dispatch latency shown');
    await screenshot(page, 'foreman-dashboard-running');

    for await (const _ of foreman.api.results(jobId));
    const done = await foreman.api.request('GET', `/jobs/${jobId}`);
    expect(done).toMatchObject({ complete: true, settled: 62, counts: { succeeded: 60, failed: 2 } });
    await waitForText(page, settledSel, (t) => numberIn(t) === done.settled, 'final settled count');
    expect(numberIn(await textOf(page, `${jobRow(jobId)} [data-field=total]`))).toBe(done.total);
    expect(await textOf(page, `${jobRow(jobId)} [data-code=PERMANENT]`)).toBe('PERMANENT ×2');
    expect(await textOf(page, `${jobRow(jobId)} [data-field=eta]`)).toBe('done');
    expect(await page.locator(`${jobRow(jobId)} [data-action=cancel-job]`).isDisabled()).toBe(true);

    const stats = await foreman.api.request('GET', '/stats');
    // One snapshot may hold the last success before the last failure: wait for one that shows both.
    const tile = async (name: string) => numberIn(await textOf(page, `[data-field="tasks.${name}"]`));
    await waitFor(async () => (await tile('succeeded')) === stats.tasks.succeeded && (await tile('failed')) === stats.tasks.failed, 'succeeded and failed tiles');
    expect(numberIn(await textOf(page, '[data-field="tasks.queued"]'))).toBe(stats.tasks.queued);
    expect(numberIn(await textOf(page, '[data-field="queue.depth"]'))).toBe(stats.queue.depth);
    expect(await textOf(page, '[data-field="workers.online"]')).toBe('2');
    expect(await textOf(page, '[data-field=slots]')).toBe(`0 / ${stats.slots.capacity}`);
    expect(numberIn(await textOf(page, '[data-field="chart.workers"]'))).toBe(2);

    // Aggregated: one message per tick (500 ms) at most, never one per task.
    const elapsedMs = Date.now() - openedAt;
    expect(frames.received()).toBeGreaterThan(2);
    expect(frames.received()).toBeLessThanOrEqual(Math.ceil(elapsedMs / 500) + 2);
    await screenshot(page, 'foreman-dashboard-done');

    // The README picture: a second job half done, with the first one's history on the charts.
    const second = await foreman.api.request('POST', '/jobs', Array.from({ length: 40 }, () => ({ type: 'sleep', params: { ms: 300 } })));
    await waitForText(page, `${jobRow(second.jobId)} [data-field=settled]`, (t) => numberIn(t) >= 16, 'second job under way');
    await screenshot(page, 'foreman-dashboard', 'foreman-dashboard.png');
  });

  it('stays correct through a burst of thousands of tasks, still one message per tick', async () => {
    const foreman = await startForeman();
    await Promise.all([spawnWorker(foreman.wsUrl, { concurrency: 64 }), spawnWorker(foreman.wsUrl, { concurrency: 64 })]);
    let frames = { received: () => 0 };
    const openedAt = Date.now();
    const page = await openPage(`${foreman.url}/`, { beforeLoad: (p) => (frames = countWsFrames(p)) });
    await waitForText(page, '#connection', (t) => t === 'live', 'live updates');

    const count = 5000;
    const ndjson = Array.from({ length: count }, (_, i) => JSON.stringify({ type: 'echo', params: i })).join('\n');
    const { jobId } = await foreman.api.submitNdjson(ndjson);
    for await (const _ of foreman.api.results(jobId));
    const stats = await foreman.api.request('GET', '/stats');
    expect(stats.tasks.succeeded).toBe(count);
    await waitForText(page, `${jobRow(jobId)} [data-field=settled]`, (t) => numberIn(t) === count, 'every task settled on the page');
    await waitForText(page, '[data-field="tasks.succeeded"]', (t) => numberIn(t) === count, 'succeeded tile');
    // The per-second chart adds up to the whole job once its last second has closed.
    const charted = await waitFor(async () => {
      const snapshot = await page.evaluate(() => (window as unknown as { lastSnapshot?: { series: { completed: Array<number | null> } } }).lastSnapshot);
      const sum = (snapshot?.series.completed ?? []).reduce<number>((a, b) => a + (b ?? 0), 0);
      return sum === count && sum;
    }, 'the tasks/s series to account for every task');
    expect(charted).toBe(count);
    expect(frames.received()).toBeLessThanOrEqual(Math.ceil((Date.now() - openedAt) / 500) + 2);
  });

  it('reads the API token from #token=, sends it on the socket and on commands, and keeps it out of the address bar', async () => {
    const token = 'dashboard-test-token-0123456789';
    const foreman = await startForeman(['--api-token', token]);
    const worker = await spawnWorker(foreman.wsUrl);
    const page = await openPage(`${foreman.url}/#token=${token}`);
    await waitForText(page, '#connection', (t) => t === 'live', 'live updates with the token');
    expect(new URL(page.url()).hash).toBe('');
    expect(await page.evaluate(() => localStorage.getItem('gaffer.token'))).toBe(token);

    await page.locator(`#fleet tr[data-worker-id="${worker.id}"] [data-action=drain]`).click();
    await waitFor(async () => {
      const res = await fetch(`${foreman.url}/workers`, { headers: { authorization: `Bearer ${token}` } });
      const { workers } = await res.json();
      return workers[0]?.draining === true;
    }, 'worker draining after the Drain click');

    // Reloaded without the fragment, the page still has its token (localStorage).
    await page.goto(`${foreman.url}/`);
    await waitForText(page, '#connection', (t) => t === 'live', 'live again from the stored token');

    // A fresh browser profile without a token cannot open the feed, and says so.
    const stranger = await openPage(`${foreman.url}/`);
    await waitForText(stranger, '#banner', (t) => t.includes('#token='), 'the token hint');
  });
});
