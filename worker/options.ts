/** Worker options: every tunable has its one default here. */
import { hostname, availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatForemanList, parseForemanList, type ForemanMode } from './foreman-list.js';

export interface WorkerOptions {
  /**
   * Foreman URL, e.g. ws://host:9000; http(s):// is accepted and turned into ws(s):// (the /ws/worker path
   * is added when missing). Several foremen sharing a PostgreSQL store: a comma-separated list, each URL
   * optionally followed by `*weight` (see `foremanMode`). Default ws://127.0.0.1:9000.
   */
  foreman: string;
  /** With several foremen: `failover` (the first reachable in list order, then the next) or `round-robin` (a weighted random start, then the next). Default failover. */
  foremanMode: ForemanMode;
  /** Worker id, unique among live workers. Default `<hostname>-<pid>`. */
  id: string;
  /** Tasks run at once (slots). Default: the number of CPUs. */
  concurrency: number;
  /** Per-concurrency-group limits, e.g. `{ gpu: 1 }`. A task's group defaults to its type. Default none. */
  limits: Record<string, number>;
  /** Worker token sent in hello (the foreman's fleet token or this worker's own). Default none. */
  workerToken: string | null;
  /** First reconnect delay, in ms; doubles per failed try, with full jitter. Default 200. */
  reconnectMinMs: number;
  /** Longest reconnect delay, in ms. Default 10000. */
  reconnectMaxMs: number;
  /** On drain, how long running tasks may take before they are handed back, in ms. Default 30000. */
  drainTimeoutMs: number;
  /** Results held for the foreman while disconnected, at most. Default 10000. */
  resultBufferSize: number;
  /** After a cancel, how long a handler may ignore its signal before it is reported as stuck, in ms. Default 5000. */
  cancelGraceMs: number;
  /** Serve the status server. Default true. */
  status: boolean;
  /** Status server port; 0 picks a free one. Default 8001. */
  statusPort: number;
  /** Status server address. Default 127.0.0.1. */
  statusHost: string;
  /** Control token for POST /restart when the status server is not on loopback. Default none. */
  controlToken: string | null;
  /** CA certificate file for wss:// foremen with a private CA. Default none. */
  caFile: string | null;
  /** Where blobs named in params are downloaded, and where handlers put files to return as blobs. Default `<tmp>/gaffer-payloads`. */
  payloadDir: string;
  /** Times in a row the foreman may refuse this worker's id as in use (4009) before the worker gives up. Default 10 (about 40 s of backoff). */
  idInUseMaxTries: number;
  /**
   * What each task type needs loaded to be hot, e.g. `{ caption: ['blip-large'] }`; handlers report loads
   * through `ctx.hotCache`, and the foreman routes tasks to workers where their type is hot. Default none.
   */
  skillDependencies: Record<string, string[]>;
  /** ctx.log() lines kept per attempt and sent with its result (the last ones). Default 100. */
  taskLogMaxLines: number;
  /** Characters of ctx.log() lines kept per attempt (the last ones). Default 16384. */
  taskLogMaxBytes: number;
  /** Log level (pino). Default info. */
  logLevel: string;
}

export const WORKER_DEFAULTS: Readonly<WorkerOptions> = Object.freeze({
  foreman: 'ws://127.0.0.1:9000',
  foremanMode: 'failover',
  id: `${hostname()}-${process.pid}`,
  concurrency: availableParallelism(),
  limits: {},
  workerToken: null,
  reconnectMinMs: 200,
  reconnectMaxMs: 10_000,
  drainTimeoutMs: 30_000,
  resultBufferSize: 10_000,
  cancelGraceMs: 5000,
  status: true,
  statusPort: 8001,
  statusHost: '127.0.0.1',
  controlToken: null,
  caFile: null,
  payloadDir: join(tmpdir(), 'gaffer-payloads'),
  // Enough backoff (~40 s) for the foreman to notice that a previous run of this worker is gone (staleAfterMs 15 s).
  idInUseMaxTries: 10,
  skillDependencies: {},
  taskLogMaxLines: 100,
  taskLogMaxBytes: 16_384,
  logLevel: 'info',
});

