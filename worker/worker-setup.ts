/**
 * What a worker is built from and what it tells its listeners: its constructor options (with the
 * GAFFER_* variables they fall back to), its lifecycle states and its events.
 */
import type { Logger } from 'pino';
import { envName, optionsFromEnv } from '../shared/option-env.js';
import { parseLimits, WORKER_DEFAULTS, type WorkerOptions } from './options.js';
import type { WorkerRefusedError } from './refusal.js';

/**
 * Worker lifecycle:
 * - `connecting`: first dial, or waiting for the foreman's welcome;
 * - `ready`: registered, taking work;
 * - `draining`: taking no new work, finishing what runs;
 * - `reconnecting`: the socket dropped; running tasks continue, results are held;
 * - `closed`: stopped.
 */
export type WorkerState = 'connecting' | 'ready' | 'draining' | 'reconnecting' | 'closed';

export interface WorkerEvents {
  state: [WorkerState];
  /** Something shown on the status page changed (task started, progressed or finished). */
  update: [];
  /** The foreman refused this worker for good (bad token, protocol version, id in use); the worker is closing. */
  refused: [WorkerRefusedError];
}

export interface WorkerConstructorOptions extends Partial<WorkerOptions> {
  /** A pino logger; default one is created at `logLevel`. */
  logger?: Logger;
  /**
   * Where options not passed here are read from, as GAFFER_* variables (GAFFER_FOREMAN, GAFFER_WORKER_TOKEN,
   * GAFFER_LIMITS, … the same ones the CLI reads). Default: the process's environment; pass `{}` to read none.
   */
  env?: Readonly<Record<string, string | undefined>>;
}

/** Options from GAFFER_* variables: every scalar option, plus GAFFER_LIMITS (`GROUP=N,GROUP=N`). */
export function workerOptionsFromEnv(env: Readonly<Record<string, string | undefined>>): Partial<WorkerOptions> {
  const fromEnv = optionsFromEnv(WORKER_DEFAULTS, env) as Partial<WorkerOptions>;
  const limits = env[envName('limits')];
  if (limits !== undefined && limits.trim() !== '') fromEnv.limits = parseLimits(limits);
  return fromEnv;
}
