import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BIN, LoggedProcess, spawnWorker, startForeman, type ForemanProcess, type WorkerProcess } from '../helpers/processes.js';
import { FAST_LIVENESS } from '../helpers/fast-liveness.js';
import { postgresAvailable } from '../helpers/postgres.js';
import { STORES, storeArgs } from '../helpers/stores.js';
import { waitFor } from '../helpers/wait-for.js';

const HANDLERS = fileURLToPath(new URL('../fixtures/quorum-handlers.ts', import.meta.url));
const worker = (foreman: ForemanProcess, opts: { id?: string; liar?: boolean; concurrency?: number } = {}) =>
  spawnWorker(foreman.wsUrl, { id: opts.id, concurrency: opts.concurrency ?? 8, args: ['--handlers', HANDLERS], env: opts.liar ? { GAFFER_TEST_LIAR: '1' } : {} });

/** Starts workers one after another: four processes loading at once on a loaded 2-core machine can take past the start deadline. */
async function workers<T>(items: T[], start: (item: T) => Promise<WorkerProcess>): Promise<WorkerProcess[]> {
  const out: WorkerProcess[] = [];
  for (const item of items) out.push(await start(item));
  return out;
}

async function settled(foreman: ForemanProcess, id: string): Promise<Record<string, any>> {
  return waitFor(async () => {
    const t = await foreman.api.request('GET', `/tasks/${id}`);
    return (t.state === 'succeeded' || t.state === 'failed') && t;
  }, `task ${id} settled`, 30_000);
}

