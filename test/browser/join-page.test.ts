/**
 * Browser workers in real Chromium: pages opened on the join link register over
 * /ws/worker, run js tasks in Web Workers through the same QuickJS sandbox as the
 * Node worker, earn points through quorum, survive a closed tab, pause, and say
 * so clearly when the link's token is wrong.
 */
import { describe, expect, it } from 'vitest';
import { client, LOCKED, TOKENS } from '../helpers/auth.js';
import { numberIn, openPage, screenshot, waitForText } from '../helpers/browser.js';
import { spawnWorker, startForeman } from '../helpers/processes.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { waitFor } from '../helpers/wait-for.js';

const JOIN = 'test-join-token-0123456789abcdefg';
const SQUARE_PLUS_ONE = '(n) => n * n + 1';

async function pageWorkerId(page: import('playwright-core').Page): Promise<string> {
  return waitForText(page, '#worker-id', (t) => t.startsWith('browser-'), 'worker id shown');
}

describe('browser workers', () => {
  it('two join pages and a Node worker run a 500-task quorum job: right answers, points add up, a closed tab loses nothing', async () => {
    const foreman = await startForeman([...LOCKED, '--join-token', JOIN, '--grace-ms', '1000']);
    const api = client(foreman.url);
    await spawnWorker(foreman.wsUrl, { concurrency: 2, args: ['--worker-token', TOKENS.worker, '--allow-code', '--code-threads', '2'] });
    const [a, b] = await Promise.all([openPage(`${foreman.url}/join#token=${JOIN}`), openPage(`${foreman.url}/join#token=${JOIN}`)]);
    for (const page of [a, b]) await waitForText(page, '#state', (t) => t === 'connected', 'page registered');
    const [idA, idB] = await Promise.all([pageWorkerId(a), pageWorkerId(b)]);
    expect(idA).not.toBe(idB);

    // The foreman lists them as browser workers, with their user agent.
    const { workers } = await api.request('GET', '/workers');
    const listed = workers.find((w: any) => w.id === idA);
    expect(listed.meta.browser).toBe(true);
    expect(listed.meta.userAgent).toContain('Chrome');

    const n = 500;
    const { jobId, taskIds } = await api.request('POST', '/jobs', {
      quorum: 2,
      params: { source: SQUARE_PLUS_ONE },
      tasks: Array.from({ length: n }, (_, i) => ({ type: 'js', params: { args: [i] } })),
    });
    // Close one tab once it has done some work: its running replicas go back to the queue after the grace.
    await waitFor(async () => numberIn(await b.locator('#done').innerText()) >= 20, 'page B did some tasks', 60_000);
    await b.context().close();

    await waitFor(async () => (await api.request('GET', `/jobs/${jobId}`)).complete === true, 'job complete', 240_000);
    const job = await api.request('GET', `/jobs/${jobId}`);
    expect(job.counts.succeeded).toBe(n);
    for (let i = 0; i < n; i += 50) {
      const t = await api.request('GET', `/tasks/${taskIds[i]}`);
      expect(t.result).toBe(i * i + 1);
    }

    // Exactly two valid replica results per task, each counted once: points add up to 2 × 500.
    const board = await api.request('GET', '/leaderboard?limit=100');
    const byId = new Map(board.workers.map((w: any) => [w.workerId, w]));
    const total = board.workers.reduce((sum: number, w: any) => sum + w.valid, 0);
    expect(total).toBe(2 * n);
    expect(board.workers.reduce((sum: number, w: any) => sum + w.invalid, 0)).toBe(0);
    for (const id of [idA, idB]) expect((byId.get(id) as any)?.points).toBeGreaterThan(0);

    // The open page shows its own points and rank from the leaderboard.
    const points = (byId.get(idA) as any).points as number;
    await waitForText(a, '#points', (t) => numberIn(t) === points, 'page shows its points', 15_000);
    await waitForText(a, '#rank', (t) => / of \d+$/.test(t), 'page shows its rank');
    await screenshot(a, 'join-page', 'join-page');
  });

  it('Pause takes no new tasks and lets the running one finish; Resume takes work again (trusted browser workers)', async () => {
    const foreman = await startForeman([...LOCKED, '--join-token', JOIN, '--trust-browser-workers']);
    const api = client(foreman.url);
    const page = await openPage(`${foreman.url}/join#token=${JOIN}`);
    await waitForText(page, '#state', (t) => t === 'connected', 'page registered');
    const busy = '() => { const until = Date.now() + 1500; while (Date.now() < until) {} return "done" }';
    const { taskIds } = await api.request('POST', '/jobs', Array.from({ length: 3 }, () => ({ type: 'js', params: { source: busy } })));
    await waitForText(page, '#slots-used', (t) => t.startsWith('1 '), 'one task running');
    await page.locator('#pause').click();
    await waitForText(page, '#state', (t) => t === 'paused', 'paused');

    const states = async () => Promise.all(taskIds.map(async (id: string) => (await api.request('GET', `/tasks/${id}`)).state));
    await waitFor(async () => (await states()).includes('succeeded'), 'the running task finished', 20_000);
    const { workers } = await api.request('GET', '/workers');
    expect(workers[0].state).toBe('draining');
    // Paused: the other two stay queued.
    expect((await states()).filter((s) => s === 'queued')).toHaveLength(2);

    // The foreman's dashboard shares the link (with a QR code) and marks the page as a browser worker.
    const dashboard = await openPage(`${foreman.url}/#token=${TOKENS.api}`);
    await waitForText(dashboard, '#join [data-field=join-url]', (t) => t.endsWith(`/join/#token=${JOIN}`), 'join link shown');
    expect(await dashboard.locator('#join .qr svg').count()).toBe(1);
    const pageId = await pageWorkerId(page);
    await waitForText(dashboard, `#fleet tr[data-worker-id="${pageId}"] [data-field=skills]`, (t) => t.startsWith('browser (Chrome'), 'browser worker marked');

    await page.locator('#pause').click();
    await waitForText(page, '#state', (t) => t === 'connected', 'resumed');
    await waitFor(async () => (await states()).every((s) => s === 'succeeded'), 'all three done after resume', 30_000);
    expect(numberIn(await page.locator('#done').innerText())).toBe(3);

    // Reopening the page comes back as the same worker (its id is kept in localStorage).
    await page.reload();
    await waitForText(page, '#state', (t) => t === 'connected', 'reconnected after reload');
    expect(await pageWorkerId(page)).toBe(pageId);
    await waitFor(async () => (await api.request('GET', '/workers')).workers.find((w: any) => w.id === pageId && w.reconnects >= 1 && w.state === 'active'), 'same worker back');
  });

  it('a page given a wrong token says so and stops; the foreman logs the refusal', async () => {
    const foreman = await startForeman([...LOCKED, '--join-token', JOIN]);
    const page = await openPage(`${foreman.url}/join#token=not-the-join-token-at-all`);
    await waitForText(page, '#state', (t) => t === 'refused', 'refused');
    expect(await page.locator('#error').innerText()).toContain('refused the join token');
    await foreman.waitForLine((l) => l.msg === 'refused a worker hello' && l.code === 'UNAUTHORIZED', 'refusal logged');
    const { workers } = await client(foreman.url).request('GET', '/workers');
    expect(workers).toHaveLength(0);

    // The join token registers sandboxed task types in a browser-style hello, nothing else.
    const greedy = await RawPeer.connect(foreman.wsUrl);
    greedy.hello('greedy', { authToken: JOIN, skills: [{ type: 'js' }, { type: 'echo' }], meta: { browser: true } });
    expect(await greedy.closed).toBe(4001);
    const disguised = await RawPeer.connect(foreman.wsUrl);
    disguised.hello('disguised', { authToken: JOIN, skills: [{ type: 'js' }] });
    expect(await disguised.closed).toBe(4001);
    const honest = await RawPeer.connect(foreman.wsUrl);
    honest.hello('honest', { authToken: JOIN, skills: [{ type: 'js' }], meta: { browser: true } });
    await honest.next((m) => m.kind === 'welcome');
  });
});