/** A few words on each option for `--help`; typed over every key, so a new option cannot go undescribed. */
export const WORKER_OPTION_HELP: Readonly<Record<keyof WorkerOptions, string>> = Object.freeze({
  foreman: 'foreman URL (ws://, wss://, http:// or https://; the other scheme is derived), or several: url1,url2*weight',
  foremanMode: 'with several foremen: failover (first reachable, then the next) or round-robin (weighted random start)',
  id: 'worker id, unique among live workers',
  concurrency: 'tasks run at once (slots)',
  limits: 'per-group limits (see --limit)',
  workerToken: 'token to join the foreman with (fleet or individual)',
  reconnectMinMs: 'first reconnect delay; doubles per try, ms',
  reconnectMaxMs: 'longest reconnect delay, ms',
  drainTimeoutMs: 'on drain, how long running tasks may finish, ms',
  resultBufferSize: 'results held while the foreman is unreachable',
  cancelGraceMs: 'after a cancel, how long a handler may run before it is reported stuck, ms',
  status: 'serve the status page and /stats',
  statusPort: 'status server port (a free one if the default is taken; 0: any free port)',
  statusHost: 'status server address',
  controlToken: 'token for POST /restart on a status server off loopback',
  caFile: 'CA certificate file for a wss:// foreman with a private CA',
  idInUseMaxTries: 'refusals of this id as in use (4009) before giving up',
  payloadDir: 'where blobs named in params are downloaded and result files put',
  skillDependencies: 'what each task type needs loaded to be hot (see --skill-dependency)',
  taskLogMaxLines: 'ctx.log() lines kept per attempt and shown by the foreman',
  taskLogMaxBytes: 'characters of ctx.log() lines kept per attempt',
  logLevel: 'log level: trace, debug, info, warn, error',
});

/**
 * Parses per-group limits written `GROUP=N,GROUP=N` (GAFFER_LIMITS, or one `--limit GROUP=N` at a time).
 * @throws TypeError naming the malformed entry.
 */
export function parseLimits(text: string, previous: Record<string, number> = {}): Record<string, number> {
  const out = { ...previous };
  for (const entry of text.split(',')) {
    const m = /^([^=]+)=(\d+)$/.exec(entry.trim());
    if (!m) throw new TypeError(`--limit expects GROUP=N, got ${entry}`);
    out[m[1]] = Number(m[2]);
  }
  return out;
}

/**
 * Parses skill dependencies written `TYPE=DEP,DEP;TYPE=DEP` (GAFFER_SKILL_DEPENDENCIES, or one
 * `--skill-dependency TYPE=DEP,DEP` at a time).
 * @throws TypeError naming the malformed entry.
 */
export function parseSkillDependencies(text: string, previous: Record<string, string[]> = {}): Record<string, string[]> {
  const out = { ...previous };
  for (const entry of text.split(';')) {
    if (entry.trim() === '') continue;
    const m = /^([^=]+)=(.+)$/.exec(entry.trim());
    const deps = m ? m[2].split(',').map((d) => d.trim()).filter(Boolean) : [];
    if (!m || deps.length === 0) throw new TypeError(`--skill-dependency expects TYPE=DEP[,DEP…], got ${entry}`);
    out[m[1].trim()] = deps;
  }
  return out;
}

function requireInt(name: keyof WorkerOptions, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
    throw new TypeError(`option ${name} must be an integer between ${min} and ${max}, got ${String(value)}`);
  }
}

/**
 * Merges `partial` over the defaults and checks every field.
 * @throws TypeError naming the bad field.
 */
export function resolveWorkerOptions(partial: Partial<WorkerOptions> = {}): Readonly<WorkerOptions> {
  const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  const o: WorkerOptions = { ...WORKER_DEFAULTS, ...defined };
  if (typeof o.foreman !== 'string') throw new TypeError(`option foreman must be a ws://, wss://, http:// or https:// URL, got ${String(o.foreman)}`);
  // One URL or several (comma-separated, each with an optional *weight), each normalised to its worker endpoint.
  o.foreman = formatForemanList(parseForemanList(o.foreman));
  if (o.foremanMode !== 'failover' && o.foremanMode !== 'round-robin') throw new TypeError(`option foremanMode must be failover or round-robin, got ${String(o.foremanMode)}`);
  if (typeof o.id !== 'string' || o.id.length === 0 || o.id.length > 200) throw new TypeError('option id must be 1-200 characters');
  requireInt('concurrency', o.concurrency, 1, 100_000);
  for (const [group, n] of Object.entries(o.limits)) {
    if (!Number.isSafeInteger(n) || n < 0) throw new TypeError(`option limits.${group} must be a non-negative integer`);
  }
  requireInt('reconnectMinMs', o.reconnectMinMs, 1);
  requireInt('reconnectMaxMs', o.reconnectMaxMs, o.reconnectMinMs);
  requireInt('drainTimeoutMs', o.drainTimeoutMs, 0);
  requireInt('resultBufferSize', o.resultBufferSize, 1);
  requireInt('cancelGraceMs', o.cancelGraceMs, 0);
  requireInt('statusPort', o.statusPort, 0, 65535);
  requireInt('idInUseMaxTries', o.idInUseMaxTries, 1, 1000);
  requireInt('taskLogMaxLines', o.taskLogMaxLines, 0, 10_000);
  // Well under the foreman's frame limit, since the lines travel inside the result frame.
  requireInt('taskLogMaxBytes', o.taskLogMaxBytes, 0, 1024 * 1024);
  for (const [type, deps] of Object.entries(o.skillDependencies)) {
    if (!Array.isArray(deps) || deps.some((d) => typeof d !== 'string' || d === '')) throw new TypeError(`option skillDependencies.${type} must be an array of names`);
  }
  return Object.freeze(o);
}
