import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { client, LOCKED, TOKENS } from '../helpers/auth.js';
import { spawnWorker, startForeman } from '../helpers/processes.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { settled, waitForTask } from '../helpers/tasks.js';

/** Parses Prometheus text into `name{labels}` → value. */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

async function scrape(url: string, token?: string): Promise<Map<string, number>> {
  const res = await fetch(`${url}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return parseMetrics(await res.text());
}

describe('observability', () => {
  it('exposes task, queue, worker, protocol and store metrics at GET /metrics (read token is enough)', async () => {
    const foreman = await startForeman([...LOCKED, '--retry-backoff-ms', '10']);
    const w = await spawnWorker(foreman.wsUrl, { args: ['--worker-token', TOKENS.worker] });
    const api = client(foreman.url);
    const ok = await Promise.all([1, 2, 3].map((n) => api.request('POST', '/tasks', { type: 'echo', params: n })));
    const bad = await api.request('POST', '/tasks', { type: 'fail', params: { kind: 'permanent' }, maxAttempts: 1 });
    const retried = await api.request('POST', '/tasks', { type: 'fail', params: { kind: 'transient', succeedOnAttempt: 3 }, maxAttempts: 3 });
    await waitForTask(api, retried.id, (t) => t.state === 'succeeded', 'the retried task to succeed');
    const waiting = await api.request('POST', '/tasks', { type: 'nobody-runs-this' });
    for (const { id } of [...ok, bad]) await waitForTask(api, id, settled, 'settled');
    const peer = await RawPeer.connect(foreman.wsUrl);
    peer.sendRaw(Buffer.from([0xc1]));
    await peer.next((m) => m.code === 'BAD_FRAME');
    peer.close();

    const m = await scrape(foreman.url, TOKENS.read);
    expect(m.get('gaffer_tasks_submitted_total{type="echo"}')).toBe(3);
    expect(m.get('gaffer_tasks_settled_total{type="echo",state="succeeded"}')).toBe(3);
    expect(m.get('gaffer_tasks_settled_total{type="fail",state="failed"}')).toBe(1);
    expect(m.get('gaffer_task_attempts_total{type="echo",outcome="succeeded"}')).toBe(3);
    // Retries show as attempts: the transient task failed twice before its third attempt succeeded.
    expect(m.get('gaffer_task_attempts_total{type="fail",outcome="failed"}')).toBe(3);
    expect(m.get('gaffer_task_attempts_total{type="fail",outcome="succeeded"}')).toBe(1);
    expect(m.get('gaffer_task_failures_total{type="fail",code="PERMANENT"}')).toBe(1);
    expect(m.get('gaffer_task_failures_total{type="fail",code="HANDLER_ERROR"}')).toBe(2);
    expect(m.get('gaffer_tasks{state="succeeded"}')).toBe(4);
    expect(m.get('gaffer_tasks{state="queued"}')).toBe(1);
    expect(m.get('gaffer_queue_depth{type="nobody-runs-this"}')).toBe(1);
    expect(m.get('gaffer_dispatch_latency_seconds_count{type="echo"}')).toBe(3);
    expect(m.get('gaffer_task_run_seconds_count{type="echo",state="succeeded"}')).toBe(3);
    expect(m.get('gaffer_store_commit_seconds_count')).toBeGreaterThan(0);
    expect(m.get('gaffer_workers{state="active"}')).toBe(1);
    expect(m.get(`gaffer_worker_missed_heartbeats{worker_id="${w.id}"}`)).toBe(0);
    expect(m.get('gaffer_protocol_errors_total{code="BAD_FRAME"}')).toBe(1);
    expect(m.get('process_resident_memory_bytes')).toBeGreaterThan(10_000_000);
    expect(waiting.id).toMatch(/^t_/);

    // Refusals are counted too, and /metrics itself needs a token.
    expect((await fetch(`${foreman.url}/metrics`)).status).toBe(401);
    const after = await scrape(foreman.url, TOKENS.api);
    expect(after.get('gaffer_http_denied_total{status="401"}')).toBe(1);

    // The worker's status server has its own metrics.
    const wm = await scrape(w.statusUrl as string);
    expect(wm.get('gaffer_worker_tasks_total{type="echo",outcome="succeeded"}')).toBe(3);
    expect(wm.get('gaffer_worker_tasks_total{type="fail",outcome="failed"}')).toBe(3);
    expect(wm.get('gaffer_worker_ready')).toBe(1);
    expect(wm.get('process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('serves OpenAPI at /docs, generated from the route schemas', async () => {
    const foreman = await startForeman(LOCKED);
    const spec = await fetch(`${foreman.url}/docs/json`).then((r) => r.json());
    expect(spec.openapi).toMatch(/^3\./);
    const submitTask = spec.paths['/tasks'].post;
    expect(submitTask.requestBody.content['application/json'].schema.required).toEqual(['type']);
    expect(spec.paths['/tasks'].get.parameters.map((p: { name: string }) => p.name)).toContain('limit');
    expect(spec.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(spec.paths['/ws/worker']).toBeUndefined();
    const page = await fetch(`${foreman.url}/docs`, { redirect: 'follow' });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('swagger');
  });

  it('logs JSON with task and worker ids when piped, and pretty lines on a terminal', async () => {
    const foreman = await startForeman();
    const w = await spawnWorker(foreman.wsUrl);
    const registered = await foreman.waitForLine((l) => l.msg === 'worker registered', 'registration log');
    expect(registered).toMatchObject({ workerId: w.id, level: 30 });
    expect(typeof registered.time).toBe('number');

    // The logger factory itself, in a child process so pino-pretty's transport writes to a real stdout.
    const logger = fileURLToPath(new URL('../../cli/logger.ts', import.meta.url));
    const script = `import { createLogger } from '${logger}'; const l = createLogger('info', PRETTY); l.info({ taskId: 't_1', settings: { apiToken: 'secret-token-value-123' } }, 'hello pretty'); l.flush?.();`;
    const run = (pretty: boolean) =>
      spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script.replace('PRETTY', String(pretty))], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } }).stdout;
    const json = JSON.parse(run(false).trim());
    expect(json).toMatchObject({ msg: 'hello pretty', taskId: 't_1', settings: { apiToken: '[set]' } });
    const pretty = run(true);
    expect(pretty).toMatch(/INFO.*hello pretty/);
    expect(pretty).not.toContain('secret-token-value-123');
    expect(() => JSON.parse(pretty.trim())).toThrow();
  });
});
