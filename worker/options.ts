/** Worker options: every tunable has its one default here. */
import { hostname, availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';

export interface WorkerOptions {
  /** Foreman WebSocket URL, e.g. ws://host:9000 (the /ws/worker path is added when missing). Default ws://127.0.0.1:9000. */
  foreman: string;
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
  /** Log level (pino). Default info. */
  logLevel: string;
}

export const WORKER_DEFAULTS: Readonly<WorkerOptions> = Object.freeze({
  foreman: 'ws://127.0.0.1:9000',
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
  logLevel: 'info',
});

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
  if (!/^wss?:\/\//.test(o.foreman)) throw new TypeError(`option foreman must be a ws:// or wss:// URL, got ${o.foreman}`);
  if (!o.foreman.replace(/^wss?:\/\/[^/]+/, '').startsWith('/ws/')) o.foreman = `${o.foreman.replace(/\/$/, '')}/ws/worker`;
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
  return Object.freeze(o);
}
