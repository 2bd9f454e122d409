/**
 * The leaderboard panel of the foreman dashboard in real Chromium: workers ranked by the
 * points their quorum results earned, in agreement with GET /leaderboard, a liar flagged.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openPage, screenshot, textOf, waitForText } from '../helpers/browser.js';
import { spawnWorker, startForeman } from '../helpers/processes.js';

const HANDLERS = fileURLToPath(new URL('../fixtures/quorum-handlers.ts', import.meta.url));

describe('leaderboard panel', () => {
  it('ranks workers by quorum points and flags a quarantined liar', async () => {
    const foreman = await startForeman();
    const ids: string[] = [];
    for (const liar of [false, false, false, true]) {
      const w = await spawnWorker(foreman.wsUrl, { concurrency: 4, args: ['--handlers', HANDLERS], env: liar ? { GAFFER_TEST_LIAR: '1' } : {} });
      ids.push(w.id);
    }
    const liarId = ids[3];
    // Every n is a multiple of 4: the liar lies on all of them and is quarantined after two.
    const tasks = Array.from({ length: 12 }, (_, i) => ({ type: 'square', params: { n: 4 * i } }));
    const { jobId } = await foreman.api.request('POST', '/jobs', { quorum: 3, tasks });
    for await (const r of foreman.api.results(jobId)) expect(r.state).toBe('succeeded');
    const page = await openPage(`${foreman.url}/`);
    const liarRow = `#leaderboard tr[data-worker="${liarId}"]`;
    await waitForText(page, `${liarRow} [data-field=flag]`, (t) => t === 'quarantined', 'liar flagged');
    const board = await foreman.api.request('GET', '/leaderboard');
    for (const w of board.workers) {
      const row = `#leaderboard tr[data-worker="${w.workerId}"]`;
      await waitForText(page, `${row} [data-field=points]`, (t) => t === String(w.points), `${w.workerId} points`);
      expect(await textOf(page, `${row} [data-field=invalid]`)).toBe(String(w.invalid));
    }
    expect(await textOf(page, `${liarRow} [data-field=points]`)).toBe('0');
    await screenshot(page, 'leaderboard');
  }, 120_000);
});
