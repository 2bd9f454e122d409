/**
 * The OpenAPI document at /docs/json, checked two ways against a real foreman and worker:
 * - the rules of redocly's "recommended" set that matter for generating a client (every
 *   operation has a summary, a unique URL-safe operationId, a declared tag, a 2xx and a 4xx
 *   response with a schema; servers, license and tag descriptions present);
 * - every route is called, and each reply's body is validated against the schema documented
 *   for its status and content type (NDJSON: every line).
 * A new route must be documented (foreman/http/openapi.ts) and get a request in CALLS below.
 */
// ajv comes with fastify (which validates requests with it); it is not a dependency of its own.
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { LOCKED, TOKENS } from '../helpers/auth.js';
import { spawnWorker, startForeman } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait-for.js';

interface Reply {
  status: number;
  contentType: string;
  text: string;
}

type Call = (path: string, init?: { method?: string; token?: string | null; body?: unknown; ndjson?: string; raw?: string; headers?: Record<string, string> }) => Promise<Reply>;

/** Requests for each operation, by "METHOD /path/{param}"; each returns what it got back. */
type Calls = Record<string, (call: Call, ids: Ids) => Promise<Reply[]>>;

interface Ids {
  okTask: string;
  failedTask: string;
  openJob: string;
  closedJob: string;
  workerId: string;
  drainWorkerId: string;
}


