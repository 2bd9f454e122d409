/**
 * The client library against a real foreman and real worker processes:
 * awaiting by long poll (no polling), typed errors with attempts, progress,
 * jobs streamed as NDJSON, map in input order under a concurrency bound,
 * and finding and bulk-retrying tasks by filter.
 */
import { describe, expect, it } from 'vitest';
import { ApiError, Client, TaskCancelledError, TaskFailedError } from '../../client/index.js';
import { LOCKED, TOKENS } from '../helpers/auth.js';
import { spawnWorker, startForeman } from '../helpers/processes.js';
import { STORES, storeArgs } from '../helpers/stores.js';
import { waitFor } from '../helpers/wait-for.js';

/** A fetch that counts the requests it makes, by method and path. */
function countingFetch() {
  const calls: string[] = [];
  const f = ((input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input));
    calls.push(`${init?.method ?? 'GET'} ${url.pathname}`);
    return fetch(input, init);
  }) as typeof fetch;
  return { calls, fetch: f };
}

type Tasks = {
  echo: { params: { n: number }; result: { n: number } };
  sleep: { params: { ms: number }; result: { slept: number } };
  fail: { params: { kind: 'transient' | 'permanent'; message?: string; succeedOnAttempt?: number }; result: { succeededOnAttempt: number } };
  'honours-abort': { params: { ms?: number }; result: string };
  progress: { params: { steps: number; ms: number }; result: string };
  'gpu-a': { params: { ms: number }; result: { concurrentAtStart: number; maxSeen: number } };
};

