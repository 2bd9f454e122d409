/**
 * The foreman dashboard with several foremen over PostgreSQL, in real Chromium: the fleet panel shows
 * every worker of the fleet with the foreman holding its session, offers commands only for workers
 * connected here, and the foremen panel lists each foreman with its health and worker count.
 */
import { describe, expect, it } from 'vitest';
import { openPage, screenshot, textOf, waitForText } from '../helpers/browser.js';
import { postgresAvailable } from '../helpers/postgres.js';
import { spawnWorker, startForeman } from '../helpers/processes.js';
import { storeArgs } from '../helpers/stores.js';

const foremanRow = (id: string) => `#foremen tr[data-foreman-id="${id}"]`;
const workerRow = (id: string) => `#fleet tr[data-worker-id="${id}"]`;

describe.runIf(postgresAvailable())('foreman dashboard: several foremen', () => {
  it('shows the whole fleet with each worker\'s foreman, and the foremen with their health', async () => {
    const store = await storeArgs('postgres');
    // The default --foreman-ttl-ms (10 s): with a 1 s one, a heartbeat late on a loaded machine shows a live foreman stale.
    const a = await startForeman(store, { startTimeoutMs: 60_000 });
    const b = await startForeman(store, { startTimeoutMs: 60_000 });
    const idOf = async (f: typeof a) => (await f.api.request('GET', '/foremen')).foremen.find((x: { self: boolean }) => x.self).id as string;
    const [aId, bId] = [await idOf(a), await idOf(b)];
    const here = await spawnWorker(a.wsUrl, { concurrency: 2 });
    const there = await spawnWorker(b.wsUrl, { concurrency: 3 });

    const page = await openPage(`${a.url}/`);
    await waitForText(page, '#connection', (t) => t === 'live', 'live updates');
    // B's worker, published through the database, appears on A's page with the foreman it is on.
    expect(await waitForText(page, `${workerRow(there.id)} [data-field=foreman]`, (t) => t !== '', "B's worker on A's page")).toBe(`on foreman ${bId}`);
    expect(await textOf(page, `${workerRow(there.id)} [data-field=slots]`)).toBe('0 / 3');
    expect(await textOf(page, `${workerRow(here.id)} [data-field=foreman]`)).toBe('on this foreman');
    // Commands reach a worker through its own foreman's socket: offered here only for A's worker.
    expect(await page.locator(`${workerRow(there.id)} button[data-action=drain]`).isDisabled()).toBe(true);
    expect(await page.locator(`${workerRow(here.id)} button[data-action=drain]`).isDisabled()).toBe(false);

    expect(await page.locator('#foremen').isVisible()).toBe(true);
    await waitForText(page, `${foremanRow(aId)} [data-field=health]`, (t) => t === 'alive', 'A listed alive');
    expect(await textOf(page, `${foremanRow(aId)} [data-field=self]`)).toContain('this page');
    await waitForText(page, `${foremanRow(bId)} [data-field=health]`, (t) => t === 'alive', 'B listed alive');
    // Its address as it serves, linked (the port bound at start, not the 0 asked for).
    expect(await page.locator(`${foremanRow(bId)} [data-field=where] a`).getAttribute('href')).toBe(b.url);
    expect(await waitForText(page, `${foremanRow(bId)} [data-field=workers]`, (t) => t === '1', "B's worker counted")).toBe('1');
    await screenshot(page, 'several-foremen-dashboard');

    // B dies: A finds its heartbeat expired and shows it stale until it reaps it (at once when B held no task), then drops it.
    b.kill('SIGKILL');
    await page.waitForFunction((sel) => {
      const row = document.querySelector(sel);
      return !row || row.querySelector('[data-field=health]')?.textContent === 'stale';
    }, foremanRow(bId), { timeout: 60_000 });
    // Two foremen on PostgreSQL, two workers and Chromium start on a machine other tests share.
  }, 180_000);
});

describe('foreman dashboard: one foreman', () => {
  it('hides the foremen panel with one foreman (SQLite)', async () => {
    const foreman = await startForeman();
    const w = await spawnWorker(foreman.wsUrl);
    const page = await openPage(`${foreman.url}/`);
    await waitForText(page, `${workerRow(w.id)} [data-field=state]`, (t) => t === 'active', 'worker shown');
    expect(await page.locator('#foremen').isVisible()).toBe(false);
    expect(await textOf(page, `${workerRow(w.id)} [data-field=foreman]`)).toBe('');
  });
});
