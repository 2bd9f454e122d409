/** Built-in handlers, so a fresh worker is useful (and testable) out of the box. */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { PermanentError, TransientError } from '../../shared/errors.js';
import type { TaskHandler } from '../task-context.js';

function field<T>(params: unknown, name: string, check: (v: unknown) => v is T, what: string): T {
  const v = (params as Record<string, unknown> | null)?.[name];
  if (!check(v)) throw new PermanentError(`params.${name} must be ${what}`, { code: 'INVALID_PARAMS' });
  return v;
}
const isString = (v: unknown): v is string => typeof v === 'string';
const isNumberArray = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === 'number');
const isMs = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v <= 86_400_000;

/** `echo`: returns its params unchanged. */
export const echo: TaskHandler = (params) => params;

/** `sum`: `{ numbers: number[] }` → their sum. */
export const sum: TaskHandler = (params) => field(params, 'numbers', isNumberArray, 'an array of numbers').reduce((a, b) => a + b, 0);

/** `reverse`: `{ text: string }` → the text reversed (by code point). */
export const reverse: TaskHandler = (params) => [...field(params, 'text', isString, 'a string')].reverse().join('');

/** `sleep`: `{ ms }` → waits, honouring cancellation; reports progress. Returns `{ slept: ms }`. */
export const sleepHandler: TaskHandler = async (params, ctx) => {
  const ms = field(params, 'ms', isMs, 'a number of milliseconds (0 to 86400000)');
  const steps = Math.max(1, Math.min(10, Math.floor(ms / 100)));
  for (let i = 1; i <= steps; i++) {
    await sleep(ms / steps, undefined, { signal: ctx.signal });
    ctx.progress(i / steps);
  }
  return { slept: ms };
};

/** `sha256`: `{ text }` → hex digest. */
export const sha256: TaskHandler = (params) => createHash('sha256').update(field(params, 'text', isString, 'a string')).digest('hex');

/**
 * `fail`: fails on purpose, for testing retries. `{ kind: 'transient' | 'permanent', message?, succeedOnAttempt? }`:
 * with `succeedOnAttempt: n`, attempts from n on succeed.
 */
export const fail: TaskHandler = (params, ctx) => {
  const p = (params ?? {}) as { kind?: string; message?: string; succeedOnAttempt?: number };
  if (typeof p.succeedOnAttempt === 'number' && ctx.attempt >= p.succeedOnAttempt) return { succeededOnAttempt: ctx.attempt };
  const message = p.message ?? `failing on purpose (attempt ${ctx.attempt})`;
  if (p.kind === 'permanent') throw new PermanentError(message);
  throw new TransientError(message);
};

/** Every built-in, by task type. */
export const BUILTIN_HANDLERS: Record<string, TaskHandler> = { echo, sum, reverse, sleep: sleepHandler, sha256, fail };