describe('client library', () => {
  it('awaits a result with one long poll, and rejects with typed errors carrying code, message and attempts', async () => {
    const foreman = await startForeman(['--retry-backoff-ms', '10']);
    const w = await spawnWorker(foreman.wsUrl, { concurrency: 4 });
    const counted = countingFetch();
    const client = new Client<Tasks>({ foreman: foreman.url, fetch: counted.fetch, transport: 'http' });

    expect(await client.run('echo', { n: 7 })).toEqual({ n: 7 });

    // A task that takes a while costs one submit and one wait, not a request per check.
    counted.calls.length = 0;
    const slow = await client.submit('sleep', { ms: 800 });
    expect(await slow.result()).toEqual({ slept: 800 });
    expect(counted.calls).toEqual(['POST /tasks', `GET /tasks/${slow.id}/wait`]);

    const permanent = await client.run('fail', { kind: 'permanent', message: 'boom' }).catch((e: unknown) => e);
    expect(permanent).toBeInstanceOf(TaskFailedError);
    expect(permanent).toMatchObject({ code: 'PERMANENT', message: 'boom' });
    expect((permanent as TaskFailedError).attempts).toEqual([expect.objectContaining({ attempt: 1, workerId: w.id, outcome: 'failed' })]);
    expect((permanent as TaskFailedError).stack).toContain('boom');

    // Retries are visible as attempts.
    const transient = await client.run('fail', { kind: 'transient' }, { maxAttempts: 2 }).catch((e: unknown) => e);
    expect(transient).toBeInstanceOf(TaskFailedError);
    expect((transient as TaskFailedError).code).toBe('HANDLER_ERROR');
    expect((transient as TaskFailedError).attempts.map((a) => a.outcome)).toEqual(['failed', 'failed']);

    const running = await client.submit('honours-abort', {});
    await waitFor(async () => (await running.status()).state === 'running', 'the task to run');
    expect(await running.cancel()).toBe('cancelling');
    const cancelled = await running.result().catch((e: unknown) => e);
    expect(cancelled).toBeInstanceOf(TaskCancelledError);
    expect(cancelled).toMatchObject({ code: 'CANCELLED', taskId: running.id });

    // Progress arrives by long poll too, in order, ending when the task settles.
    const stepped = await client.submit('progress', { steps: 4, ms: 150 });
    const fractions: number[] = [];
    for await (const p of stepped.progress()) fractions.push(p.fraction);
    expect(fractions.length).toBeGreaterThan(0);
    // The handler's last update can arrive with its result, which settles the task instead.
    expect(fractions.every((f) => f > 0 && f <= 1)).toBe(true);
    expect([...fractions].sort((a, b) => a - b)).toEqual(fractions);
    expect(await stepped.result()).toBe('done');
  });

  it('answers a wait at its deadline with the task as it is, and refuses bad waits by name', async () => {
    const foreman = await startForeman();
    const client = new Client({ foreman: foreman.url });
    const waiting = await client.submit('nobody-runs-this', null);
    const res = await fetch(`${foreman.url}/tasks/${waiting.id}/wait?timeoutMs=50`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: waiting.id, state: 'queued' });

    const tooLong = await fetch(`${foreman.url}/tasks/${waiting.id}/wait?timeoutMs=999999`);
    expect(tooLong.status).toBe(400);
    expect(await tooLong.json()).toMatchObject({ code: 'INVALID_REQUEST', field: 'querystring/timeoutMs' });
    const unknown = await client.task('t_nope').result().catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(ApiError);
    expect(unknown).toMatchObject({ status: 404, code: 'TASK_NOT_FOUND', field: 'id' });

    // A wait open when the task is cancelled returns with it settled.
    const pending = waiting.result().catch((e: unknown) => e);
    await waiting.cancel();
    expect(await pending).toBeInstanceOf(TaskCancelledError);
  });

  it('streams a job from an async generator as NDJSON and follows its results; map keeps input order under a concurrency bound', async () => {
    const foreman = await startForeman();
    await spawnWorker(foreman.wsUrl, { concurrency: 16 });
    const counted = countingFetch();
    const client = new Client<Tasks>({ foreman: foreman.url, fetch: counted.fetch });

    const total = 5000;
    let produced = 0;
    async function* tasks() {
      for (let n = 0; n < total; n++) {
        produced++;
        yield { type: 'echo' as const, params: { n } };
      }
    }
    const job = await client.submitJob(tasks());
    expect(job.count).toBe(total);
    expect(produced).toBe(total);
    // One request carried the whole job.
    expect(counted.calls.filter((c) => c === 'POST /jobs')).toHaveLength(1);
    const seen = new Set<number>();
    for await (const line of job.results()) {
      expect(line.state).toBe('succeeded');
      seen.add((line.result as { n: number }).n);
    }
    expect(seen.size).toBe(total);
    expect(await job.status()).toMatchObject({ total, complete: true, counts: expect.objectContaining({ succeeded: total }) });

    const inputs = Array.from({ length: 40 }, (_, n) => ({ n }));
    expect(await client.map('echo', inputs, { concurrency: 5 })).toEqual(inputs);
    const bounded = await client.map('gpu-a', Array.from({ length: 12 }, () => ({ ms: 40 })), { concurrency: 3 });
    expect(bounded).toHaveLength(12);
    expect(Math.max(...bounded.map((r) => r.concurrentAtStart))).toBeLessThanOrEqual(3);

    const failing = await client.map('fail', [{ kind: 'permanent' as const, message: 'third' }], { maxAttempts: 1 }).catch((e: unknown) => e);
    expect(failing).toBeInstanceOf(TaskFailedError);
    expect(failing).toMatchObject({ code: 'PERMANENT', message: 'third' });
  });

  it('finds tasks by filter, newest first, and retries the failed ones in bulk', async () => {
    const foreman = await startForeman();
    const w = await spawnWorker(foreman.wsUrl, { concurrency: 4 });
    const client = new Client<Tasks>({ foreman: foreman.url });
    const before = Date.now();
    const ok = await Promise.all([1, 2, 3].map((n) => client.submit('echo', { n })));
    const bad = await Promise.all(
      [1, 2].map((n) => client.submit('fail', { kind: 'permanent', succeedOnAttempt: 2 }, { maxAttempts: 1, key: `bad-${n}` })),
    );
    for (const t of ok) await t.result();
    for (const t of bad) await expect(t.result()).rejects.toBeInstanceOf(TaskFailedError);

    const failed = await client.listTasks({ state: 'failed' });
    expect(failed.tasks.map((t) => t.id).sort()).toEqual(bad.map((t) => t.id).sort());
    expect((await client.listTasks({ code: 'PERMANENT', type: 'fail' })).tasks).toHaveLength(2);
    expect((await client.listTasks({ key: 'bad-2' })).tasks.map((t) => t.id)).toEqual([bad[1].id]);
    expect((await client.listTasks({ workerId: w.id })).tasks).toHaveLength(5);
    expect((await client.listTasks({ workerId: 'someone-else' })).tasks).toHaveLength(0);
    expect((await client.listTasks({ createdAfter: new Date(Date.now() + 60_000) })).tasks).toHaveLength(0);
    expect((await client.listTasks({ createdAfter: before, type: 'echo' })).tasks).toHaveLength(3);
    const newest = await client.listTasks({ order: 'desc', limit: 2 });
    const oldest = await client.listTasks({ order: 'asc' });
    expect(newest.tasks.map((t) => t.id)).toEqual(oldest.tasks.slice(-2).reverse().map((t) => t.id));
    // Paging in either order visits every task once.
    const paged: string[] = [];
    for await (const t of client.findTasks({ order: 'desc', limit: 2 })) paged.push(t.id);
    expect(paged).toEqual(oldest.tasks.map((t) => t.id).reverse());
    const badFilter = await fetch(`${foreman.url}/tasks?state=lost`);
    expect(badFilter.status).toBe(400);
    expect(await badFilter.json()).toMatchObject({ code: 'INVALID_REQUEST', field: 'querystring/state' });

    // The dead-letter list, retried by filter: the second attempts succeed.
    expect(await client.retryTasks({ type: 'fail', code: 'PERMANENT' })).toBe(2);
    for (const t of bad) expect(await t.result()).toEqual({ succeededOnAttempt: 2 });
    expect((await client.listTasks({ state: 'failed' })).tasks).toHaveLength(0);
    expect(await client.retryTasks({ type: 'fail' })).toBe(0);
  });

  it('submits and awaits over the push channel with no HTTP request per task, within the same limits and tokens', async () => {
    const foreman = await startForeman([...LOCKED, '--max-params-bytes', '1000', '--max-client-sockets-per-address', '3']);
    const w = await spawnWorker(foreman.wsUrl, { concurrency: 8, args: ['--worker-token', TOKENS.worker] });
    const counted = countingFetch();
    const client = new Client<Tasks>({ foreman: foreman.url, token: TOKENS.api, fetch: counted.fetch });
    expect(client.options.transport).toBe('push');

    // Successes cost no HTTP request at all; many submits in one turn share a frame.
    expect(await client.run('echo', { n: 1 })).toEqual({ n: 1 });
    const many = await Promise.all(Array.from({ length: 50 }, (_, n) => client.run('echo', { n })));
    expect(many.map((r) => r.n)).toEqual(Array.from({ length: 50 }, (_, n) => n));
    expect(counted.calls).toEqual([]);

    // A failure is read back once, for its attempts.
    const failed = await client.run('fail', { kind: 'permanent', message: 'pushed' }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(TaskFailedError);
    expect(failed).toMatchObject({ code: 'PERMANENT', message: 'pushed' });
    expect((failed as TaskFailedError).attempts).toEqual([expect.objectContaining({ workerId: w.id, outcome: 'failed' })]);
    expect(counted.calls).toEqual([expect.stringMatching(/^GET \/tasks\/t_/)]);

    // A task submitted elsewhere (here over HTTP) can be awaited on the channel too, settled or not.
    const http = new Client<Tasks>({ foreman: foreman.url, token: TOKENS.api, transport: 'http' });
    const elsewhere = await http.submit('sleep', { ms: 300 });
    expect(await client.task(elsewhere.id).result()).toEqual({ slept: 300 });
    expect(await client.task(elsewhere.id).result()).toEqual({ slept: 300 });

    // The same limits as HTTP, each refusal naming its field; the other tasks of the frame still go.
    const [tooBig, fine] = await Promise.allSettled([client.submit('echo', { n: 'x'.repeat(2000) } as never), client.run('echo', { n: 2 })]);
    expect(tooBig.status === 'rejected' && tooBig.reason).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE', field: 'tasks/0/params' });
    expect(fine).toEqual({ status: 'fulfilled', value: { n: 2 } });
    await client.run('echo', { n: 3 }, { key: 'push-key' });
    const conflict = await client.submit('echo', { n: 4 }, { key: 'push-key' }).catch((e: unknown) => e);
    expect(conflict).toMatchObject({ status: 409, code: 'KEY_CONFLICT' });

    // The read token may not submit, and no token at all is refused: the channel does not open, and the
    // same submission over HTTP says why.
    for (const [token, status, code] of [[TOKENS.read, 403, 'FORBIDDEN'], [null, 401, 'UNAUTHORIZED']] as const) {
      const refused = new Client({ foreman: foreman.url, token });
      await expect(refused.submit('echo', {})).rejects.toMatchObject({ status, code });
      await refused.close();
    }

    // A frame that is not a valid message gets an error frame, and the channel keeps serving.
    const { WebSocket } = await import('ws');
    const raw = new WebSocket(`${foreman.wsUrl}/ws/client`, { headers: { authorization: `Bearer ${TOKENS.api}` } });
    await new Promise((resolve) => raw.once('open', resolve));
    const reply = new Promise<Buffer>((resolve) => raw.once('message', (d) => resolve(d as Buffer)));
    raw.send(Buffer.from([0xc1]));
    const { decodeMessage } = await import('../../shared/codec.js');
    expect(decodeMessage(await reply, ['error'])).toMatchObject({ kind: 'error', code: 'BAD_FRAME' });
    // Sockets per address are capped (the client's own and `raw` make two of three).
    const open = async () => {
      const ws = new WebSocket(`${foreman.wsUrl}/ws/client`, { headers: { authorization: `Bearer ${TOKENS.api}` } });
      const first = new Promise<Buffer>((resolve) => ws.once('message', (d) => resolve(d as Buffer)));
      const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
      await new Promise((resolve) => ws.once('open', resolve));
      return { ws, first, closed };
    };
    const third = await open();
    const fourth = await open();
    expect(decodeMessage(await fourth.first, ['error'])).toMatchObject({ code: 'TOO_MANY_SESSIONS', retryable: true });
    expect(await fourth.closed).toBe(4013);
    third.ws.close();
    raw.close();
    expect(await client.run('echo', { n: 5 })).toEqual({ n: 5 });
    await client.close();
    await http.close();
  });

  it('keeps awaiting across a foreman restart: the push channel drops, the wait carries on, the result arrives', async () => {
    const first = await startForeman();
    const { port, dbPath } = first;
    await spawnWorker(first.wsUrl, { concurrency: 2 });
    const client = new Client<Tasks>({ foreman: first.url });
    const task = await client.submit('sleep', { ms: 1500 });
    const result = task.result();
    await waitFor(async () => (await task.status()).state === 'running', 'the task to run');
    first.kill('SIGKILL');
    await first.exited();
    const second = await startForeman([], { dbPath, port });
    expect(await result).toEqual({ slept: 1500 });
    // The channel reconnects for new work.
    expect(await client.run('echo', { n: 9 })).toEqual({ n: 9 });
    await client.close();
    second.kill();
  });
});

