/**
 * The worker status server, end to end: a real foreman, real worker
 * processes, and every endpoint checked against what the foreman records.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { spawnWorker, startForeman, tempDir } from '../helpers/processes.js';
import { getTask, settled, submit, waitForTask } from '../helpers/tasks.js';
import { waitFor } from '../helpers/wait-for.js';

async function json(url: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

/** A file the `record` fixture appends one line to per execution. */
function executionLog(): { file: string; count(): number; attempts(): number[] } {
  const file = join(tempDir(), 'executions.txt');
  writeFileSync(file, '');
  const lines = () => readFileSync(file, 'utf8').split('\n').filter(Boolean);
  return { file, count: () => lines().length, attempts: () => lines().map((l) => Number(l.split(' ')[1])) };
}

describe('worker status server', () => {
  it('GET / describes the worker and its running tasks as JSON, and serves the dashboard to browsers', async () => {
    const foreman = await startForeman();
    const worker = await spawnWorker(foreman.wsUrl, { concurrency: 3 });
    const id = await submit(foreman.api, { type: 'progress', params: { steps: 200, ms: 50 } });
    const status = await waitFor(async () => {
      const { body } = await json(`${worker.statusUrl}/`);
      return body.tasks.length === 1 && body.tasks[0].progress !== null && body;
    }, 'the running task with progress on GET /');
    expect(status).toMatchObject({
      workerId: worker.id,
      state: 'ready',
      foreman: `${foreman.wsUrl}/ws/worker`,
      statusUrl: worker.statusUrl,
      restarting: null,
      config: { concurrency: 3 },
    });
    expect(status.skills).toContainEqual({ type: 'progress', group: 'progress' });
    expect(status.tasks[0]).toMatchObject({ id, type: 'progress', attempt: 1 });
    expect(status.tasks[0].startedAt).toBeGreaterThan(0);
    expect(status.tasks[0].progress.fraction).toBeGreaterThan(0);

    const page = await fetch(`${worker.statusUrl}/`, { headers: { accept: 'text/html,application/xhtml+xml' } });
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('/dashboard/worker.js');
    const script = await fetch(`${worker.statusUrl}/dashboard/worker.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await fetch(`${worker.statusUrl}/dashboard/..%2Fpackage.json`)).status).toBe(404);

    // The foreman lists the same status page for this worker.
    const { workers } = await foreman.api.request('GET', '/workers');
    expect(workers.find((w: any) => w.id === worker.id).statusUrl).toBe(worker.statusUrl);
  });

  it('GET /stats counts outcomes per type, execution time, throughput, uptime and resources; GET /health answers', async () => {
    const foreman = await startForeman();
    const worker = await spawnWorker(foreman.wsUrl);
    const { jobId } = await foreman.api.request('POST', '/jobs', [
      { type: 'sleep', params: { ms: 20 } },
      { type: 'sleep', params: { ms: 20 } },
      { type: 'echo', params: 1 },
      { type: 'fail', params: { kind: 'permanent', message: 'on purpose' } },
    ]);
    for await (const _ of foreman.api.results(jobId));
    const { body: stats } = await json(`${worker.statusUrl}/stats`);
    expect(stats).toMatchObject({ completed: 3, failed: 1, cancelled: 0, reconnects: 0 });
    expect(stats.perType.sleep).toMatchObject({ succeeded: 2, failed: 0, cancelled: 0 });
    expect(stats.perType.sleep.meanMs).toBeGreaterThanOrEqual(20);
    expect(stats.perType.fail).toMatchObject({ succeeded: 0, failed: 1 });
    expect(stats.totalExecutionMs).toBeGreaterThanOrEqual(40);
    expect(stats.meanExecutionMs).toBeCloseTo(stats.totalExecutionMs / 4);
    expect(stats.throughputSeries).toHaveLength(60);
    expect(stats.throughputSeries.reduce((a: number, b: number) => a + b, 0)).toBe(4);
    expect(stats.throughputLastMinute).toBeCloseTo(4 / 60);
    expect(stats.uptimeMs).toBeGreaterThan(0);
    expect(stats.process.rssBytes).toBeGreaterThan(0);
    expect(typeof stats.process.cpuPercent).toBe('number');
    expect(stats.machine.cpus).toBeGreaterThan(0);
    expect(stats.machine.totalMemBytes).toBeGreaterThan(stats.machine.freeMemBytes);
    expect(stats.recentErrors).toEqual([expect.objectContaining({ type: 'fail', code: 'PERMANENT', message: 'on purpose' })]);

    const health = await json(`${worker.statusUrl}/health`);
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ ok: true, state: 'ready', workerId: worker.id });
    // The foreman dashboard probes this from another origin.
    expect(health.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('GET /ws streams status and stats, and pushes a new snapshot when work finishes', async () => {
    const foreman = await startForeman();
    const worker = await spawnWorker(foreman.wsUrl);
    const messages: any[] = [];
    const socket = new WebSocket(`${(worker.statusUrl as string).replace(/^http/, 'ws')}/ws`);
    socket.on('message', (data) => messages.push(JSON.parse(String(data))));
    try {
      await waitFor(() => messages.length > 0, 'the first live message');
      expect(messages[0].status).toMatchObject({ workerId: worker.id, state: 'ready', tasks: [] });
      expect(messages[0].stats).toMatchObject({ completed: 0 });
      const id = await submit(foreman.api, { type: 'progress', params: { steps: 4, ms: 100 } });
      const running = await waitFor(() => messages.find((m) => m.status.tasks.some((t: any) => t.id === id && t.progress)), 'a message with the task running');
      expect(running.status.tasks[0]).toMatchObject({ id, type: 'progress', attempt: 1 });
      await waitFor(() => messages.some((m) => m.stats.completed === 1 && m.status.tasks.length === 0), 'a message with the task completed');
      await waitForTask(foreman.api, id, (t) => t.state === 'succeeded', 'task accepted by the foreman');
    } finally {
      socket.terminate();
    }
  });

  it('POST /restart (graceful) lets the running task finish and be accepted, then registers again', async () => {
    const foreman = await startForeman();
    const worker = await spawnWorker(foreman.wsUrl, { concurrency: 1 });
    const log = executionLog();
    const id = await submit(foreman.api, { type: 'record', params: { file: log.file, ms: 1500 } });
    await waitFor(() => log.count() === 1, 'the handler started');

    const res = await json(`${worker.statusUrl}/restart`, { method: 'POST' });
    expect(res).toMatchObject({ status: 202, body: { restarting: true, mode: 'graceful' } });
    const again = await json(`${worker.statusUrl}/restart?mode=hard`, { method: 'POST' });
    expect(again).toMatchObject({ status: 409, body: { code: 'RESTART_IN_PROGRESS' } });
    const during = await json(`${worker.statusUrl}/`);
    expect(during.body).toMatchObject({ state: 'draining', restarting: 'graceful' });

    const task = await waitForTask(foreman.api, id, settled, 'task settled');
    expect(task).toMatchObject({ state: 'succeeded', attempt: 1, workerId: worker.id });
    expect(task.attempts).toEqual([expect.objectContaining({ attempt: 1, outcome: 'succeeded' })]);
    expect(log.count()).toBe(1);
    await worker.registered(2);
    await waitFor(async () => (await json(`${worker.statusUrl}/`)).body.restarting === null, 'restart finished');
    const { body } = await json(`${worker.statusUrl}/`);
    expect(body.state).toBe('ready');
    expect((await json(`${worker.statusUrl}/stats`)).body.reconnects).toBe(1);
    const { workers } = await foreman.api.request('GET', '/workers');
    expect(workers[0]).toMatchObject({ id: worker.id, state: 'active', reconnects: 1 });
  });

  it('POST /restart?mode=hard aborts the running task, which goes back to the queue and completes again', async () => {
    const foreman = await startForeman();
    const worker = await spawnWorker(foreman.wsUrl, { concurrency: 1 });
    const log = executionLog();
    const id = await submit(foreman.api, { type: 'record', params: { file: log.file, ms: 1500 } });
    await waitFor(() => log.count() === 1, 'the handler started');

    const res = await json(`${worker.statusUrl}/restart?mode=hard`, { method: 'POST' });
    expect(res).toMatchObject({ status: 202, body: { restarting: true, mode: 'hard' } });

    const task = await waitForTask(foreman.api, id, settled, 'task settled');
    expect(task.state).toBe('succeeded');
    expect(task.attempt).toBeGreaterThanOrEqual(2);
    expect(task.failures).toBe(0);
    // The aborted attempt was handed back, not failed: it costs the task nothing.
    expect(task.attempts[0]).toMatchObject({ attempt: 1, outcome: 'released' });
    expect(task.attempts.at(-1)).toMatchObject({ outcome: 'succeeded' });
    expect(task.result).toMatchObject({ attempt: task.attempt });
    // Ran twice: the aborted attempt and the accepted one. (An attempt assigned to the closing
    // session in between may be lost without running, so attempt numbers can skip one.)
    expect(log.attempts()).toEqual([1, task.attempt]);
    await worker.registered(2);
  });

  it('rejects an unknown restart mode, and off loopback requires the control token', async () => {
    const foreman = await startForeman();
    const open = await spawnWorker(foreman.wsUrl);
    expect(await json(`${open.statusUrl}/restart?mode=sideways`, { method: 'POST' })).toMatchObject({ status: 400 });

    const guarded = await spawnWorker(foreman.wsUrl, { args: ['--status-host', '0.0.0.0', '--control-token', 'let-me-in'] });
    const url = (guarded.statusUrl as string).replace('0.0.0.0', '127.0.0.1');
    expect(await json(`${url}/restart`, { method: 'POST' })).toMatchObject({ status: 401, body: { code: 'UNAUTHORIZED' } });
    expect(await json(`${url}/restart`, { method: 'POST', headers: { authorization: 'Bearer wrong' } })).toMatchObject({ status: 401 });
    // Reading stays open: only the restart is a command.
    expect((await json(`${url}/health`)).status).toBe(200);
    const ok = await json(`${url}/restart?mode=hard`, { method: 'POST', headers: { authorization: 'Bearer let-me-in' } });
    expect(ok).toMatchObject({ status: 202, body: { mode: 'hard' } });
    await guarded.registered(2);
  });

  it('--no-status serves nothing and tells the foreman there is no status page', async () => {
    const foreman = await startForeman();
    const worker = await spawnWorker(foreman.wsUrl, { args: ['--no-status'] });
    expect(worker.statusUrl).toBeNull();
    const { workers } = await foreman.api.request('GET', '/workers');
    expect(workers.find((w: any) => w.id === worker.id).statusUrl).toBeNull();
    // A task still runs: the status server is optional.
    const id = await submit(foreman.api, { type: 'echo', params: 'x' });
    expect((await waitForTask(foreman.api, id, settled, 'echo settled')).state).toBe('succeeded');
    expect((await getTask(foreman.api, id)).result).toBe('x');
  });
});
