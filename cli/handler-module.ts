/**
 * Loads a `--handlers` file: TypeScript (.ts, .mts, .cts, through tsx), ES modules (.mjs, .js in a
 * "type": "module" project) and CommonJS (.cjs, .js in a default project). Whatever the format, the file's
 * default export (or `module.exports`) is the function that registers handlers.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Worker } from '../worker/worker.js';
import { UsageError } from './fail.js';

type Register = (worker: Worker) => unknown;

/**
 * Imports `file` and returns its register function.
 * @throws UsageError when the file is missing or exports no function.
 */
export async function loadHandlerModule(file: string): Promise<Register> {
  const path = resolve(file);
  if (!existsSync(path)) throw new UsageError(`--handlers ${file}: no such file`);
  const mod = (await import(pathToFileURL(path).href)) as { default?: unknown };
  // A CommonJS file (or TypeScript compiled as CommonJS) arrives as { default: module.exports }, and
  // `export default fn` compiled to CommonJS is module.exports.default: unwrap until a function shows.
  let candidate: unknown = mod.default;
  for (let depth = 0; depth < 2 && candidate !== null && typeof candidate === 'object' && 'default' in candidate; depth++) {
    candidate = (candidate as { default: unknown }).default;
  }
  if (typeof candidate !== 'function') {
    throw new UsageError(`--handlers ${file} must export a default function: export default (worker) => { worker.task(...) } (CommonJS: module.exports = (worker) => { ... })`);
  }
  return candidate as Register;
}
