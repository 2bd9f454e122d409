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

/** Set by bin/gaffer.js when it registered tsx itself (to run the sources). */
const TSX = Symbol.for('gaffer.tsx');

/**
 * Registers tsx (ESM and CommonJS) unless it already is: a handlers file may be TypeScript, or JavaScript that
 * imports TypeScript, in a default (CommonJS) project or an ESM one.
 */
async function withTypeScript(): Promise<void> {
  const global = globalThis as { [TSX]?: boolean };
  if (global[TSX]) return;
  const [{ register }, { register: registerCommonJs }] = await Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]);
  register();
  registerCommonJs();
  global[TSX] = true;
}

/**
 * Imports `file` and returns its register function.
 * @throws UsageError when the file is missing or exports no function.
 */
export async function loadHandlerModule(file: string): Promise<Register> {
  const path = resolve(file);
  if (!existsSync(path)) throw new UsageError(`--handlers ${file}: no such file`);
  await withTypeScript();
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
