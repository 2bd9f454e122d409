/**
 * Runs one export of a WebAssembly module given with the task. The module is
 * instantiated with no imports at all (a module that imports anything, even
 * a memory, is refused), so it can compute and nothing else. Its memories are
 * capped at the memory limit by rewriting their declared maximum before
 * compiling: `memory.grow` past it fails inside the module.
 *
 * WebAssembly cannot be interrupted from inside its thread: the CPU and wall
 * limits are enforced by whoever owns the thread (sandbox-pool.ts terminates it).
 * No Node imports: the browser worker bundles this file too.
 */
import { checkResultSize, codeFailure, type CodeOutcome } from './code-outcome.js';
import type { CodeLimits } from './limits.js';

const PAGE_BYTES = 65536;
/** Compiled modules kept, by content. */
export const COMPILED_MODULES_CACHE_SIZE = 32;

/** FNV-1a over the bytes: the cache key (with the length); a hit is confirmed byte for byte. */
function contentHash(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return `${bytes.length}:${(h >>> 0).toString(16)}`;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function readLeb(bytes: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    if (at >= bytes.length || shift > 28) throw new Error('malformed LEB128');
    const b = bytes[at++];
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [value, at];
    shift += 7;
  }
}

function writeLeb(value: number): number[] {
  const out: number[] = [];
  do {
    let b = value & 0x7f;
    value = Math.floor(value / 128);
    if (value !== 0) b |= 0x80;
    out.push(b);
  } while (value !== 0);
  return out;
}

/**
 * Returns the module with every memory's maximum set to at most `maxPages`.
 * @throws Error when a memory's initial size alone exceeds the cap, or the memory kind is not plain 32-bit.
 */
export function capMemory(bytes: Uint8Array, maxPages: number): Uint8Array {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) throw new Error('not a WebAssembly module');
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at];
    const [size, body] = readLeb(bytes, at + 1);
    if (id !== 5) {
      at = body + size;
      continue;
    }
    const [count, first] = readLeb(bytes, body);
    const limits: number[] = writeLeb(count);
    let p = first;
    for (let i = 0; i < count; i++) {
      const flags = bytes[p++];
      if (flags !== 0 && flags !== 1) throw new Error('only unshared 32-bit memories are supported');
      const [min, afterMin] = readLeb(bytes, p);
      p = afterMin;
      let max = maxPages;
      if (flags === 1) {
        const [declared, afterMax] = readLeb(bytes, p);
        p = afterMax;
        max = Math.min(declared, maxPages);
      }
      if (min > maxPages) throw new MemoryCapError(`the module's initial memory (${min} pages) exceeds the limit (${maxPages} pages)`);
      limits.push(1, ...writeLeb(min), ...writeLeb(max));
    }
    const out = [...bytes.subarray(0, at), 5, ...writeLeb(limits.length), ...limits, ...bytes.subarray(body + size)];
    return Uint8Array.from(out);
  }
  return bytes;
}

/** The module asks for more memory than the limit before running. */
export class MemoryCapError extends Error {}

/** Compiles, caches and runs WebAssembly modules. */
export class WasmRunner {
  private readonly cache = new Map<string, { bytes: Uint8Array; memoryBytes: number; module: WebAssembly.Module }>();

  /** Calls `exportName(...args)` of `moduleBytes` with no imports. Synchronous: run it in a thread its owner can terminate. */
  run(moduleBytes: Uint8Array, exportName: string, args: number[], limits: CodeLimits): CodeOutcome {
    let module: WebAssembly.Module;
    try {
      module = this.compile(moduleBytes, limits.memoryBytes);
    } catch (err) {
      if (err instanceof MemoryCapError) return codeFailure('CODE_MEMORY_LIMIT', err.message);
      return codeFailure('CODE_INVALID', (err as Error).message);
    }
    let instance: WebAssembly.Instance;
    try {
      instance = new WebAssembly.Instance(module, {});
    } catch (err) {
      return codeFailure('CODE_INVALID', `cannot instantiate with no imports: ${(err as Error).message}`);
    }
    const fn = instance.exports[exportName];
    if (typeof fn !== 'function') return codeFailure('CODE_INVALID', `the module has no exported function ${JSON.stringify(exportName)}`);
    let value: unknown;
    try {
      value = (fn as (...a: number[]) => unknown)(...args);
    } catch (err) {
      const e = err as Error;
      if (e instanceof RangeError && /call stack/i.test(e.message)) return codeFailure('CODE_STACK_LIMIT', e.message);
      return codeFailure('CODE_THREW', `${e.name}: ${e.message}`);
    }
    // i64 results arrive as BigInt, which JSON cannot hold: they become decimal strings.
    const json = JSON.stringify(typeof value === 'bigint' ? value.toString() : (value ?? null));
    return checkResultSize(json, limits.resultBytes);
  }

  private compile(bytes: Uint8Array, memoryBytes: number): WebAssembly.Module {
    const key = `${contentHash(bytes)}:${memoryBytes}`;
    const hit = this.cache.get(key);
    if (hit && sameBytes(hit.bytes, bytes)) return hit.module;
    const module = new WebAssembly.Module(capMemory(bytes, Math.floor(memoryBytes / PAGE_BYTES)) as Uint8Array<ArrayBuffer>);
    this.cache.set(key, { bytes, memoryBytes, module });
    if (this.cache.size > COMPILED_MODULES_CACHE_SIZE) this.cache.delete(this.cache.keys().next().value as string);
    return module;
  }
}
