/**
 * Several foremen over one PostgreSQL database, with real processes: workers fail over between them,
 * a cancel crosses foremen, idempotency keys hold across foremen, and killing foremen mid-job loses
 * nothing and runs no attempt twice. The kill test's choices come from GAFFER_TEST_SEED (printed).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FAST_LIVENESS } from '../helpers/fast-liveness.js';
import { postgresAvailable } from '../helpers/postgres.js';
import { spawnWorker, startForeman, tempDir, type ForemanProcess } from '../helpers/processes.js';
import { storeArgs } from '../helpers/stores.js';
import { settled, submit, waitForHandler, waitForTask } from '../helpers/tasks.js';
import { waitFor } from '../helpers/wait-for.js';

/** A small seeded generator (mulberry32), so a failing run can be replayed with its seed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function foremen(n: number, extra: string[] = []): Promise<ForemanProcess[]> {
  const store = await storeArgs('postgres');
  const out: ForemanProcess[] = [];
  // One after the other: the first migrates, the others find the schema in place (the lock is tested by the restarts below).
  for (let i = 0; i < n; i++) out.push(await startForeman([...store, ...FAST_LIVENESS, ...extra], { startTimeoutMs: SLOW_START_MS }));
  return out;
}

/** Many processes start in these tests, on a machine other tests share: allow each a minute. */
const SLOW_START_MS = 60_000;

const wsList = (fs: ForemanProcess[]) => fs.map((f) => f.wsUrl).join(',');