describe.each(STORES)('quorum (%s)', (store) => {
  it('outvotes a lying worker on a 300-task job: every result right, the liar quarantined, points exact', async () => {
    const foreman = await startForeman(await storeArgs(store));
    const honest = await workers(['h1', 'h2', 'h3'], (id) => worker(foreman, { id: `${id}-${process.pid}` }));
    const liar = await worker(foreman, { id: `liar-${process.pid}`, liar: true });
    const tasks = Array.from({ length: 300 }, (_, n) => ({ type: 'square', params: { n } }));
    const { jobId } = await foreman.api.request('POST', '/jobs', { quorum: 3, tasks });
    const results: Array<Record<string, any>> = [];
    for await (const r of foreman.api.results(jobId)) results.push(r);
    expect(results).toHaveLength(300);
    const page = await foreman.api.request('GET', `/tasks?jobId=${jobId}&limit=1000`);
    const validByWorker = new Map<string, number>();
    for (const t of page.tasks) {
      const n = (t.params as { n: number }).n;
      expect(t.state).toBe('succeeded');
      expect(t.result).toBe(n * n);
      const view = await foreman.api.request('GET', `/tasks/${t.id}`);
      const replicas = view.quorum.replicas as Array<{ workerId: string; verdict: string }>;
      // Distinct workers, and the agreeing ones are honest.
      const workers = replicas.map((r) => r.workerId);
      expect(new Set(workers).size).toBe(workers.length);
      for (const r of replicas) if (r.verdict === 'valid') validByWorker.set(r.workerId, (validByWorker.get(r.workerId) ?? 0) + 1);
    }
    // Late replicas are judged when they finish: wait until every one has a verdict.
    const board = await waitFor(async () => {
      const b = await foreman.api.request('GET', '/leaderboard?sort=reputation&order=asc');
      const judged = b.workers.reduce((sum: number, w: { valid: number; invalid: number; errors: number }) => sum + w.valid + w.invalid + w.errors, 0);
      return judged >= 900 && b;
    }, 'every replica judged');
    const byId = new Map<string, any>(board.workers.map((w: { workerId: string }) => [w.workerId, w]));
    const lying = byId.get(liar.id);
    expect(board.workers[0].workerId).toBe(liar.id);
    expect(lying.invalid).toBeGreaterThan(0);
    expect(lying.quarantined).toBe(true);
    // Quarantined once it fell below 0.5; replicas it already ran may have been valid since, and count.
    expect(lying.quarantinedAt).toBeGreaterThan(0);
    expect(lying.reputation).toBeLessThan(0.9);
    for (const h of honest) {
      const s = byId.get(h.id);
      expect(s.invalid).toBe(0);
      expect(s.points).toBe(s.valid);
      expect(s.valid).toBe(validByWorker.get(h.id));
      expect(s.reputation).toBeGreaterThan(0.9);
    }
    // The CLI prints the same board, the liar flagged.
    const cli = new LoggedProcess(spawn(process.execPath, [BIN, 'leaderboard', '--foreman', foreman.url, '--sort', 'invalid'], { stdio: ['ignore', 'pipe', 'pipe'] }));
    expect(await cli.exited()).toBe(0);
    const lines = cli.lines.map((l) => String(l.msg));
    expect(lines[1]).toContain(liar.id);
    expect(lines[1]).toContain('QUARANTINED');
    expect(lines.at(-1)).toBe('4 workers scored');
    // Once quarantined, the liar gets no more replicas.
    const after = await foreman.api.request('POST', '/tasks', { type: 'square', params: { n: 8 }, quorum: 3 });
    const t = await settled(foreman, after.id);
    expect(t.result).toBe(64);
    expect(t.quorum.replicas.map((r: { workerId: string }) => r.workerId)).not.toContain(liar.id);
  }, 180_000);

  it('completes every quorum task when a replica\'s worker is killed mid-task: one canonical result each', async () => {
    const foreman = await startForeman(['--grace-ms', '500', '--heartbeat-interval-ms', '250', '--stale-after-ms', '1500', '--lease-ms', '3000', ...(await storeArgs(store))]);
    const victim = await worker(foreman, { id: `victim-${process.pid}`, concurrency: 4 });
    await workers([1, 2, 3], (i) => worker(foreman, { id: `w${i}-${process.pid}`, concurrency: 4 }));
    const tasks = Array.from({ length: 12 }, (_, n) => ({ type: 'square', params: { n, ms: 400 } }));
    const { jobId } = await foreman.api.request('POST', '/jobs', { quorum: { replicas: 3, agree: 2 }, tasks });
    await waitFor(async () => {
      const { workers } = await foreman.api.request('GET', '/workers');
      return workers.find((w: { id: string; slotsInUse: number }) => w.id === victim.id)?.slotsInUse > 0;
    }, 'the victim runs a replica');
    victim.kill('SIGKILL');
    const results: Array<Record<string, any>> = [];
    for await (const r of foreman.api.results(jobId)) results.push(r);
    expect(results).toHaveLength(12);
    expect(new Set(results.map((r) => r.id)).size).toBe(12);
    for (const r of results) {
      expect(r.state).toBe('succeeded');
      const t = await foreman.api.request('GET', `/tasks/${r.id}`);
      expect(r.result).toBe(t.params.n * t.params.n);
      expect(t.quorum.replicas.filter((x: { verdict: string }) => x.verdict === 'valid').length).toBeGreaterThanOrEqual(2);
    }
  }, 120_000);

  it('fails with NO_CONSENSUS listing every answer, and accepts floating-point answers within a tolerance', async () => {
    const foreman = await startForeman(await storeArgs(store));
    await workers([1, 2, 3], () => worker(foreman));
    const coin = await foreman.api.request('POST', '/tasks', { type: 'coin', quorum: { replicas: 2, agree: 2, maxReplicas: 3 } });
    const failed = await settled(foreman, coin.id);
    expect(failed.state).toBe('failed');
    expect(failed.error.code).toBe('NO_CONSENSUS');
    expect(failed.error.answers).toHaveLength(3);
    expect(failed.quorum.replicas).toHaveLength(3);
    // Retrying would run it once, unchecked: a quorum task is refused, and a job's retry-failed skips it.
    const retry = await fetch(`${foreman.url}/tasks/${coin.id}/retry`, { method: 'POST' });
    expect(retry.status).toBe(409);
    const { jobId } = await foreman.api.request('POST', '/jobs', { quorum: { replicas: 2, agree: 2, maxReplicas: 2 }, tasks: [{ type: 'coin' }] });
    for await (const r of foreman.api.results(jobId)) expect(r.error.code).toBe('NO_CONSENSUS');
    expect(await foreman.api.request('POST', `/jobs/${jobId}/retry-failed`)).toMatchObject({ requeued: 0 });
    const exact = await settled(foreman, (await foreman.api.request('POST', '/tasks', { type: 'noisy-root', params: { n: 2 }, quorum: { replicas: 3, agree: 3, maxReplicas: 3 } })).id);
    expect(exact.error?.code).toBe('NO_CONSENSUS');
    const tolerant = await settled(foreman, (await foreman.api.request('POST', '/tasks', { type: 'noisy-root', params: { n: 2 }, quorum: { replicas: 3, agree: 3, compare: { tolerance: 1e-9 } } })).id);
    expect(tolerant.state).toBe('succeeded');
    expect(Math.abs(tolerant.result - Math.SQRT2)).toBeLessThan(1e-9);
    // A quorum that cannot be met is refused up front, naming the field.
    const bad = await fetch(`${foreman.url}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'coin', quorum: { replicas: 2, agree: 3 } }) });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'INVALID_REQUEST', field: 'body/quorum' });
  }, 120_000);

  it('adaptive: until a worker has a valid streak the full quorum runs; then it runs a task alone; scores survive a restart', async () => {
    // Trust after 3 valid results in a row, never spot-check: the rule's two knobs at their extremes.
    const foreman = await startForeman(['--quorum-trust-after', '3', '--quorum-spot-check', '0', ...(await storeArgs(store))]);
    await workers([1, 2, 3], () => worker(foreman, { concurrency: 1 }));
    const run = async (n: number) => settled(foreman, (await foreman.api.request('POST', '/tasks', { type: 'square', params: { n }, quorum: { replicas: 3, adaptive: true } })).id);
    // Nobody is trusted yet: each task's first answer brings in the other two replicas.
    for (let n = 1; n <= 3; n++) {
      const t = await run(n);
      expect(t.result).toBe(n * n);
      expect(t.quorum.replicas, JSON.stringify(t.quorum)).toHaveLength(3);
    }
    // Each of the three workers ran a replica of each task: 3 valid results in a row, so one replica is enough.
    const alone = await run(5);
    expect(alone.result).toBe(25);
    expect(alone.quorum.replicas).toHaveLength(1);
    expect(alone.quorum.replicas[0].verdict).toBe('valid');
    // Points and reputation are durable: a restarted foreman on the same store shows the same board.
    const before = await foreman.api.request('GET', '/leaderboard');
    foreman.kill('SIGKILL');
    await foreman.exited();
    const again = await startForeman(foreman.args, { dbPath: foreman.dbPath });
    expect(await again.api.request('GET', '/leaderboard')).toEqual(before);
  }, 120_000);

  it("distinct: 'address' keeps a second replica off every worker at an address that already ran one", async () => {
    const foreman = await startForeman(await storeArgs(store));
    // Two workers, one address (loopback): the first replica runs, the second can find no other address.
    await workers([1, 2], () => worker(foreman, { concurrency: 2 }));
    const { id } = await foreman.api.request('POST', '/tasks', { type: 'square', params: { n: 3 }, quorum: { replicas: 2, agree: 2, distinct: 'address' } });
    const view = await waitFor(async () => {
      const t = await foreman.api.request('GET', `/tasks/${id}`);
      return t.quorum.replicas.some((r: { answer: unknown }) => r.answer !== null) && t;
    }, 'the first replica answered');
    expect(view.state).toBe('queued');
    const waiting = view.quorum.replicas.find((r: { answer: unknown }) => r.answer === null);
    const replica = await foreman.api.request('GET', `/tasks/${waiting.taskId}`);
    expect(replica).toMatchObject({ state: 'queued', attempt: 0 });
    // With 'worker' (the default) the same two workers are enough.
    const plain = await settled(foreman, (await foreman.api.request('POST', '/tasks', { type: 'square', params: { n: 3 }, quorum: { replicas: 2, agree: 2 } })).id);
    expect(plain.result).toBe(9);
  }, 120_000);
});

describe.runIf(postgresAvailable())('quorum across two foremen over PostgreSQL', () => {
  it('judges each task once in the database when its replicas ran on workers of both foremen: honest answers win, the liar loses reputation', async () => {
    const args = await storeArgs('postgres');
    const a = await startForeman(args, { startTimeoutMs: 60_000 });
    const b = await startForeman(args, { startTimeoutMs: 60_000 });
    const onA = await workers(['a1', 'a2'], (id) => worker(a, { id: `${id}-${process.pid}`, concurrency: 4 }));
    const onB = await workers(['b1'], (id) => worker(b, { id: `${id}-${process.pid}`, concurrency: 4 }));
    const liar = await worker(b, { id: `liar-${process.pid}`, liar: true, concurrency: 4 });
    // Three distinct workers of four, two per foreman: every task's replicas span both foremen.
    const tasks = Array.from({ length: 40 }, (_, n) => ({ type: 'square', params: { n } }));
    const { jobId } = await a.api.request('POST', '/jobs', { quorum: 3, tasks });
    const results: Array<Record<string, any>> = [];
    for await (const r of a.api.results(jobId)) results.push(r);
    expect(results).toHaveLength(40);
    expect(new Set(results.map((r) => r.id)).size).toBe(40);
    const foremanOf = new Map<string, string>([...onA.map((w) => [w.id, 'a'] as const), ...onB.map((w) => [w.id, 'b'] as const), [liar.id, 'b']]);
    const validByWorker = new Map<string, number>();
    let lies = 0;
    for (const r of results) {
      // Read through B: the task, its replicas and their verdicts are in the shared database.
      const t = await waitFor(async () => {
        const view = await b.api.request('GET', `/tasks/${r.id}`);
        return view.quorum.replicas.every((x: { verdict: string | null }) => x.verdict !== null) && view;
      }, `every replica of ${r.id} judged`);
      const n = t.params.n as number;
      expect(t).toMatchObject({ state: 'succeeded', result: n * n });
      const replicas = t.quorum.replicas as Array<{ workerId: string; verdict: string }>;
      const used = replicas.map((x) => x.workerId);
      expect(new Set(used).size).toBe(used.length);
      expect(new Set(used.map((w) => foremanOf.get(w)))).toEqual(new Set(['a', 'b']));
      for (const x of replicas) {
        if (x.verdict === 'valid') validByWorker.set(x.workerId, (validByWorker.get(x.workerId) ?? 0) + 1);
        if (x.verdict === 'invalid') {
          expect(x.workerId).toBe(liar.id);
          lies++;
        }
      }
    }
    // Read from either foreman, the board is the database's.
    const board = await b.api.request('GET', '/leaderboard?sort=reputation&order=asc');
    expect(await a.api.request('GET', '/leaderboard?sort=reputation&order=asc')).toEqual(board);
    const byId = new Map<string, any>(board.workers.map((w: { workerId: string }) => [w.workerId, w]));
    expect(lies).toBeGreaterThan(0);
    expect(board.workers[0].workerId).toBe(liar.id);
    expect(byId.get(liar.id).invalid).toBe(lies);
    expect(byId.get(liar.id).reputation).toBeLessThan(1);
    // Each answer scored once, wherever it arrived: points are exactly the valid verdicts.
    for (const w of [...onA, ...onB]) expect(byId.get(w.id)).toMatchObject({ invalid: 0, valid: validByWorker.get(w.id), points: validByWorker.get(w.id) });
  }, 180_000);

  it('finishes every quorum task when a foreman dies mid-job: its workers fail over and the other foreman judges what they bring', async () => {
    const args = [...(await storeArgs('postgres')), ...FAST_LIVENESS];
    const a = await startForeman(args, { startTimeoutMs: 60_000 });
    const b = await startForeman(args, { startTimeoutMs: 60_000 });
    // Two workers start on each foreman; each fails over to the other one.
    const start = (id: string, first: ForemanProcess, second: ForemanProcess) =>
      spawnWorker(`${first.wsUrl},${second.wsUrl}`, { id: `${id}-${process.pid}`, concurrency: 2, args: ['--handlers', HANDLERS], startTimeoutMs: 60_000 });
    await workers(['a1', 'a2'], (id) => start(id, a, b));
    await workers(['b1', 'b2'], (id) => start(id, b, a));
    const tasks = Array.from({ length: 24 }, (_, n) => ({ type: 'square', params: { n, ms: 200 } }));
    const { jobId } = await b.api.request('POST', '/jobs', { quorum: 3, tasks });
    const results: Array<Record<string, any>> = [];
    for await (const r of b.api.results(jobId)) {
      results.push(r);
      if (results.length === 6) a.kill('SIGKILL');
    }
    expect(results).toHaveLength(24);
    expect(new Set(results.map((r) => r.id)).size).toBe(24);
    for (const r of results) {
      const t = await b.api.request('GET', `/tasks/${r.id}`);
      expect(t).toMatchObject({ state: 'succeeded', result: t.params.n * t.params.n });
      const valid = t.quorum.replicas.filter((x: { verdict: string }) => x.verdict === 'valid').map((x: { workerId: string }) => x.workerId);
      expect(valid.length).toBeGreaterThanOrEqual(2);
      expect(new Set(valid).size).toBe(valid.length);
    }
  }, 240_000);
});