const CALLS: Calls = {
  'GET /metrics': (call) => Promise.all([call('/metrics'), call('/metrics', { token: null })]),
  'POST /tasks': (call) =>
    Promise.all([
      call('/tasks', { method: 'POST', body: { type: 'echo', params: 1 } }),
      call('/tasks', { method: 'POST', body: { type: 'echo', params: 1, key: 'k-1' } }).then(async (first) => [
        first,
        await call('/tasks', { method: 'POST', body: { type: 'echo', params: 1, key: 'k-1' } }),
        await call('/tasks', { method: 'POST', body: { type: 'echo', params: 2, key: 'k-1' } }),
      ]),
      call('/tasks', { method: 'POST', body: { type: 7 } }),
      call('/tasks', { method: 'POST', body: { type: 'echo' }, token: TOKENS.read }),
    ]).then((r) => r.flat()),
  'GET /tasks': (call) => Promise.all([call('/tasks?order=desc&limit=5'), call('/tasks?state=lost')]),
  'GET /tasks/{id}': (call, ids) => Promise.all([call(`/tasks/${ids.failedTask}`), call('/tasks/t_none')]),
  'GET /tasks/{id}/wait': (call, ids) => Promise.all([call(`/tasks/${ids.okTask}/wait?timeoutMs=1000`), call('/tasks/t_none/wait')]),
  'POST /tasks/retry': (call) => Promise.all([call('/tasks/retry', { method: 'POST', body: { type: 'no-such-type' } }), call('/tasks/retry', { method: 'POST', body: { state: 'running' } })]),
  'POST /tasks/{id}/cancel': (call) =>
    Promise.all([
      call('/tasks', { method: 'POST', body: { type: 'nobody-runs-this' } }).then((r) => call(`/tasks/${JSON.parse(r.text).id}/cancel`, { method: 'POST' })),
      call('/tasks/t_none/cancel', { method: 'POST' }),
    ]),
  'POST /tasks/{id}/retry': async (call, ids) => [
    await call(`/tasks/${ids.okTask}/retry`, { method: 'POST' }),
    await call('/tasks/t_none/retry', { method: 'POST' }),
    await call(`/tasks/${ids.failedTask}/retry`, { method: 'POST' }),
  ],
  'POST /jobs': (call) =>
    Promise.all([
      call('/jobs', { method: 'POST', body: [{ type: 'echo', params: 1 }] }),
      call('/jobs', { method: 'POST', ndjson: '{"type":"echo","params":2}\n{"type":"echo","params":3}\n' }),
      call('/jobs', { method: 'POST', body: { tasks: [{ type: 'echo' }], key: 'job-1' } }).then(() => call('/jobs', { method: 'POST', body: { tasks: [{ type: 'echo' }], key: 'job-1' } })),
      call('/jobs', { method: 'POST', body: { tasks: [] } }),
    ]),
  'GET /jobs': (call) => Promise.all([call('/jobs'), call('/jobs', { token: 'wrong-token-0123456789abcdef' })]),
  'POST /jobs/{id}/tasks': (call, ids) =>
    Promise.all([
      call(`/jobs/${ids.openJob}/tasks`, { method: 'POST', body: [{ type: 'echo', params: 4 }] }),
      call(`/jobs/${ids.closedJob}/tasks`, { method: 'POST', body: [{ type: 'echo' }] }),
      call('/jobs/j_none/tasks', { method: 'POST', body: [{ type: 'echo' }] }),
    ]),
  'GET /jobs/{id}': (call, ids) => Promise.all([call(`/jobs/${ids.closedJob}`), call('/jobs/j_none')]),
  'GET /jobs/{id}/results': (call, ids) => Promise.all([call(`/jobs/${ids.closedJob}/results`), call('/jobs/j_none/results')]),
  'POST /jobs/{id}/cancel': (call, ids) => Promise.all([call(`/jobs/${ids.openJob}/cancel`, { method: 'POST' }), call('/jobs/j_none/cancel', { method: 'POST' })]),
  'POST /jobs/{id}/close': (call, ids) => Promise.all([call(`/jobs/${ids.openJob}/close`, { method: 'POST' }), call('/jobs/j_none/close', { method: 'POST' })]),
  'POST /jobs/{id}/retry-failed': (call, ids) => Promise.all([call(`/jobs/${ids.closedJob}/retry-failed`, { method: 'POST' }), call('/jobs/j_none/retry-failed', { method: 'POST' })]),
  'GET /leaderboard': (call) => Promise.all([call('/leaderboard?sort=reputation&order=asc&limit=5'), call('/leaderboard?sort=nope')]),
  'GET /workers': (call) => Promise.all([call('/workers'), call('/workers', { token: null })]),
  'POST /workers/{id}/drain': (call, ids) => Promise.all([call(`/workers/${ids.drainWorkerId}/drain`, { method: 'POST' }), call('/workers/w_none/drain', { method: 'POST' })]),
  'POST /workers/{id}/undrain': (call, ids) => Promise.all([call(`/workers/${ids.drainWorkerId}/undrain`, { method: 'POST' }), call('/workers/w_none/undrain', { method: 'POST' })]),
  'GET /access': (call) => Promise.all([call('/access'), call('/access', { token: TOKENS.read }), call('/access', { token: null })]),
  'POST /workers/{id}/restart': (call, ids) =>
    Promise.all([call(`/workers/${ids.workerId}/restart?mode=graceful`, { method: 'POST' }), call('/workers/w_none/restart?mode=soft', { method: 'POST' })]),
  'PUT /blobs': (call) =>
    Promise.all([
      call('/blobs', { method: 'PUT', raw: 'blob one' }).then(async (first) => [first, await call('/blobs', { method: 'PUT', raw: 'blob one' })]),
      call('/blobs', { method: 'PUT', raw: 'x', token: null }),
    ]).then((r) => r.flat()),
  'GET /blobs/{ref}': async (call) => {
    const { ref } = JSON.parse((await call('/blobs', { method: 'PUT', raw: 'blob two' })).text);
    return Promise.all([
      call(`/blobs/${ref}`),
      call(`/blobs/${ref}`, { headers: { range: 'bytes=0-3' } }),
      call(`/blobs/${ref}`, { headers: { range: 'bytes=99-' } }),
      call(`/blobs/blob:sha256:${'0'.repeat(64)}`),
      call('/blobs/not-a-ref'),
    ]);
  },
  'POST /tokens': async (call) => [
    await call('/tokens', { method: 'POST', body: { workerId: 'openapi-a' } }),
    await call('/tokens', { method: 'POST', body: { workerId: 'openapi-a' } }),
    await call('/tokens', { method: 'POST', body: { workerId: 'openapi-a', force: true } }),
    await call('/tokens', { method: 'POST', body: { worker: 'x' } }),
    await call('/tokens', { method: 'POST', body: { workerId: 'openapi-b' }, token: TOKENS.read }),
  ],
  'GET /tokens': (call) => Promise.all([call('/tokens'), call('/tokens', { token: TOKENS.read })]),
  'DELETE /tokens/{workerId}': async (call) => {
    // The POST's own reply belongs to POST /tokens, checked above.
    await call('/tokens', { method: 'POST', body: { workerId: 'openapi-c' } });
    return [await call('/tokens/openapi-c', { method: 'DELETE' }), await call('/tokens/openapi-c', { method: 'DELETE' })];
  },
  'POST /schedules': async (call) => [
    await call('/schedules', { method: 'POST', body: { name: 'openapi-s', cron: '0 9 * * *', task: { type: 'identity' } } }),
    await call('/schedules', { method: 'POST', body: { name: 'openapi-s', cron: '0 10 * * *', task: { type: 'identity' } } }),
    await call('/schedules', { method: 'POST', body: { name: 'openapi-s', cron: 'nope', task: { type: 'identity' } } }),
    await call('/schedules', { method: 'POST', body: { name: 'x', cron: '0 9 * * *', task: { type: 'identity' } }, token: TOKENS.read }),
  ],
  'GET /schedules': (call) => Promise.all([call('/schedules'), call('/schedules', { token: null })]),
  'GET /schedules/{name}': (call) => Promise.all([call('/schedules/openapi-s'), call('/schedules/none'), call('/schedules/openapi-s', { token: null })]),
  'DELETE /schedules/{name}': async (call) => [
    await call('/schedules', { method: 'POST', body: { name: 'openapi-d', cron: '0 9 * * *', task: { type: 'identity' } } }),
    await call('/schedules/openapi-d', { method: 'DELETE' }),
    await call('/schedules/openapi-d', { method: 'DELETE' }),
  ].slice(1),
  'PUT /types/{type}/limits': async (call) => [
    await call('/types/openapi-t/limits', { method: 'PUT', body: { maxRunning: 3 } }),
    await call('/types/openapi-t/limits', { method: 'PUT', body: { maxRunning: 0 } }),
    await call('/types/openapi-t/limits', { method: 'PUT', body: { ratePerSecond: 1 }, token: TOKENS.read }),
  ],
  'GET /types/{type}/limits': (call) => Promise.all([call('/types/openapi-t/limits'), call('/types/openapi-t/limits', { token: null })]),
  'GET /types/limits': (call) => Promise.all([call('/types/limits'), call('/types/limits', { token: null })]),
  'DELETE /types/{type}/limits': async (call) => [
    await call('/types/openapi-t/limits', { method: 'DELETE' }),
    await call('/types/openapi-t/limits', { method: 'DELETE' }),
    await call('/types/%ED%A0%80/limits', { method: 'DELETE' }),
  ],
  'GET /join/link': (call) => Promise.all([call('/join/link'), call('/join/link', { token: null })]),
  'GET /health': (call) => Promise.all([call('/health', { token: null })]),
  'GET /stats': (call) => Promise.all([call('/stats'), call('/stats', { token: null })]),
  'GET /foremen': (call) => Promise.all([call('/foremen'), call('/foremen', { token: null })]),
  'POST /ops/drain': (call) => Promise.all([call('/ops/drain', { method: 'POST' }), call('/ops/drain', { method: 'POST', token: TOKENS.read })]),
  'POST /ops/resume': (call) => Promise.all([call('/ops/resume', { method: 'POST' }), call('/ops/resume', { method: 'POST', token: null })]),
  'POST /ops/requeue-stale': (call) => Promise.all([call('/ops/requeue-stale', { method: 'POST' }), call('/ops/requeue-stale', { method: 'POST', token: null })]),
  'POST /ops/reset': (call) => Promise.all([call('/ops/reset', { method: 'POST', token: TOKENS.read }), call('/ops/reset', { method: 'POST' })]),
};

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