describe.runIf(postgresAvailable())('several foremen over PostgreSQL', () => {
  it('delivers a cancel sent to one foreman to a handler on a worker connected to another', async () => {
    const [a, b] = await foremen(2);
    const w = await spawnWorker(b.wsUrl);
    const id = await submit(a.api, { type: 'honours-abort', params: {} });
    // On the worker (not only 'running' on the foreman, which shows before the assignment commits): the cancel must reach a handler.
    await waitForHandler(w.statusUrl, id);
    const res = await a.api.request('POST', `/tasks/${id}/cancel`);
    expect(res.state).toBe('cancelling');
    const t = await waitForTask(b.api, id, settled, 'settled', 5000);
    expect(t).toMatchObject({ state: 'cancelled', error: { code: 'CANCELLED' } });
    expect((await fetch(`${w.statusUrl}/stats`).then((r) => r.json())).cancelled).toBe(1);
    // A's /workers shows the whole fleet: B's worker, with the foreman it is connected to.
    const bId = (await b.api.request('GET', '/foremen')).foremen.find((f: { self: boolean }) => f.self).id;
    const listed = await waitFor(async () => (await a.api.request('GET', '/workers')).workers.find((x: { id: string }) => x.id === w.id), "B's worker listed by A");
    expect(listed).toMatchObject({ foremanId: bId, state: 'active', capacity: 4 });
  });

  it("shows an attempt's ctx.log() lines on every foreman, whichever foreman's worker ran it", async () => {
    const [a, b] = await foremen(2);
    const w = await spawnWorker(b.wsUrl);
    const id = await submit(a.api, { type: 'log-and-throw', params: { lines: 3 } });
    expect(await waitForTask(a.api, id, settled, 'settled')).toMatchObject({ state: 'succeeded', workerId: w.id });
    const logs = await waitFor(async () => (await a.api.request('GET', `/tasks/${id}`)).logs.find((l: { attempt: number }) => l.attempt === 1), 'the lines on A');
    expect(logs.workerId).toBe(w.id);
    expect(logs.lines.map((l: string) => l.replace(/^\S+ /, '').replace(/ \{.*$/, ''))).toEqual([1, 2, 3].map((i) => `line ${i} of attempt 1`));
  });

  it('resumes a task on another foreman from the checkpoint an attempt saved under the first', async () => {
    const [a, b] = await foremen(2, ['--grace-ms', '200']);
    const first = await spawnWorker(a.wsUrl);
    const file = join(tempDir(), 'steps.txt');
    const steps = () => readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => l.split(' ').map(Number));
    const id = await submit(a.api, { type: 'count-to', params: { to: 60, every: 10, stepMs: 40, file } });
    await waitFor(() => existsSync(file) && steps().some(([, n]) => n >= 25), 'attempt 1 at 25');
    first.kill('SIGKILL');
    // Saved through A, seen from B.
    expect((await b.api.request('GET', `/tasks/${id}`)).checkpoint).toMatchObject({ attempt: 1 });
    const second = await spawnWorker(b.wsUrl);
    const t = await waitForTask(b.api, id, settled, 'settled on B', 30_000);
    expect(t).toMatchObject({ state: 'succeeded', workerId: second.id, result: { n: 60, attempt: 2 } });
    const reached = Math.max(...steps().filter(([att]) => att === 1).map(([, n]) => n));
    expect(t.result.startedFrom).toBeGreaterThanOrEqual(20);
    expect(t.result.startedFrom).toBeLessThanOrEqual(reached);
    expect(steps().filter(([att]) => att === 2)[0][1]).toBe(t.result.startedFrom + 1);
  });

  it('makes one task of the same idempotency key sent to two foremen at once', async () => {
    const [a, b] = await foremen(2);
    const replies = await Promise.all(
      Array.from({ length: 16 }, (_, i) => (i % 2 ? a : b).api.request('POST', '/tasks', { type: 'echo', params: 1 }, { 'idempotency-key': 'order-42' })),
    );
    expect(new Set(replies.map((r) => r.id)).size).toBe(1);
    const { tasks } = await a.api.request('GET', '/tasks?key=order-42');
    expect(tasks).toHaveLength(1);
  });

  it('moves a worker to the next foreman when its foreman dies, and adopts its running task there', async () => {
    const [a, b] = await foremen(2);
    const w = await spawnWorker(wsList([a, b]), { concurrency: 1 });
    const id = await submit(a.api, { type: 'sleep', params: { ms: 1500 } });
    await waitForTask(a.api, id, (t) => t.state === 'running', 'running');
    await waitFor(async () => (await fetch(`${w.statusUrl}/`).then((r) => r.json())).tasks.length === 1, 'running on the worker');
    a.kill('SIGKILL');
    await w.registered(2);
    const t = await waitForTask(b.api, id, settled, 'settled on B');
    expect(t).toMatchObject({ state: 'succeeded', attempt: 1, losses: 0 });
    expect((await b.api.request('GET', '/foremen')).foremen.find((f: { self: boolean }) => f.self)).toBeTruthy();
  });

  it('runs a 5,000-task job to the end while foremen are killed and restarted, each task once', async () => {
    const seed = Number(process.env.GAFFER_TEST_SEED ?? Date.now() % 100_000);
    console.log(`several foremen kill test: GAFFER_TEST_SEED=${seed}`);
    const random = seeded(seed);
    const fs = await foremen(3);
    const runs = join(tempDir(), 'runs.log');
    writeFileSync(runs, '');
    const list = wsList(fs);
    // One at a time: six processes compiling at once on a busy machine outlast the start timeout.
    const workers = [];
    for (let i = 0; i < 6; i++) workers.push(await spawnWorker(list, { concurrency: 4, args: ['--foreman-mode', 'round-robin'], startTimeoutMs: SLOW_START_MS }));
    const total = 5000;
    const tasks = Array.from({ length: total }, (_, n) => ({ type: 'record', params: { file: runs, ms: Math.floor(random() * 4), n } }));
    // The survivor streams the results; the other two are killed, one after the other, and restarted.
    const order = [0, 1, 2].sort(() => random() - 0.5);
    const survivor = fs[order[2]];
    const { jobId } = await survivor.api.request('POST', '/jobs', tasks);
    const firstKillAt = 500 + Math.floor(random() * 1500);
    const secondKillAt = firstKillAt + 500 + Math.floor(random() * 1500);
    const lines: Array<{ id: string; state: string; attempt: number }> = [];
    const killer = (async () => {
      await waitFor(() => lines.length >= firstKillAt, `${firstKillAt} results`, 120_000);
      fs[order[0]].kill('SIGKILL');
      await waitFor(() => lines.length >= secondKillAt, `${secondKillAt} results`, 120_000);
      fs[order[1]].kill('SIGKILL');
      await Promise.all([fs[order[0]].exited(), fs[order[1]].exited()]);
      for (const i of [order[0], order[1]]) fs[i] = await startForeman(fs[i].args, { port: fs[i].port, startTimeoutMs: SLOW_START_MS });
    })();
    for await (const line of survivor.api.results(jobId)) lines.push(line as never);
    await killer;

    expect(lines).toHaveLength(total);
    expect(new Set(lines.map((l) => l.id)).size).toBe(total);
    expect(lines.filter((l) => l.state !== 'succeeded')).toEqual([]);
    // Handler runs per task: adopted tasks were not run again; no attempt ever ran twice.
    const started = readFileSync(runs, 'utf8').trim().split('\n').map((l) => l.split(' '));
    const attempts = new Set(started.map(([task, attempt]) => `${task} ${attempt}`));
    expect(attempts.size).toBe(started.length);
    const byTask = new Map<string, number>();
    for (const [task] of started) byTask.set(task, (byTask.get(task) ?? 0) + 1);
    expect(byTask.size).toBe(total);
    // A task runs again only when its attempt was written but the assignment never left a dying foreman:
    // at most the slots of the fleet per kill.
    const rerun = [...byTask.values()].filter((n) => n > 1).length;
    expect(rerun).toBeLessThanOrEqual(2 * workers.length * 4);
    const job = await fs[order[0]].api.request('GET', `/jobs/${jobId}`);
    expect(job).toMatchObject({ total, complete: true, counts: { succeeded: total } });
  }, 400_000);
});
