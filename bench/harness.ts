/**
 * Real processes for the benchmark: a foreman on a fresh SQLite file in a
 * temp dir (shipped durable settings, loopback, a port picked up front so a
 * restart can reuse it) and real worker processes started through the CLI.
 * Every child is tracked and killed when the benchmark ends, even on failure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchClient } from './http.js';
import { waitUntil } from './wait.js';

export const BIN = fileURLToPath(new URL('../bin/gaffer.js', import.meta.url));
/** The repository root: children run there, so `--import tsx` resolves whatever the caller's directory. */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BENCH_HANDLERS = fileURLToPath(new URL('./handlers.ts', import.meta.url));

const children = new Set<ChildProcess>();

/** Spawns `node [nodeArgs] args` with the open-file soft limit raised to the hard limit (10,000 sockets need it). */
export function spawnNode(args: string[], opts: { nodeArgs?: string[]; ipc?: boolean } = {}): ChildProcess {
  return spawnTracked([process.execPath, ...(opts.nodeArgs ?? []), ...args], opts);
}

/** Spawns any program (argv[0]) as a tracked child: killed by `killAll`, its stderr tail kept for error messages. */
export function spawnTracked(argv: string[], opts: { ipc?: boolean } = {}): ChildProcess {
  const proc = spawn('/bin/sh', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', 'sh', ...argv], {
    stdio: ['ignore', 'ignore', 'pipe', ...(opts.ipc ? (['ipc'] as const) : [])],
    cwd: ROOT,
  });
  let stderr = '';
  proc.stderr?.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4000);
  });
  Object.defineProperty(proc, 'stderrTail', { get: () => stderr });
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  return proc;
}

/** The last few KB a child wrote to stderr, for error messages. */
export const stderrOf = (p: ChildProcess): string => (p as unknown as { stderrTail: string }).stderrTail ?? '';

/** Kills every child still running (SIGKILL) and waits for them to exit. */
export async function killAll(): Promise<void> {
  const procs = [...children];
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await Promise.all(procs.map(exited));
}

export function exited(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => p.once('exit', () => resolve()));
}

/** Asks a process to exit (SIGTERM, so --cpu-prof can write its profile), then kills it after `graceMs`. */
export async function stop(p: ChildProcess, graceMs = 15_000): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  p.kill('SIGTERM');
  const timer = setTimeout(() => p.kill('SIGKILL'), graceMs);
  await exited(p);
  clearTimeout(timer);
}

/** A free loopback port (bound and released), so a restarted foreman can take the same one. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Resident set size (bytes) and CPU time used so far (ms) of a process, from /proc. */
export function procStats(pid: number): { rssBytes: number; cpuMs: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the ")" that closes the command name; utime and stime are the 14th and 15th fields overall.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  // Linux reports these in clock ticks of 10 ms (USER_HZ = 100).
  return { rssBytes: rssKb * 1024, cpuMs: ticks * 10 };
}

/**
 * The per-address caps are defences against remote clients; the whole benchmark
 * is one loopback address, so they are raised (sessions: 10,000 from one address;
 * HTTP: the latency probe alone sends ~2,000 requests a second). Durability
 * settings (sync, group commit) stay as shipped.
 */
const LOOPBACK_LIMITS = ['--max-sessions-per-address', '10000', '--max-requests-per-second', '1000000'];

export interface ForemanProc {
  proc: ChildProcess;
  port: number;
  url: string;
  wsUrl: string;
  dir: string;
  dbPath: string;
  client: BenchClient;
}

export interface ForemanStart {
  /** Reuse this directory and port (restart after a crash); default a fresh temp dir and a free port. */
  dir?: string;
  port?: number;
  args?: string[];
  profileDir?: string | null;
}

/** Starts a foreman process and resolves once GET /health answers. */
export async function startForeman(opts: ForemanStart = {}): Promise<ForemanProc> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'gaffer-bench-'));
  const port = opts.port ?? (await freePort());
  const dbPath = join(dir, 'gaffer.db');
  const args = [BIN, 'foreman', '--host', '127.0.0.1', '--port', String(port), '--db', dbPath, '--log-level', 'warn', ...LOOPBACK_LIMITS, ...(opts.args ?? [])];
  const proc = spawnNode(args, { nodeArgs: profileArgs(opts.profileDir, 'foreman') });
  const client = new BenchClient(`http://127.0.0.1:${port}`);
  await waitUntil(async () => {
    if (proc.exitCode !== null) throw new Error(`foreman exited (${proc.exitCode}): ${stderrOf(proc)}`);
    return (await client.request('GET', '/health').catch(() => null))?.ok === true;
  }, 'foreman /health', 60_000, 10);
  return { proc, port, url: client.baseUrl, wsUrl: `ws://127.0.0.1:${port}`, dir, dbPath, client };
}

/** Removes a foreman's temp dir (its SQLite file) once it has exited. */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Node flags that write a CPU profile into `dir` at exit, or none. */
export function profileArgs(dir: string | null | undefined, name: string): string[] {
  // One directory per role: V8 names each file by pid, which does not say which process it was.
  return dir ? ['--cpu-prof', '--cpu-prof-dir', join(dir, name)] : [];
}

export interface WorkerStart {
  count: number;
  concurrency: number;
  /** Extra worker flags, e.g. reconnect timing. */
  args?: string[];
  profileDir?: string | null;
  /** Resolve once they are registered (default true). */
  wait?: boolean;
}

/** Starts `count` real worker processes (built-ins plus bench handlers) and waits until the foreman lists them all active. */
export async function startWorkers(foreman: ForemanProc, opts: WorkerStart): Promise<ChildProcess[]> {
  const tag = Math.random().toString(36).slice(2, 7);
  const procs: ChildProcess[] = [];
  for (let i = 0; i < opts.count; i++) {
    const args = [
      BIN, 'worker', '--foreman', foreman.wsUrl, '--id', `bench-${tag}-${i}`, '--concurrency', String(opts.concurrency),
      '--handlers', BENCH_HANDLERS, '--status-port', '0', '--log-level', 'warn', ...(opts.args ?? []),
    ];
    procs.push(spawnNode(args, { nodeArgs: profileArgs(opts.profileDir, 'worker') }));
  }
  if (opts.wait !== false) await waitForWorkers(foreman, opts.count, procs);
  return procs;
}

/** Waits until at least `n` workers are active on the foreman. */
export async function waitForWorkers(foreman: ForemanProc, n: number, procs: ChildProcess[] = [], timeoutMs = 60_000): Promise<void> {
  await waitUntil(async () => {
    for (const p of procs) if (p.exitCode !== null) throw new Error(`worker exited (${p.exitCode}): ${stderrOf(p)}`);
    const { workers } = await foreman.client.request<{ workers: Array<{ state: string }> }>('GET', '/workers');
    return workers.filter((w) => w.state === 'active').length >= n;
  }, `${n} workers active`, timeoutMs, 25);
}
