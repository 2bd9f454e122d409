/**
 * The database restarted under load: a private PostgreSQL cluster (so the other test files keep
 * theirs) is stopped and started again while a client submits tasks one after another and a worker
 * runs them. Needs the server binaries (GAFFER_TEST_PG_BIN, set by test/setup/full-run.sh).
 */
import { spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { FAST_LIVENESS } from '../helpers/fast-liveness.js';
import { postgresAvailable } from '../helpers/postgres.js';
import { spawnWorker, startForeman } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait-for.js';

const BIN = process.env.GAFFER_TEST_PG_BIN;
const AS_ROOT = process.env.GAFFER_TEST_PG_AS_ROOT === '1';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Runs a server binary, as the postgres user when the tests run as root (initdb refuses root). */
function pgRun(cmd: string, args: string[]): void {
  const [file, argv] = AS_ROOT ? ['runuser', ['-u', 'postgres', '--', join(BIN as string, cmd), ...args]] : [join(BIN as string, cmd), args];
  const r = spawnSync(file, argv, { stdio: 'pipe', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr?.toString()}`);
}

class PrivateCluster {
  readonly dir = mkdtempSync(join(tmpdir(), 'gaffer-pg-restart-'));
  port = 0;
  /** Creates and starts the cluster the first time; returns its admin URL. */
  async init(): Promise<string> {
    if (this.port !== 0) return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
    if (AS_ROOT) spawnSync('chown', ['postgres', this.dir]);
    else chownSync(this.dir, process.getuid?.() ?? 0, process.getgid?.() ?? 0);
    this.port = await freePort();
    pgRun('initdb', ['-D', join(this.dir, 'data'), '-A', 'trust', '-U', 'postgres']);
    this.start();
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }
  start(): void {
    pgRun('pg_ctl', ['-D', join(this.dir, 'data'), '-l', join(this.dir, 'log'), '-w', '-o', `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1`, 'start']);
  }
  stop(): void {
    pgRun('pg_ctl', ['-D', join(this.dir, 'data'), '-m', 'fast', '-w', 'stop']);
  }
}

describe.runIf(postgresAvailable() && BIN !== undefined)('the database restarted under load', () => {
  const cluster = new PrivateCluster();
  afterAll(() => {
    try {
      cluster.stop();
    } catch {
      // already stopped
    }
  });

  it('answers 503 during the outage, loses no 2xx and accepts no result twice', async () => {
    const url = await cluster.init();
    const foreman = await startForeman(['--store', url, ...FAST_LIVENESS]);
    await spawnWorker(foreman.wsUrl, { concurrency: 8 });
    const accepted: string[] = [];
    const statuses = new Map<number, number>();
    let stopped = false;
    let restarted = false;
    const client = (async () => {
      for (let n = 0; ; n++) {
        // A hang would show as this timeout: every request must be answered.
        const res = await fetch(`${foreman.url}/tasks`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ type: 'echo', params: n }),
          signal: AbortSignal.timeout(15_000),
        });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status === 202) accepted.push(((await res.json()) as { id: string }).id);
        else await res.body?.cancel();
        if (stopped && !restarted) await new Promise((r) => setTimeout(r, 20));
        if (restarted && accepted.length >= 300) break;
      }
    })();
    await waitFor(() => accepted.length >= 100, '100 submissions accepted');
    cluster.stop();
    stopped = true;
    await waitFor(() => (statuses.get(503) ?? 0) >= 5, 'submissions refused with 503 during the outage').catch((err) => {
      throw new Error(`${(err as Error).message}; statuses ${JSON.stringify([...statuses])}; foreman stderr: ${foreman.stderr.slice(-1500)}`);
    });
    cluster.start();
    restarted = true;
    await client;

    expect([...statuses.keys()].filter((s) => s !== 202 && s !== 503)).toEqual([]);
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      await waitFor(async () => {
        const { rows } = await db.query(`SELECT count(*)::int AS n FROM tasks WHERE state = 'succeeded'`);
        return rows[0].n === accepted.length;
      }, 'every accepted task succeeded', 60_000);
      const { rows } = await db.query<{ id: string; state: string; attempt: number }>('SELECT id, state, attempt FROM tasks');
      expect(new Set(rows.map((r) => r.id))).toEqual(new Set(accepted));
      // One accepted result each: every attempt history row is a non-success (a success lives in the task row only).
      const { rows: history } = await db.query(`SELECT count(*)::int AS n FROM attempts WHERE outcome = 'succeeded'`);
      expect(history[0].n).toBe(0);
    } finally {
      await db.end();
    }
  }, 180_000);

  it('fires a schedule again once the database is back: the tick due during the outage once, then on from now', async () => {
    const admin = new pg.Client({ connectionString: await cluster.init() });
    await admin.connect();
    await admin.query('CREATE DATABASE schedules');
    await admin.end();
    const url = `postgres://postgres@127.0.0.1:${cluster.port}/schedules`;
    const foreman = await startForeman(['--store', url]);
    await foreman.api.request('POST', '/schedules', { name: 'every-second', cron: '* * * * * *', task: { type: 'echo' } });
    const ticks = async () => {
      const { tasks } = await foreman.api.request('GET', '/tasks?limit=1000');
      return (tasks as { key: string }[]).map((t) => Number(t.key.split(':')[2])).sort((a, b) => a - b);
    };
    await waitFor(async () => (await ticks()).length >= 2, 'two ticks');
    cluster.stop();
    const failed = await foreman.waitForLine((l) => l.msg === 'schedule could not fire (the store is failing or closing); the tick stays due and is tried again', 'a tick that could not fire');
    // Down for two more ticks at least: retried every second meanwhile, reported once.
    await waitFor(() => Date.now() > (failed.time as number) + 2500, 'two more ticks missed', 10_000, 100);
    cluster.start();
    await foreman.waitForLine((l) => l.msg === 'schedules firing again', 'schedules firing again', 30_000);
    const stuck = failed.tick as number;
    await waitFor(async () => (await ticks()).some((t) => t > stuck + 1000), 'a tick after the outage', 30_000);
    const all = await ticks();
    expect(new Set(all).size).toBe(all.length);
    // The tick due when the database went away fired once it was back; the next ones from then on.
    expect(all).toContain(stuck);
    expect(all.filter((t) => t > stuck && t <= stuck + 2000)).toEqual([]);
    expect(foreman.lines.filter((l) => l.msg === failed.msg)).toHaveLength(1);
  }, 180_000);
});
