/**
 * Runs JavaScript in QuickJS compiled to WebAssembly: the code sees only the
 * language itself (no require, process, fetch, timers, file system or network:
 * QuickJS has none of them and we grant none), within a memory limit enforced
 * by QuickJS's allocator and a CPU budget enforced by its interrupt handler.
 *
 * Synchronous: call it off the main event loop (a worker thread in Node, a
 * Web Worker in a browser). No Node imports, so the browser worker bundles
 * this same file and gets the same answers bit for bit for deterministic code.
 *
 * Compiled code is cached by source text: each distinct source gets one
 * QuickJS context holding its function, and every task with that source calls it.
 * Globals a function leaves behind are therefore seen by later tasks of the
 * same source on this sandbox (like a warm serverless instance): pure functions
 * are what quorum can verify.
 */
import type { QuickJSContext, QuickJSHandle, QuickJSRuntime, QuickJSWASMModule } from 'quickjs-emscripten';
import { checkResultSize, codeFailure, type CodeOutcome } from './code-outcome.js';
import type { CodeLimits } from './limits.js';

/** Most distinct sources kept compiled at once; the least recently used one is dropped. */
export const COMPILED_CACHE_SIZE = 32;
/**
 * QuickJS's own stack ceiling. Each QuickJS frame also takes room on the host's native stack (the
 * interpreter recurses in WebAssembly), so this must run out first: 256 KB does on V8's default stack
 * (≈ 1,300 frames of a one-line recursion). Past it a recursion fails with CODE_STACK_LIMIT.
 */
export const QUICKJS_STACK_BYTES = 256 * 1024;
/** Microtask rounds run for one call before the returned promise is declared unsettled. */
const MAX_JOB_ROUNDS = 1_000_000;

// Runs in the sandbox once per context, before the user's source: it captures Promise and JSON first,
// so code that replaces them cannot change how its own result is read back.
const ADAPTER = `(function (P, J) {
  return function (f) {
    if (typeof f !== 'function') throw new TypeError('the source must evaluate to a function (or a module whose default export is one)');
    return function (argsJson) {
      var out = { done: false, json: null, error: null };
      var fail = function (e) { out.done = true; out.error = (e && e.name ? e.name + ': ' : '') + (e && e.message !== undefined ? e.message : String(e)); };
      P.resolve().then(function () { return f.apply(undefined, J.parse(argsJson)); })
        .then(function (v) { out.json = v === undefined ? 'null' : J.stringify(v); if (out.json === undefined) out.json = 'null'; out.done = true; }, fail);
      return out;
    };
  };
})(Promise, JSON)`;

interface Compiled {
  context: QuickJSContext;
  call: QuickJSHandle;
}

const isModule = (source: string): boolean => /(^|[\s;])export\s+default\b/.test(source);

/** Loads a fresh QuickJS WebAssembly instance (its own linear memory). */
export type QuickJsLoader = () => Promise<QuickJSWASMModule>;

export class QuickJsRunner {
  private quickjs: QuickJSWASMModule | null = null;
  private runtime: QuickJSRuntime | null = null;
  private readonly compiled = new Map<string, Compiled>();
  /** Set by the interrupt handler when it stopped the code, so the error is reported as the CPU limit. */
  private interrupted = false;
  private deadline = 0;

  constructor(
    private readonly load: QuickJsLoader,
    private readonly stackBytes = QUICKJS_STACK_BYTES,
  ) {}

  /** Runs `source` (a function expression, or a module with a default export) on `args`. */
  async run(source: string, args: unknown[], limits: CodeLimits): Promise<CodeOutcome> {
    this.quickjs ??= await this.load();
    const runtime = this.ensureRuntime();
    runtime.setMemoryLimit(limits.memoryBytes);
    this.interrupted = false;
    this.deadline = performance.now() + limits.cpuMs;
    let outcome: CodeOutcome;
    try {
      outcome = this.call(source, JSON.stringify(args), limits);
    } catch (err) {
      // An error thrown by the host out of the WebAssembly (the native stack ran out first) leaves QuickJS inconsistent.
      const text = String((err as Error)?.message ?? err);
      outcome = /call stack/i.test(text) ? codeFailure('CODE_STACK_LIMIT', text) : codeFailure('CODE_SANDBOX_CRASHED', text);
    }
    // After a limit QuickJS may hold half-built objects that cannot be freed cleanly (its leak check
    // aborts): drop the whole WebAssembly instance and start the next run on a fresh one.
    if (!outcome.ok && outcome.code !== 'CODE_THREW' && outcome.code !== 'CODE_INVALID' && outcome.code !== 'CODE_RESULT_TOO_LARGE') this.abandon();
    return outcome;
  }

  /** Frees every context and the runtime. */
  dispose(): void {
    for (const c of this.compiled.values()) {
      c.call.dispose();
      c.context.dispose();
    }
    this.compiled.clear();
    this.runtime?.dispose();
    this.runtime = null;
  }

  /** How many distinct sources are compiled now. */
  get cachedSources(): number {
    return this.compiled.size;
  }