describe.each(STORES)('client library on %s', (store) => {
  it('gets results pushed and long-polled from the foreman it talks to, whichever foreman ran the task', async () => {
    const args = await storeArgs(store);
    const mine = await startForeman(args);
    // On PostgreSQL a second foreman shares the database and alone has the worker: the task settles there.
    const runner = store === 'postgres' ? await startForeman(args) : mine;
    await spawnWorker(runner.wsUrl, { concurrency: 4 });
    const push = new Client<Tasks>({ foreman: mine.url });
    const http = new Client<Tasks>({ foreman: mine.url, transport: 'http' });
    expect(await push.run('echo', { n: 1 })).toEqual({ n: 1 });
    expect(await http.run('echo', { n: 2 })).toEqual({ n: 2 });
    const [a, b] = await Promise.all([push.run('sleep', { ms: 200 }), http.run('sleep', { ms: 200 })]);
    expect([a, b]).toEqual([{ slept: 200 }, { slept: 200 }]);
    const failed = await push.run('fail', { kind: 'permanent', message: store }).catch((e: unknown) => e);
    expect(failed).toMatchObject({ name: 'TaskFailedError', code: 'PERMANENT', message: store });
    expect((await push.listTasks({ type: 'fail', state: 'failed' })).tasks).toHaveLength(1);
    await push.close();
  });
});

