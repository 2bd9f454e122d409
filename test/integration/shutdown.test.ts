import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { CLOSE_CODES } from '../../shared/protocol.js';
import { FAST_LIVENESS } from '../helpers/fast-liveness.js';
import { spawnWorker, startForeman } from '../helpers/processes.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { getTask, settled, submit, waitForTask } from '../helpers/tasks.js';

/** Resolves with the exit code, or rejects if the process is still running after `ms`. */
async function exitWithin(proc: { exited(): Promise<number | null> }, ms: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still running after ${ms} ms`)), ms)));
  try {
    return await Promise.race([proc.exited(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Opens a POST whose body never completes, and resolves once the foreman is
 * reading it (its 100 Continue has arrived): from then on it is a request in flight.
 */
async function unfinishedRequest(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write('POST /tasks HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\nexpect: 100-continue\r\n\r\n');
  await new Promise((resolve) => socket.once('data', resolve));
  socket.write('{"type":');
  return socket;
}

describe('foreman shutdown', () => {
  it('on SIGTERM tells workers to come back later, exits 0 within the deadline, and workers rejoin its successor', async () => {
    const foreman = await startForeman(FAST_LIVENESS);
    const w = await spawnWorker(foreman.wsUrl, { concurrency: 1 });
    const peer = await RawPeer.connect(foreman.wsUrl);
    peer.hello('watcher', { skills: [{ type: 'none' }] });
    await peer.next((m) => m.kind === 'welcome');
    // A running task and a result stream that would stay open forever (the job is open) must not hold the exit.
    const running = await submit(foreman.api, { type: 'sleep', params: { ms: 1500 } });
    await waitForTask(foreman.api, running, (t) => t.state === 'running', 'running');
    const { jobId } = await foreman.api.request('POST', '/jobs', { tasks: [{ type: 'echo', params: 1 }], open: true });
    const stream = fetch(`${foreman.url}/jobs/${jobId}/results`).then((r) => r.text()).catch(() => 'aborted');

    foreman.kill('SIGTERM');
    expect(await exitWithin(foreman, 10_000)).toBe(0);
    expect(await peer.closed).toBe(CLOSE_CODES.foremanShutdown);
    await stream;
    await foreman.waitForLine((l) => /shutting down/.test(String(l.msg)), 'shutdown log');

    const next = await startForeman(FAST_LIVENESS, { dbPath: foreman.dbPath, port: foreman.port });
    await w.registered(2);
    // The task survived the shutdown (store flushed) and completes once the worker is back.
    expect(await waitForTask(next.api, running, settled, 'settled after restart')).toMatchObject({ state: 'succeeded' });
    const echo = (await next.api.request('GET', `/jobs/${jobId}`)).counts;
    expect(echo.succeeded + echo.queued + echo.running).toBe(1);
  });

  it('exits at once on a second signal, leaving a store the next foreman opens', async () => {
    const foreman = await startForeman(['--shutdown-grace-ms', '60000']);
    const kept = await submit(foreman.api, { type: 'echo', params: 'committed before the signals' });
    // A request whose body never finishes holds the graceful close for the whole grace period.
    const slow = await unfinishedRequest(foreman.port);
    foreman.kill('SIGTERM');
    await foreman.waitForLine((l) => /shutting down/.test(String(l.msg)), 'first signal handled');
    foreman.kill('SIGINT');
    // Well inside the 60 s grace the first signal started.
    expect(await exitWithin(foreman, 5000)).toBe(1);
    await foreman.waitForLine((l) => /second signal/.test(String(l.msg)), 'second-signal log');
    slow.destroy();

    const next = await startForeman([], { dbPath: foreman.dbPath });
    expect((await getTask(next.api, kept)).params).toBe('committed before the signals');
  });

  it('cuts requests still unfinished after --shutdown-grace-ms, and exits 0', async () => {
    const foreman = await startForeman(['--shutdown-grace-ms', '300']);
    const slow = await unfinishedRequest(foreman.port);
    const cut = new Promise((resolve) => slow.once('close', resolve));
    foreman.kill('SIGTERM');
    expect(await exitWithin(foreman, 5000)).toBe(0);
    await cut;
  });
});

describe('worker shutdown', () => {
  it('on SIGTERM hands running tasks back so the foreman requeues them at once, and exits 0', async () => {
    const foreman = await startForeman();
    const w = await spawnWorker(foreman.wsUrl, { concurrency: 2, args: ['--drain-timeout-ms', '1500'] });
    const stuck = await submit(foreman.api, { type: 'honours-abort' });
    const quick = await submit(foreman.api, { type: 'sleep', params: { ms: 300 } });
    // Both must be on the worker before the signal: a task assigned after it would be handed back too.
    await waitForTask(foreman.api, stuck, (t) => t.state === 'running', 'stuck running');
    await waitForTask(foreman.api, quick, (t) => t.state !== 'queued', 'quick started');
    w.kill('SIGTERM');
    expect(await exitWithin(w, 10_000)).toBe(0);
    const t = await getTask(foreman.api, stuck);
    // Released by the worker, not lost: no grace period (5 s) or lease (30 s) was waited out.
    expect(t).toMatchObject({ state: 'queued', losses: 0, workerId: null });
    expect(t.attempts).toEqual([expect.objectContaining({ attempt: 1, workerId: w.id, outcome: 'released' })]);
    // The short task finished inside the drain window.
    expect(await waitForTask(foreman.api, quick, settled, 'quick settled')).toMatchObject({ state: 'succeeded' });
  });
});
