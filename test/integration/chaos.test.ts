/**
 * The bounded chaos test: 2,000 tasks over 4 worker processes while workers
 * are SIGKILLed and restarted, one is frozen past its lease and thawed, and the
 * foreman is SIGKILLed twice and restarted on the same SQLite file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnWorker, startForeman, tempDir, type ForemanProcess, type WorkerProcess } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait-for.js';

const TASKS = 2000;
const LIVENESS = [
  '--heartbeat-interval-ms', '100', '--stale-after-ms', '500', '--lease-ms', '1500', '--grace-ms', '800',
  '--restart-grace-ms', '3000', '--sweep-interval-ms', '50', '--retry-backoff-ms', '10', '--retry-backoff-max-ms', '50',
];

/** A small deterministic PRNG, so a failing run can be replayed. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

describe('chaos', () => {
  it('settles every task exactly once through worker kills, a frozen worker and two foreman crashes', { timeout: 180_000 }, async () => {
    const random = prng(Number(process.env.GAFFER_CHAOS_SEED ?? 7));
    const dir = tempDir('gaffer-chaos-');
    const log = join(dir, 'executions.log');
    let foreman: ForemanProcess = await startForeman(LIVENESS, { dbPath: join(dir, 'gaffer.db') });
    const ids = ['c1', 'c2', 'c3', 'c4'];
    const workers = new Map<string, WorkerProcess>();
    const startWorker = async (id: string) => workers.set(id, await spawnWorker(foreman.wsUrl, { id, concurrency: 8, waitRegistered: false }));
    await Promise.all(ids.map(startWorker));

    const tasks = Array.from({ length: TASKS }, (_, n) => ({ type: 'record', params: { file: log, ms: 5 + Math.floor(random() * 40), n }, key: `chaos-${n}` }));
    const { jobId } = await foreman.api.request('POST', '/jobs', tasks);
    const settledAtLeast = (fraction: number) =>
      waitFor(async () => (await foreman.api.request('GET', `/jobs/${jobId}`)).settled >= TASKS * fraction, `${fraction * 100}% settled`, 60_000);
    const pick = () => ids[Math.floor(random() * ids.length)];
    const killAndRestartWorker = async () => {
      const id = pick();
      workers.get(id)?.kill('SIGKILL');
      await workers.get(id)?.exited();
      await startWorker(id);
    };
    const crashForeman = async () => {
      foreman.kill('SIGKILL');
      await foreman.exited();
      foreman = await startForeman(LIVENESS, { dbPath: foreman.dbPath, port: foreman.port });
    };

    await settledAtLeast(0.1);
    await killAndRestartWorker();
    await settledAtLeast(0.2);
    // Freeze one worker until the foreman has taken its tasks back, then thaw it: its late results must be fenced off.
    const frozenId = pick();
    const frozen = workers.get(frozenId) as WorkerProcess;
    frozen.kill('SIGSTOP');
    await waitFor(async () => {
      const { workers: fleet } = await foreman.api.request('GET', '/workers');
      const w = fleet.find((x: any) => x.id === frozenId);
      return w && w.state === 'offline' && w.running.length === 0;
    }, 'frozen worker lost its tasks', 30_000);
    frozen.kill('SIGCONT');
    await settledAtLeast(0.35);
    await crashForeman();
    await settledAtLeast(0.5);
    await killAndRestartWorker();
    await settledAtLeast(0.65);
    await crashForeman();
    await settledAtLeast(0.8);
    await killAndRestartWorker();
    const job = await waitFor(async () => {
      const j = await foreman.api.request('GET', `/jobs/${jobId}`);
      return j.complete && j;
    }, 'job complete', 90_000);

    // Every task succeeded, with exactly one accepted attempt, whose worker and attempt the result confirms.
    const rows: any[] = [];
    for (let after: string | null = '0'; after !== null; ) {
      const page: { tasks: any[]; next: string | null } = await foreman.api.request('GET', `/tasks?jobId=${jobId}&limit=1000&after=${after}`);
      rows.push(...page.tasks);
      after = page.next;
    }
    expect(rows).toHaveLength(TASKS);
    expect(rows.filter((t) => t.state !== 'succeeded')).toEqual([]);
    // 100 requests at a time: the foreman caps HTTP connections per address (maxHttpConnectionsPerAddress, 200).
    const details: any[] = [];
    for (let i = 0; i < rows.length; i += 100) {
      details.push(...(await Promise.all(rows.slice(i, i + 100).map((t) => foreman.api.request('GET', `/tasks/${t.id}`)))));
    }
    for (const t of details) {
      const accepted = t.attempts.filter((a: any) => a.outcome === 'succeeded');
      expect(accepted).toHaveLength(1);
      expect(t.result).toMatchObject({ by: accepted[0].workerId, attempt: accepted[0].attempt, n: t.params.n });
    }
    // Executions beyond the accepted one were fenced: their attempts are recorded as lost or released, never accepted.
    const executions = readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' '));
    const byId = new Map(details.map((t) => [t.id, t]));
    let extra = 0;
    for (const [taskId, attempt] of executions) {
      const t = byId.get(taskId);
      expect(t).toBeDefined();
      if (Number(attempt) === t.attempt) continue;
      extra++;
      const a = t.attempts.find((x: any) => x.attempt === Number(attempt));
      expect(a.outcome).not.toBe('succeeded');
    }
    expect(executions.length).toBeGreaterThanOrEqual(TASKS);
    // The counters agree with the rows.
    expect(job.counts).toMatchObject({ succeeded: TASKS, queued: 0, running: 0, failed: 0, cancelled: 0 });
    const stats = await foreman.api.request('GET', '/stats');
    expect(stats.tasks).toMatchObject({ succeeded: TASKS, queued: 0, running: 0, cancelling: 0, failed: 0 });
    console.log(`chaos: ${executions.length} executions for ${TASKS} tasks (${extra} fenced or lost)`);
  });
});
