/**
 * The foreman dashboard's Schedules view (#schedules) in real Chromium against a real foreman: a
 * schedule made through the API is listed with its cron, zone, task type, next run, last firing and
 * firings, which move as it fires; one added from the page's form is stored as typed and deleted from
 * its button; a read-only token sees neither form nor button; the page fits 800 px.
 */
import { describe, expect, it } from 'vitest';
import { numberIn, openPage, screenshot, textOf, waitForText } from '../helpers/browser.js';
import { startForeman } from '../helpers/processes.js';

/** A process start may take long on a machine other tests share. */
const SLOW_START = { startTimeoutMs: 60_000 };

const row = (name: string, field: string) => `#schedules-list tr[data-schedule="${name}"] [data-field=${field}]`;

describe('foreman dashboard: schedules', () => {
  it('lists schedules with their next run and firings, adds one from the form and deletes it', async () => {
    const foreman = await startForeman([], SLOW_START);
    await foreman.api.request('POST', '/schedules', { name: 'every-second', cron: '* * * * * *', timezone: 'Europe/Paris', task: { type: 'identity', params: 'tick' } });
    const page = await openPage(`${foreman.url}/`, { width: 800, height: 900 });
    await page.click('nav.views a[href="#schedules"]');

    expect(await waitForText(page, row('every-second', 'cron'), (t) => t !== '', 'the schedule listed')).toBe('* * * * * *');
    expect(await textOf(page, row('every-second', 'timezone'))).toBe('Europe/Paris');
    expect(await textOf(page, row('every-second', 'type'))).toBe('identity');
    // It fires while the page is open: the page follows without a reload.
    const fired = numberIn(await waitForText(page, row('every-second', 'firings'), (t) => t !== '' && numberIn(t) >= 2, 'two firings shown'));
    expect(await textOf(page, row('every-second', 'last-fired'))).toMatch(/^\d\d:\d\d:\d\d \(.* ago\)$/);
    expect(await textOf(page, row('every-second', 'next-run'))).toMatch(/^\d\d:\d\d:\d\d \(/);
    expect((await foreman.api.request('GET', '/schedules/every-second')).firings).toBeGreaterThanOrEqual(fired);

    const form = 'form[data-schedule-form]';
    await page.fill(`${form} [name=name]`, 'nightly-report');
    await page.fill(`${form} [name=cron]`, '0 2 * * *');
    await page.fill(`${form} [name=timezone]`, 'America/New_York');
    await page.fill(`${form} [name=type]`, 'report');
    await page.fill(`${form} [name=params]`, '{"scope":"all"}');
    await page.selectOption(`${form} [name=catchUp]`, 'skip');
    await page.click(`${form} [data-action=save-schedule]`);
    await waitForText(page, row('nightly-report', 'cron'), (t) => t === '0 2 * * *', 'the added schedule listed');
    expect(await foreman.api.request('GET', '/schedules/nightly-report')).toMatchObject({
      cron: '0 2 * * *', timezone: 'America/New_York', catchUp: 'skip', task: { type: 'report', params: { scope: 'all' } }, firings: 0,
    });
    expect(await textOf(page, row('nightly-report', 'last-fired'))).toBe('–');
    // Nothing wider than the window.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(800);
    await screenshot(page, 'foreman-schedules');

    await page.click('#schedules-list tr[data-schedule="nightly-report"] [data-action=delete-schedule]');
    await page.locator('#schedules-list tr[data-schedule="nightly-report"]').waitFor({ state: 'detached' });
    expect((await foreman.api.request('GET', '/schedules')).schedules.map((s: { name: string }) => s.name)).toEqual(['every-second']);
  });

  it('shows a read-only token the schedules but no form or button to change them', async () => {
    const apiToken = 'schedules-api-token-0123456789';
    const readToken = 'schedules-read-token-0123456789';
    const foreman = await startForeman(['--api-token', apiToken, '--read-token', readToken], SLOW_START);
    const res = await fetch(`${foreman.url}/schedules`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'nightly', cron: '0 2 * * *', task: { type: 'report' } }),
    });
    expect(res.status).toBe(201);
    for (const [token, role] of [[readToken, 'read'], [apiToken, 'api']] as const) {
      const page = await openPage(`${foreman.url}/#schedules&token=${token}`);
      await page.waitForFunction((r) => document.body.dataset.role === r, role);
      await waitForText(page, row('nightly', 'cron'), (t) => t === '0 2 * * *', 'the schedule listed');
      let visible = 0;
      for (const b of await page.locator('#view button[data-write], #view [data-schedule-form]').all()) if (await b.isVisible()) visible++;
      if (role === 'read') expect(visible).toBe(0);
      else expect(visible).toBeGreaterThan(0);
    }
  });
});