describe('OpenAPI document', () => {
  it('follows the recommended rules and documents what every route really returns', async () => {
    const foreman = await startForeman([...LOCKED, '--dev', '--retry-backoff-ms', '10']);
    const worker = await spawnWorker(foreman.wsUrl, { args: ['--worker-token', TOKENS.worker] });
    const drained = await spawnWorker(foreman.wsUrl, { args: ['--worker-token', TOKENS.worker] });
    const call: Call = async (path, init = {}) => {
      const token = init.token === undefined ? TOKENS.api : init.token;
      const headers: Record<string, string> = { ...(token ? { authorization: `Bearer ${token}` } : {}), ...init.headers };
      if (init.raw !== undefined) headers['content-type'] = 'application/octet-stream';
      if (init.body !== undefined) headers['content-type'] = 'application/json';
      if (init.ndjson !== undefined) headers['content-type'] = 'application/x-ndjson';
      const res = await fetch(`${foreman.url}${path}`, { method: init.method ?? 'GET', headers, body: init.raw ?? init.ndjson ?? (init.body === undefined ? undefined : JSON.stringify(init.body)) });
      return { status: res.status, contentType: (res.headers.get('content-type') ?? '').split(';')[0], text: await res.text() };
    };

    const res = await call('/docs/json', { token: null });
    expect(res.status).toBe(200);
    const spec = JSON.parse(res.text);

    // Rules of redocly's recommended set, checked here.
    expect(spec.info.license?.name).toBeTruthy();
    expect(spec.servers?.length).toBeGreaterThan(0);
    expect(spec.servers[0].url).toBe(foreman.url);
    // The NDJSON body of POST /jobs is documented line by line (each line is checked while parsing, not by the route's schema).
    expect(spec.paths['/jobs'].post.requestBody.content['application/x-ndjson'].schema.items).toMatchObject({ type: 'object', required: ['type'] });
    const tags = new Map<string, string>(spec.tags.map((t: { name: string; description: string }) => [t.name, t.description]));
    for (const d of tags.values()) expect(d).toBeTruthy();
    const operations: Array<{ key: string; op: any }> = [];
    for (const [path, item] of Object.entries<any>(spec.paths)) {
      for (const [method, op] of Object.entries<any>(item)) {
        if (!HTTP_METHODS.includes(method)) continue;
        operations.push({ key: `${method.toUpperCase()} ${path}`, op });
      }
    }
    const problems: string[] = [];
    const ids = new Set<string>();
    for (const { key, op } of operations) {
      if (!op.summary) problems.push(`${key}: no summary`);
      if (!op.operationId) problems.push(`${key}: no operationId`);
      else if (!/^[A-Za-z0-9_-]+$/.test(op.operationId)) problems.push(`${key}: operationId not URL-safe`);
      else if (ids.has(op.operationId)) problems.push(`${key}: operationId ${op.operationId} used twice`);
      ids.add(op.operationId);
      if (!op.tags?.length || op.tags.some((t: string) => !tags.has(t))) problems.push(`${key}: no declared tag`);
      const statuses = Object.keys(op.responses ?? {});
      if (!statuses.some((s) => s.startsWith('2'))) problems.push(`${key}: no 2xx response`);
      if (!statuses.some((s) => s.startsWith('4'))) problems.push(`${key}: no 4xx response`);
      for (const s of statuses) {
        const r = op.responses[s];
        if (!r.description || r.description === 'Default Response') problems.push(`${key} ${s}: no description`);
        if (!r.content || Object.values<any>(r.content).some((c) => !c.schema)) problems.push(`${key} ${s}: no schema`);
      }
      for (const name of key.matchAll(/\{(\w+)\}/g)) {
        if (!op.parameters?.some((p: { in: string; name: string }) => p.in === 'path' && p.name === name[1])) problems.push(`${key}: path parameter ${name[1]} undeclared`);
      }
    }
    expect(problems).toEqual([]);

    // Every documented route has requests here, and nothing here is undocumented.
    expect(operations.map((o) => o.key).sort()).toEqual(Object.keys(CALLS).sort());

    // The state the calls need: a task that succeeded, one that failed, an open and a closed job.
    const submit = async (body: unknown) => JSON.parse((await call('/tasks', { method: 'POST', body })).text).id as string;
    const okTask = await submit({ type: 'echo', params: { n: 1 } });
    const failedTask = await submit({ type: 'fail', params: { kind: 'permanent' }, maxAttempts: 1 });
    const openJob = JSON.parse((await call('/jobs', { method: 'POST', body: { tasks: [{ type: 'nobody-runs-this' }], open: true } })).text).jobId;
    const closedJob = JSON.parse((await call('/jobs', { method: 'POST', body: [{ type: 'echo', params: 1 }, { type: 'fail', params: { kind: 'permanent' }, maxAttempts: 1 }] })).text).jobId;
    await waitFor(async () => JSON.parse((await call(`/jobs/${closedJob}`)).text).complete, 'the closed job to complete');
    await waitFor(async () => JSON.parse((await call(`/tasks/${failedTask}`)).text).state === 'failed', 'the failing task to fail');
    const state: Ids = { okTask, failedTask, openJob, closedJob, workerId: worker.id, drainWorkerId: drained.id };

    const ajv = new Ajv({ strict: false, allErrors: true });
    const mismatches: string[] = [];
    const seen = new Map<string, Set<number>>();
    for (const { key, op } of operations) {
      const replies = await CALLS[key](call, state);
      seen.set(key, new Set(replies.map((r) => r.status)));
      for (const r of replies) {
        const documented = op.responses[String(r.status)];
        if (!documented) {
          mismatches.push(`${key}: answered ${r.status}, which is not documented (${r.text.slice(0, 200)})`);
          continue;
        }
        const schema = documented.content?.[r.contentType]?.schema;
        if (!schema) {
          mismatches.push(`${key} ${r.status}: answered ${r.contentType}, documented ${Object.keys(documented.content ?? {}).join(', ')}`);
          continue;
        }
        const validate = ajv.compile(schema);
        const values = r.contentType === 'application/x-ndjson' ? r.text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l)) : [r.contentType === 'application/json' ? JSON.parse(r.text) : r.text];
        if (r.contentType === 'application/x-ndjson' && values.length === 0) mismatches.push(`${key} ${r.status}: no NDJSON lines to check`);
        for (const v of values) {
          if (!validate(v)) mismatches.push(`${key} ${r.status}: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(v).slice(0, 300)}`);
        }
      }
    }
    expect(mismatches).toEqual([]);
    // Each operation was seen succeeding, and refusing (except /health, which refuses only past the rate limit).
    for (const { key } of operations) {
      const statuses = [...(seen.get(key) ?? [])];
      expect(statuses.some((s) => s < 300), `${key} succeeded`).toBe(true);
      if (key !== 'GET /health') expect(statuses.some((s) => s >= 400 && s < 500), `${key} refused`).toBe(true);
    }
  });
});
