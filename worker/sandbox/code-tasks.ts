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
import type { TaskHandler } from '../task-context.js';
import type { Worker } from '../worker.js';
import { runCodeTask, type CodeRunner } from './code-request.js';
import type { CodeOptions } from './code-options.js';
import type { CodeLimits } from './limits.js';
import { nodeSandboxThreads } from './node-sandbox-thread.js';
import { SandboxPool } from './sandbox-pool.js';

/** The concurrency group of code tasks: at most `codeThreads` run at once, one per sandbox thread. */
export const CODE_GROUP = 'code';
/** V8 heap of a sandbox thread beyond the code's own memory limit (QuickJS's memory lives outside it). */
const THREAD_HEAP_MB = 64;

/**
 * A `blob:` reference in `params.module` arrives as the path of the downloaded file (the worker resolves
 * references before any handler runs): read it, so the sandbox gets bytes as for an inline module.
 */
async function withModuleBytes(params: unknown, files: Readonly<Record<string, string>>): Promise<unknown> {
  const p = params as { module?: unknown } | null;
  if (typeof p?.module !== 'string' || !Object.values(files).includes(p.module)) return params;
  return { ...p, module: new Uint8Array(await readFile(p.module)) };
}

/** The two handlers, running on `runner` under `ceiling`. */
export function codeHandlers(runner: CodeRunner, ceiling: CodeLimits): { js: TaskHandler; wasm: TaskHandler } {
  return {
    js: (params, ctx) => runCodeTask(runner, 'js', params, ceiling, ctx.signal),
    wasm: async (params, ctx) => runCodeTask(runner, 'wasm', await withModuleBytes(params, ctx.files), ceiling, ctx.signal),
  };
}

/**
 * Registers `js` and `wasm` on `worker` (call before `start()`), with a sandbox
 * pool sized and limited by `o`. The pool closes with the worker. Give the worker
 * `limits: { code: o.codeThreads }` so the foreman sends no more code tasks than there are threads.
 * @returns the pool (for its thread count and replacements).
 */
export function enableCodeTasks(worker: Worker, o: Readonly<CodeOptions>): SandboxPool {
  const pool = new SandboxPool({ threads: o.codeThreads, spawn: nodeSandboxThreads(THREAD_HEAP_MB + o.codeMemoryMb), logger: worker.log });
  const ceiling: CodeLimits = { memoryBytes: o.codeMemoryMb * 1024 * 1024, cpuMs: o.codeCpuMs, timeoutMs: o.codeTimeoutMs, resultBytes: o.codeResultBytes };
  const { js, wasm } = codeHandlers(pool, ceiling);
  worker.task('js', js, { group: CODE_GROUP }).task('wasm', wasm, { group: CODE_GROUP });
  worker.on('state', (state) => state === 'closed' && void pool.close());
  return pool;
}
