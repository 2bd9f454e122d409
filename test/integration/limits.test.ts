import { describe, expect, it } from 'vitest';
import { CLOSE_CODES } from '../../shared/protocol.js';
import { startForeman } from '../helpers/processes.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { settled, submit, waitForTask, postRaw } from '../helpers/tasks.js';

const peer = (url: string): Promise<RawPeer> => RawPeer.connect(url);

const post = postRaw;

/** JSON text of arrays nested `depth` levels deep. */
const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

describe('limits on worker sockets', () => {
  it('caps registered sessions per address and in all with 4013, and frees the slot when a session closes', async () => {
    const foreman = await startForeman(['--max-sessions', '5', '--max-sessions-per-address', '3']);
    const registered = async (url: string, id: string) => {
      const p = await peer(url);
      p.hello(id, { skills: [{ type: 'none' }] });
      await p.next((m) => m.kind === 'welcome');
      return p;
    };
    const held = [await registered(foreman.wsUrl, 'a'), await registered(foreman.wsUrl, 'b'), await registered(foreman.wsUrl, 'c')];
    const fourth = await peer(foreman.wsUrl);
    fourth.hello('d', { skills: [{ type: 'none' }] });
    const refusal = await fourth.next((m) => m.kind === 'error');
    expect(refusal).toMatchObject({ code: 'TOO_MANY_SESSIONS', retryable: true });
    expect(refusal.message).toContain('from 127.0.0.1');
    expect(await fourth.closed).toBe(CLOSE_CODES.tooManySessions);
    held[0].close();
    await held[0].closed;
    // The slot is free again (the count is decremented on close, not leaked).
    await registered(foreman.wsUrl, 'after-cap');

    // The total cap, on a foreman that allows one address all of it.
    const small = await startForeman(['--max-sessions', '2', '--max-sessions-per-address', '2']);
    await registered(small.wsUrl, 'x');
    await registered(small.wsUrl, 'y');
    const third = await peer(small.wsUrl);
    third.hello('z', { skills: [{ type: 'none' }] });
    expect((await third.next((m) => m.kind === 'error')).message).toMatch(/2 sessions are open$/);
    expect(await third.closed).toBe(CLOSE_CODES.tooManySessions);
  });

  it('fails a task whose result is too big or too deep with PAYLOAD_TOO_LARGE, and acknowledges it', async () => {
    const foreman = await startForeman(['--max-result-bytes', '2048', '--max-value-depth', '8']);
    const p = await peer(foreman.wsUrl);
    p.hello('big-results', { skills: [{ type: 'big' }], capacity: 2 });
    await p.next((m) => m.kind === 'welcome');
    const big = await submit(foreman.api, { type: 'big' });
    const deep = await submit(foreman.api, { type: 'big' });
    const assigned = new Map<string, number>();
    await p.next((m) => {
      if (m.kind === 'task.assign') for (const a of m.tasks) assigned.set(a.taskId, a.attempt);
      return assigned.size === 2;
    });
    p.send({ kind: 'task.result', results: [{ taskId: big, attempt: 1, outcome: 'succeeded', value: 'x'.repeat(5000), durationMs: 1 }] });
    p.send({ kind: 'task.result', results: [{ taskId: deep, attempt: 1, outcome: 'succeeded', value: JSON.parse(nested(20)), durationMs: 1 }] });
    const err = await p.next((m) => m.kind === 'error' && m.code === 'PAYLOAD_TOO_LARGE');
    expect(err.message).toContain('maxResultBytes');
    await p.next((m) => m.kind === 'task.ack' && m.results.some((r: any) => r.taskId === big && r.accepted));
    const t = await waitForTask(foreman.api, big, settled, 'big settled');
    expect(t).toMatchObject({ state: 'failed', result: null, error: { code: 'PAYLOAD_TOO_LARGE', retryable: false } });
    const d = await waitForTask(foreman.api, deep, settled, 'deep settled');
    expect(d.error.message).toContain('maxValueDepth');
  });

  it('refuses a hello whose meta nests too deep', async () => {
    const foreman = await startForeman();
    const p = await peer(foreman.wsUrl);
    p.hello('deep-meta', { meta: { a: JSON.parse(nested(500)) } });
    const err = await p.next((m) => m.kind === 'error');
    expect(err).toMatchObject({ code: 'INVALID_MESSAGE' });
    expect(err.message).toContain('hello.meta');
    // /workers (and so the dashboard) still serializes.
    expect((await foreman.api.request('GET', '/workers')).workers).toEqual([]);
  });
});

describe('limits on HTTP input', () => {
  it('answers oversized params, lines and bodies with 413 and deep params with 400, naming the field', async () => {
    const foreman = await startForeman(['--max-params-bytes', '1024', '--max-ndjson-line-bytes', '2048', '--max-body-bytes', '4096']);
    const url = foreman.url;
    const big = 'x'.repeat(1500);
    expect(await post(`${url}/tasks`, JSON.stringify({ type: 'echo', params: big }))).toMatchObject({
      status: 413,
      body: { code: 'PAYLOAD_TOO_LARGE', field: 'body/params' },
    });
    expect(await post(`${url}/jobs`, JSON.stringify({ tasks: [{ type: 'echo' }, { type: 'echo', params: { big } }] }))).toMatchObject({
      status: 413,
      body: { field: 'body/tasks/1/params' },
    });
    expect(await post(`${url}/jobs`, `{"type":"echo"}\n{"type":"echo","params":"${big}"}\n`, 'application/x-ndjson')).toMatchObject({
      status: 413,
      body: { field: 'body/1/params' },
    });
    expect(await post(`${url}/jobs`, `{"type":"echo"}\n{"type":"echo","params":"${'y'.repeat(3000)}"}\n`, 'application/x-ndjson')).toMatchObject({
      status: 413,
      body: { code: 'LINE_TOO_LONG', field: 'body/line 2' },
    });
    const tooBig = await post(`${url}/tasks`, JSON.stringify({ type: 'echo', params: 'z'.repeat(5000) }));
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.message).toMatch(/too large/i);
    expect(await post(`${url}/tasks`, `{"type":"echo","params":${nested(100)}}`)).toMatchObject({
      status: 400,
      body: { code: 'PARAMS_TOO_DEEP', field: 'body/params' },
    });
    // Within the limits, the same routes accept.
    expect((await post(`${url}/tasks`, JSON.stringify({ type: 'echo', params: { nested: JSON.parse(nested(10)) } }))).status).toBe(202);
  });

  it('answers a request flood from one address with 429 and a JSON error', async () => {
    const foreman = await startForeman(['--max-requests-per-second', '20']);
    const statuses = await Promise.all(Array.from({ length: 60 }, () => fetch(`${foreman.url}/health`).then(async (r) => [r.status, await r.json()] as const)));
    const limited = statuses.filter(([s]) => s === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0][1]).toMatchObject({ statusCode: 429, code: 'RATE_LIMITED' });
    expect(limited[0][1].message).toContain('maxRequestsPerSecond');
  });
});
