/**
 * The `js` and `wasm` task types: registered only on a worker that opted in
 * (`--allow-code`), so a worker that did not never has them among its skills
 * and the foreman never sends it code.
 *
 * - `js`:   params `{ source, args?, limits? }`: `source` is a function expression
 *           (`(a, b) => a + b`) or a module with a default export; the result is
 *           what it returns (or resolves to), as JSON.
 * - `wasm`: params `{ module, export, args?, limits? }`: `module` is the module's
 *           bytes (msgpack binary) or base64 text; `export` the function to call
 *           with the numeric `args`.
 */
import { readFile } from 'node:fs/promises';
import { CODE_TASK_ERRORS } from '../../shared/errors.js';
import { PermanentError, TransientError } from '../../shared/errors.js';
import type { TaskHandler } from '../task-context.js';
import type { Worker } from '../worker.js';
import type { CodeOutcome } from './code-outcome.js';
import type { CodeOptions } from './code-options.js';
import { taskLimits, type CodeLimits } from './limits.js';
import { SandboxPool } from './sandbox-pool.js';

/** The concurrency group of code tasks: at most `codeThreads` run at once, one per sandbox thread. */
export const CODE_GROUP = 'code';
/** V8 heap of a sandbox thread beyond the code's own memory limit (QuickJS's memory lives outside it). */
const THREAD_HEAP_MB = 64;

function invalid(message: string): never {
  throw new PermanentError(message, { code: 'CODE_INVALID' });
}

function paramsObject(params: unknown): Record<string, unknown> {
  if (params === null || typeof params !== 'object' || Array.isArray(params)) invalid('params must be an object');
  return params as Record<string, unknown>;
}

function limitsOf(ceiling: CodeLimits, p: Record<string, unknown>): CodeLimits {
  const limits = taskLimits(ceiling, p.limits);
  if (typeof limits === 'string') invalid(limits);
  return limits;
}

/** Turns a sandbox outcome into the handler's return value, or throws its stable code. */
function unwrap(outcome: CodeOutcome): unknown {
  if (outcome.ok) return JSON.parse(outcome.json);
  if (CODE_TASK_ERRORS[outcome.code].retryable) throw new TransientError(outcome.message, { code: outcome.code });
  throw new PermanentError(outcome.message, { code: outcome.code });
}

function decodeBase64(text: string): Uint8Array {
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    invalid('params.module must be the module bytes or base64 text');
  }
}

/** The two handlers, running on `pool` under `ceiling`. */
export function codeHandlers(pool: SandboxPool, ceiling: CodeLimits): { js: TaskHandler; wasm: TaskHandler } {
  const js: TaskHandler = async (params, ctx) => {
    const p = paramsObject(params);
    if (typeof p.source !== 'string' || p.source.length === 0) invalid('params.source must be a non-empty string');
    const args = p.args ?? [];
    if (!Array.isArray(args)) invalid('params.args must be an array');
    return unwrap(await pool.run({ kind: 'js', source: p.source, args, limits: limitsOf(ceiling, p) }, ctx.signal));
  };
  const wasm: TaskHandler = async (params, ctx) => {
    const p = paramsObject(params);
    // A `blob:` reference arrives here as the path of the downloaded file (the worker resolves references before any handler runs).
    const blobPath = typeof p.module === 'string' && Object.values(ctx.files).includes(p.module) ? p.module : null;
    const module =
      p.module instanceof Uint8Array ? p.module
      : blobPath !== null ? new Uint8Array(await readFile(blobPath))
      : typeof p.module === 'string' ? decodeBase64(p.module)
      : invalid('params.module must be bytes, base64 text or a blob: reference');
    if (typeof p.export !== 'string' || p.export.length === 0) invalid('params.export must name an exported function');
    const args = p.args ?? [];
    if (!Array.isArray(args) || !args.every((a) => typeof a === 'number')) invalid('params.args must be an array of numbers');
    return unwrap(await pool.run({ kind: 'wasm', module, exportName: p.export, args: args as number[], limits: limitsOf(ceiling, p) }, ctx.signal));
  };
  return { js, wasm };
}

/**
 * Registers `js` and `wasm` on `worker` (call before `start()`), with a sandbox
 * pool sized and limited by `o`. The pool closes with the worker. Give the worker
 * `limits: { code: o.codeThreads }` so the foreman sends no more code tasks than there are threads.
 * @returns the pool (for its thread count and replacements).
 */
export function enableCodeTasks(worker: Worker, o: Readonly<CodeOptions>): SandboxPool {
  const pool = new SandboxPool({ threads: o.codeThreads, threadHeapMb: THREAD_HEAP_MB + o.codeMemoryMb, logger: worker.log });
  const ceiling: CodeLimits = { memoryBytes: o.codeMemoryMb * 1024 * 1024, cpuMs: o.codeCpuMs, timeoutMs: o.codeTimeoutMs, resultBytes: o.codeResultBytes };
  const { js, wasm } = codeHandlers(pool, ceiling);
  worker.task('js', js, { group: CODE_GROUP }).task('wasm', wasm, { group: CODE_GROUP });
  worker.on('state', (state) => state === 'closed' && void pool.close());
  return pool;
}
