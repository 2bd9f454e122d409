/**
 * A throwaway PostgreSQL cluster for the bench (initdb in a temp dir, loopback only, durable
 * commits as shipped): GAFFER_BENCH_PG_URL uses an existing server instead. Needs the Debian
 * `postgresql` package's binaries; run as root, the server runs as the postgres user.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

function pgBin(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(root, versions[0], 'bin') : null;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Why the PostgreSQL scenarios cannot run here, or null when they can. */
export function benchDatabaseUnavailable(): string | null {
  if (process.env.GAFFER_BENCH_PG_URL || pgBin()) return null;
  return 'no PostgreSQL here; to enable: apt-get install -y postgresql, or set GAFFER_BENCH_PG_URL=postgres://… (a server this run may create databases on)';
}

export interface BenchDatabase {
  /** A fresh database's URL on the cluster. */
  url: string;
  /** Commits on that database so far (pg_stat_database.xact_commit): store round trips, as PostgreSQL counts them. */
  commits(): Promise<number>;
  /** CPU time (ms) the server's processes used so far, exited backends included; null when the server is not on this machine. */
  cpuMs(): number | null;
  stop(): Promise<void>;
}

/** Clock ticks (USER_HZ = 100 on Linux) of `fields` (after the command name in /proc/PID/stat), in ms. */
const ticksMs = (fields: string[], from: number, count: number): number =>
  fields.slice(from, from + count).reduce((sum, f) => sum + Number(f), 0) * 10;

/** The postmaster's own CPU, what it reaped from exited backends, and its live children's: the whole server's CPU. */
function serverCpuMs(postmasterPid: number): number | null {
  const fieldsOf = (pid: string): string[] | null => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    } catch {
      return null;
    }
  };
  const own = fieldsOf(String(postmasterPid));
  if (!own) return null;
  // utime, stime, cutime, cstime are fields 14–17 overall (11–14 after the name); ppid is field 4 (1).
  let ms = ticksMs(own, 11, 4);
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const f = fieldsOf(pid);
    if (f && Number(f[1]) === postmasterPid) ms += ticksMs(f, 11, 2);
  }
  return ms;
}

/** Starts a cluster (or uses GAFFER_BENCH_PG_URL) and creates a fresh database; null when no PostgreSQL is installed. */
export async function startBenchDatabase(): Promise<BenchDatabase | null> {
  let adminUrl = process.env.GAFFER_BENCH_PG_URL;
  let stopCluster = () => {};
  if (!adminUrl) {
    const bin = pgBin();
    if (!bin) return null;
    const dir = mkdtempSync(join(tmpdir(), 'gaffer-bench-pg-'));
    const root = process.getuid?.() === 0;
    const run = (cmd: string, args: string[]) => {
      const [file, argv] = root ? ['runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]] : [join(bin, cmd), args];
      const r = spawnSync(file, argv, { stdio: 'pipe' });
      if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr?.toString()}`);
    };
    if (root) spawnSync('chown', ['postgres', dir]);
    const port = await freePort();
    run('initdb', ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres']);
    run('pg_ctl', ['-D', join(dir, 'data'), '-l', join(dir, 'log'), '-w', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, 'start']);
    adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
    stopCluster = () => {
      run('pg_ctl', ['-D', join(dir, 'data'), '-m', 'fast', '-w', 'stop']);
      rmSync(dir, { recursive: true, force: true });
    };
  }
  const name = `gaffer_bench_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  // The server's processes, when it runs here (postmaster.pid's first line; unreadable when remote).
  const dataDir = (await admin.query<{ data_directory: string }>('SHOW data_directory')).rows[0].data_directory;
  let postmasterPid: number | null = null;
  try {
    postmasterPid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    postmasterPid = null;
  }
  return {
    cpuMs: () => (postmasterPid === null ? null : serverCpuMs(postmasterPid)),
    url: url.toString(),
    commits: async () => Number((await admin.query('SELECT xact_commit FROM pg_stat_database WHERE datname = $1', [name])).rows[0].xact_commit),
    stop: async () => {
      await admin.query('SELECT pg_stat_clear_snapshot()').catch(() => {});
      await admin.end();
      stopCluster();
    },
  };
}
