/**
 * The two JavaScript sandboxes measured side by side, in this process, with
 * the same adapter the worker uses (arguments in and result out as JSON text,
 * the function compiled once per source and called per task):
 * - QuickJS compiled to WebAssembly (quickjs-emscripten), what Gaffer ships;
 * - a V8 isolate (isolated-vm 5, an optional native dependency; skipped when absent).
 * `node` is the same function on the main isolate, as the floor.
 */
import { newQuickJSWASMModule } from 'quickjs-emscripten';
import { QuickJsRunner } from '../worker/sandbox/quickjs-runner.js';

export interface CandidateFigures {
  /** Per-call time of a trivial function `(a, b) => a + b`, in µs. */
  trivialUs: number;
  /** Per-call time of the CPU-bound function, in ms. */
  loopMs: number;
}

/** A loop of `n` multiply-add-modulo steps: ≈ 1 ms in V8 at n = 150,000 on this machine. */
export const LOOP_SOURCE = '(n) => { let s = 0; for (let i = 0; i < n; i++) s = (s + i * i) % 1000003; return s; }';
export const LOOP_N = 150_000;
const LIMITS = { memoryBytes: 64 * 1024 * 1024, cpuMs: 60_000, timeoutMs: 60_000, resultBytes: 1 << 20 };

async function time(calls: number, fn: (i: number) => unknown): Promise<number> {
  for (let i = 0; i < Math.min(50, calls); i++) await fn(i);
  const t = performance.now();
  for (let i = 0; i < calls; i++) await fn(i);
  return (performance.now() - t) / calls;
}

export async function measureQuickJs(trivialCalls: number, loopCalls: number): Promise<CandidateFigures> {
  const runner = new QuickJsRunner(() => newQuickJSWASMModule());
  const trivial = await time(trivialCalls, (i) => runner.run('(a, b) => a + b', [i, 1], LIMITS));
  const loop = await time(loopCalls, () => runner.run(LOOP_SOURCE, [LOOP_N], LIMITS));
  runner.dispose();
  return { trivialUs: trivial * 1000, loopMs: loop };
}

export async function measureIsolatedVm(trivialCalls: number, loopCalls: number): Promise<CandidateFigures | null> {
  let ivm: typeof import('isolated-vm');
  try {
    ivm = (await import('isolated-vm')).default as unknown as typeof import('isolated-vm');
  } catch {
    return null;
  }
  const isolate = new ivm.Isolate({ memoryLimit: 64 });
  const compiled = new Map<string, import('isolated-vm').Reference<(a: string) => string>>();
  const run = (source: string, args: unknown[]) => {
    let fn = compiled.get(source);
    if (!fn) {
      const context = isolate.createContextSync();
      fn = context.evalSync(`(function (f) { return (a) => JSON.stringify(f(...JSON.parse(a))); })(${source})`, { reference: true }) as import('isolated-vm').Reference<(a: string) => string>;
      compiled.set(source, fn);
    }
    return JSON.parse(fn.applySync(undefined, [JSON.stringify(args)], { timeout: 60_000 }) as string);
  };
  const trivial = await time(trivialCalls, (i) => run('(a, b) => a + b', [i, 1]));
  const loop = await time(loopCalls, () => run(LOOP_SOURCE, [LOOP_N]));
  isolate.dispose();
  return { trivialUs: trivial * 1000, loopMs: loop };
}

export async function measureNode(trivialCalls: number, loopCalls: number): Promise<CandidateFigures> {
  const add = (0, eval)('(a, b) => a + b') as (a: number, b: number) => number;
  const loopFn = (0, eval)(LOOP_SOURCE) as (n: number) => number;
  const trivial = await time(trivialCalls, (i) => JSON.parse(JSON.stringify(add(...(JSON.parse(JSON.stringify([i, 1])) as [number, number])))));
  const loop = await time(loopCalls, () => loopFn(LOOP_N));
  return { trivialUs: trivial * 1000, loopMs: loop };
}
