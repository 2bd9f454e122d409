import { readFileSync } from 'node:fs';
import { newQuickJSWASMModule } from 'quickjs-emscripten';
import { describe, expect, it } from 'vitest';
import { taskLimits, type CodeLimits } from '../../worker/sandbox/limits.js';
import { QuickJsRunner } from '../../worker/sandbox/quickjs-runner.js';
import { capMemory, MemoryCapError, WasmRunner } from '../../worker/sandbox/wasm-runner.js';

const CEILING: CodeLimits = { memoryBytes: 64 * 1024 * 1024, cpuMs: 1000, timeoutMs: 5000, resultBytes: 1000 };
// add(i32, i32), spin(), grow(pages); one memory of 1 page with no maximum.
const WASM = Buffer.from('AGFzbQEAAAABDwNgAn9/AX9gAABgAX8BfwMEAwABAgUDAQABBxUDA2FkZAAABHNwaW4AAQRncm93AAIKGAMHACAAIAFqCwcAA0AMAAsLBgAgAEAACw==', 'base64');

describe('taskLimits', () => {
  it('lets a task lower a limit and never raise one', () => {
    expect(taskLimits(CEILING, undefined)).toBe(CEILING);
    expect(taskLimits(CEILING, { memoryMb: 8, cpuMs: 10 })).toEqual({ ...CEILING, memoryBytes: 8 * 1024 * 1024, cpuMs: 10 });
    expect(taskLimits(CEILING, { timeoutMs: 6000 })).toMatch(/params.limits.timeoutMs 6000 exceeds/);
    expect(taskLimits(CEILING, { wallMs: 1 })).toMatch(/params.limits.wallMs is not a limit/);
    expect(taskLimits(CEILING, { cpuMs: -1 })).toMatch(/positive/);
    expect(taskLimits(CEILING, [1])).toMatch(/must be an object/);
  });
});

describe('capMemory', () => {
  it('gives an unbounded memory a maximum, and refuses a module whose initial memory is over the cap', () => {
    const capped = capMemory(WASM, 2);
    const memory = new WebAssembly.Instance(new WebAssembly.Module(capped as Uint8Array<ArrayBuffer>), {});
    const grow = memory.exports.grow as (n: number) => number;
    expect(grow(1)).toBe(1);
    expect(grow(1)).toBe(-1);
    expect(() => capMemory(WASM, 0)).toThrow(MemoryCapError);
    expect(() => capMemory(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]), 1)).toThrow(/not a WebAssembly module/);
  });

  it('runs exports and reports a missing one', () => {
    const runner = new WasmRunner();
    expect(runner.run(WASM, 'add', [2, 3], CEILING)).toEqual({ ok: true, json: '5' });
    expect(runner.run(WASM, 'nope', [], CEILING)).toMatchObject({ ok: false, code: 'CODE_INVALID' });
  });
});

describe('QuickJsRunner', () => {
  it('runs functions, async functions and modules, and classifies failures', async () => {
    const runner = new QuickJsRunner(() => newQuickJSWASMModule());
    expect(await runner.run('(a, b) => a + b', [1, 2], CEILING)).toEqual({ ok: true, json: '3' });
    expect(await runner.run('async (x) => { await null; return { x } }', [1], CEILING)).toEqual({ ok: true, json: '{"x":1}' });
    expect(await runner.run('export default (s) => s.toUpperCase()', ['a'], CEILING)).toEqual({ ok: true, json: '"A"' });
    expect(await runner.run('() => undefined', [], CEILING)).toEqual({ ok: true, json: 'null' });
    expect(await runner.run('() => { for (;;) {} }', [], { ...CEILING, cpuMs: 50 })).toMatchObject({ ok: false, code: 'CODE_CPU_LIMIT' });
    // After a limit the runner starts over on a fresh instance, and works.
    expect(await runner.run('(a) => a', [7], CEILING)).toEqual({ ok: true, json: '7' });
    expect(await runner.run("() => 'x'.repeat(2000)", [], CEILING)).toMatchObject({ ok: false, code: 'CODE_RESULT_TOO_LARGE' });
    expect(await runner.run('(', [], CEILING)).toMatchObject({ ok: false, code: 'CODE_INVALID' });
    expect(await runner.run('() => globalThis.leak = (globalThis.leak || 0) + 1', [], CEILING)).toEqual({ ok: true, json: '1' });
    // A different source has its own context: it does not see the other's global.
    expect(await runner.run('() => typeof globalThis.leak', [], CEILING)).toEqual({ ok: true, json: '"undefined"' });
    runner.dispose();
  });
});

describe('the sandbox core', () => {
  it('imports nothing from Node, so the browser worker can bundle it (the Node parts are the pool and thread files)', () => {
    for (const file of ['limits.ts', 'code-outcome.ts', 'quickjs-runner.ts', 'wasm-runner.ts']) {
      const text = readFileSync(new URL(`../../worker/sandbox/${file}`, import.meta.url), 'utf8');
      const imports = [...text.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
      expect(imports.filter((i) => i.startsWith('node:') || !(i.startsWith('.') || i === 'quickjs-emscripten')), file).toEqual([]);
      expect(text, file).not.toMatch(/\bprocess\.|\bBuffer\b|require\(/);
    }
  });
});