  private call(source: string, argsJson: string, limits: CodeLimits): CodeOutcome {
    const compiled = this.compile(source);
    if ('ok' in compiled) return compiled;
    const { context } = compiled;
    const argsHandle = context.newString(argsJson);
    const result = context.callFunction(compiled.call, context.undefined, argsHandle);
    argsHandle.dispose();
    if (result.error) return this.failure(context, result.error, 'CODE_THREW');
    const out = result.value;
    try {
      // The adapter settles through promise jobs: run them until it is done or nothing is left to run.
      for (let round = 0; round < MAX_JOB_ROUNDS && !this.flag(context, out, 'done'); round++) {
        const jobs = this.runtime!.executePendingJobs();
        if (jobs.error) return this.failure(context, jobs.error, 'CODE_THREW');
        if (jobs.value === 0 && !this.flag(context, out, 'done')) {
          return codeFailure('CODE_THREW', 'the returned promise never settled (the sandbox has no timers or I/O to wait for)');
        }
      }
      const error = this.stringProp(context, out, 'error');
      if (error !== null) return this.classify(error, 'CODE_THREW');
      const json = this.stringProp(context, out, 'json');
      return checkResultSize(json ?? 'null', limits.resultBytes);
    } finally {
      out.dispose();
    }
  }

  private compile(source: string): Compiled | CodeOutcome {
    const cached = this.compiled.get(source);
    if (cached) {
      // Map order is insertion order: re-inserting marks it most recently used.
      this.compiled.delete(source);
      this.compiled.set(source, cached);
      return cached;
    }
    const context = this.runtime!.newContext();
    const fail = (error: QuickJSHandle): CodeOutcome => {
      const outcome = this.failure(context, error, 'CODE_INVALID');
      context.dispose();
      return outcome;
    };
    const adapter = context.evalCode(ADAPTER, 'adapter.js');
    if (adapter.error) return fail(adapter.error);
    const fn = isModule(source) ? context.evalCode(source, 'task.mjs', { type: 'module' }) : context.evalCode(`(\n${source}\n)`, 'task.js');
    if (fn.error) {
      adapter.value.dispose();
      return fail(fn.error);
    }
    let target = fn.value;
    if (isModule(source)) {
      target = context.getProp(fn.value, 'default');
      fn.value.dispose();
    }
    const call = context.callFunction(adapter.value, context.undefined, target);
    adapter.value.dispose();
    target.dispose();
    if (call.error) return fail(call.error);
    const entry = { context, call: call.value };
    this.compiled.set(source, entry);
    if (this.compiled.size > COMPILED_CACHE_SIZE) {
      const [oldest, old] = this.compiled.entries().next().value as [string, Compiled];
      this.compiled.delete(oldest);
      old.call.dispose();
      old.context.dispose();
    }
    return entry;
  }

  private failure(context: QuickJSContext, error: QuickJSHandle, fallback: 'CODE_THREW' | 'CODE_INVALID'): CodeOutcome {
    let text: string;
    try {
      const dumped = context.dump(error) as { name?: string; message?: string } | string;
      text = typeof dumped === 'object' && dumped !== null ? `${dumped.name ?? 'Error'}: ${dumped.message ?? ''}` : String(dumped);
    } catch {
      text = 'unknown error';
    } finally {
      error.dispose();
    }
    return this.classify(text, fallback);
  }

  /** Sorts an error message from inside the sandbox into a stable code (QuickJS reports limits as InternalErrors). */
  private classify(text: string, fallback: 'CODE_THREW' | 'CODE_INVALID'): CodeOutcome {
    if (this.interrupted) return codeFailure('CODE_CPU_LIMIT', `stopped after its CPU budget`);
    if (/out of memory/i.test(text)) return codeFailure('CODE_MEMORY_LIMIT', text);
    if (/stack overflow|call stack size/i.test(text)) return codeFailure('CODE_STACK_LIMIT', text);
    return codeFailure(fallback, text.slice(0, 2000));
  }

  private flag(context: QuickJSContext, obj: QuickJSHandle, name: string): boolean {
    const h = context.getProp(obj, name);
    const v = context.dump(h) === true;
    h.dispose();
    return v;
  }

  private stringProp(context: QuickJSContext, obj: QuickJSHandle, name: string): string | null {
    const h = context.getProp(obj, name);
    const v = context.typeof(h) === 'string' ? context.getString(h) : null;
    h.dispose();
    return v;
  }

  private ensureRuntime(): QuickJSRuntime {
    if (this.runtime) return this.runtime;
    const runtime = (this.quickjs as QuickJSWASMModule).newRuntime();
    runtime.setMaxStackSize(this.stackBytes);
    runtime.setInterruptHandler(() => {
      if (performance.now() < this.deadline) return false;
      this.interrupted = true;
      return true;
    });
    this.runtime = runtime;
    return runtime;
  }

  /** Forgets the instance without freeing inside it: its memory goes with it to the garbage collector. */
  private abandon(): void {
    this.compiled.clear();
    this.runtime = null;
    this.quickjs = null;
  }
}
