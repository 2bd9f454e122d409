/**
 * Real foreman and worker processes for integration tests: spawned through
 * the CLI on port 0, read back from their JSON logs, and killed after each test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import { ApiClient } from '../../client/api-client.js';

export const BIN = fileURLToPath(new URL('../../bin/gaffer.js', import.meta.url));
export const FIXTURE_HANDLERS = fileURLToPath(new URL('../fixtures/handlers.ts', import.meta.url));

const live = new Set<ChildProcess>();

afterEach(async () => {
  const procs = [...live];
  live.clear();
  for (const p of procs) {
    if (p.exitCode === null && p.signalCode === null) {
      p.kill('SIGCONT');
      p.kill('SIGKILL');
    }
  }
  await Promise.all(procs.map((p) => exited(p)));
});

/** Resolves when the process has exited. */
export function exited(p: ChildProcess): Promise<number | null> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve(p.exitCode);
  return new Promise((resolve) => p.once('exit', (code) => resolve(code)));
}

export interface LogLine {
  msg?: string;
  level?: number;
  [k: string]: unknown;
}

/** A spawned process whose stdout is pino JSON; lines are kept for assertions. */
export class LoggedProcess {
  readonly lines: LogLine[] = [];
  stderr = '';
  private readonly waiters = new Set<() => void>();

  constructor(readonly proc: ChildProcess) {
    live.add(proc);
    let buf = '';
    proc.stdout?.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const text = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          this.lines.push(JSON.parse(text));
        } catch {
          this.lines.push({ msg: text });
        }
        for (const w of this.waiters) w();
      }
    });
    proc.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    proc.on('exit', () => {
      for (const w of this.waiters) w();
    });
  }

  /** Resolves with the first log line (past or future) matching `match`. */
  waitForLine(match: (l: LogLine) => boolean, what: string, timeoutMs = 20_000): Promise<LogLine> {
    const found = this.lines.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out waiting for log "${what}"; stderr: ${this.stderr.slice(-2000)}`));
      }, timeoutMs);
      const check = () => {
        const line = this.lines.find(match);
        if (line) {
          clearTimeout(timer);
          this.waiters.delete(check);
          resolve(line);
        } else if (this.proc.exitCode !== null || this.proc.signalCode !== null) {
          clearTimeout(timer);
          this.waiters.delete(check);
          reject(new Error(`process exited (${this.proc.exitCode ?? this.proc.signalCode}) before log "${what}"; stderr: ${this.stderr.slice(-2000)}`));
        }
      };
      this.waiters.add(check);
    });
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.proc.kill(signal);
  }

  exited(): Promise<number | null> {
    return exited(this.proc);
  }
}

export function tempDir(prefix = 'gaffer-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface ForemanHandle extends LoggedProcess {}

export class ForemanProcess extends LoggedProcess {
  port = 0;
  constructor(
    proc: ChildProcess,
    readonly dbPath: string,
    readonly args: string[],
  ) {
    super(proc);
  }
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}`;
  }
  get api(): ApiClient {
    return new ApiClient(this.url);
  }
}

/** Starts a foreman on port 0 and a fresh (or given) SQLite file; resolves once it listens. */
/** How long a process may take to start; a test that starts many on a busy machine may allow more. */
const START_TIMEOUT_MS = 20_000;

export async function startForeman(
  args: string[] = [],
  opts: { dbPath?: string; port?: number; env?: NodeJS.ProcessEnv; startTimeoutMs?: number } = {},
): Promise<ForemanProcess> {
  const dbPath = opts.dbPath ?? join(tempDir(), 'gaffer.db');
  const full = ['foreman', '--port', String(opts.port ?? 0), '--host', '127.0.0.1', '--db', dbPath, ...args];
  const proc = spawn(process.execPath, [BIN, ...full], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  const foreman = new ForemanProcess(proc, dbPath, args);
  const line = await foreman.waitForLine((l) => l.msg === 'foreman listening', 'foreman listening', opts.startTimeoutMs ?? START_TIMEOUT_MS);
  foreman.port = line.port as number;
  return foreman;
}

export class WorkerProcess extends LoggedProcess {
  statusUrl: string | null = null;
  constructor(
    proc: ChildProcess,
    readonly id: string,
  ) {
    super(proc);
  }
  /** Resolves once this worker has (again) registered, counting registrations seen so far. */
  async registered(times = 1): Promise<void> {
    await this.waitForLine(() => this.lines.filter((l) => l.msg === 'registered with foreman').length >= times, `registration #${times}`);
  }
}

let workerSeq = 0;

/** Spawns a worker process with the built-ins and the test fixtures; resolves once it has registered. */
export async function spawnWorker(
  foremanWsUrl: string,
  opts: { id?: string; concurrency?: number; args?: string[]; env?: NodeJS.ProcessEnv; waitRegistered?: boolean; startTimeoutMs?: number } = {},
): Promise<WorkerProcess> {
  const id = opts.id ?? `w${process.pid}-${++workerSeq}`;
  const args = [
    'worker', '--foreman', foremanWsUrl, '--id', id, '--concurrency', String(opts.concurrency ?? 4),
    '--handlers', FIXTURE_HANDLERS, '--status-port', '0', '--reconnect-min-ms', '50', '--reconnect-max-ms', '500',
    ...(opts.args ?? []),
  ];
  const proc = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  const worker = new WorkerProcess(proc, id);
  const status = await worker.waitForLine((l) => l.msg === 'status server listening' || l.msg === 'effective settings', 'worker start', opts.startTimeoutMs ?? START_TIMEOUT_MS);
  worker.statusUrl = (status.statusUrl as string | undefined) ?? null;
  if (opts.waitRegistered !== false) await worker.registered();
  return worker;
}
