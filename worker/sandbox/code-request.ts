/**
 * Turns a code task's params into a sandbox request and a sandbox outcome into
 * the task's result: the part of the `js` and `wasm` task types that does not
 * depend on where the sandbox runs (Node worker threads or a browser's Web Workers).
 *
 * No Node imports: the browser worker bundles this file.
 */
import { CODE_TASK_ERRORS, PermanentError, TransientError } from '../../shared/errors.js';
import type { CodeOutcome } from './code-outcome.js';
import { taskLimits, type CodeLimits } from './limits.js';

/** One run request for a sandbox: what a `js` or `wasm` task asks for, under its limits. */
export type CodeRequest =
  | { kind: 'js'; source: string; args: unknown[]; limits: CodeLimits }
  | { kind: 'wasm'; module: Uint8Array; exportName: string; args: number[]; limits: CodeLimits };

/** Whatever runs code requests: the Node thread pool or the browser's Web Worker pool. */
export interface CodeRunner {
  run(request: CodeRequest, signal?: AbortSignal): Promise<CodeOutcome>;
}

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
export function unwrap(outcome: CodeOutcome): unknown {
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

/**
 * The sandbox request for a `js` or `wasm` task's params, under the worker's `ceiling`.
 * @throws PermanentError CODE_INVALID naming the bad field.
 */
export function codeRequest(type: 'js' | 'wasm', params: unknown, ceiling: CodeLimits): CodeRequest {
  const p = paramsObject(params);
  if (type === 'js') {
    if (typeof p.source !== 'string' || p.source.length === 0) invalid('params.source must be a non-empty string');
    const args = p.args ?? [];
    if (!Array.isArray(args)) invalid('params.args must be an array');
    return { kind: 'js', source: p.source, args, limits: limitsOf(ceiling, p) };
  }
  const module = p.module instanceof Uint8Array ? p.module : typeof p.module === 'string' ? decodeBase64(p.module) : invalid('params.module must be bytes, base64 text or a blob: reference');
  if (typeof p.export !== 'string' || p.export.length === 0) invalid('params.export must name an exported function');
  const args = p.args ?? [];
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'number')) invalid('params.args must be an array of numbers');
  return { kind: 'wasm', module, exportName: p.export, args: args as number[], limits: limitsOf(ceiling, p) };
}

/** Runs a `js` or `wasm` task on `runner`: its result, or a thrown error with the task's stable code. */
export async function runCodeTask(runner: CodeRunner, type: 'js' | 'wasm', params: unknown, ceiling: CodeLimits, signal?: AbortSignal): Promise<unknown> {
  return unwrap(await runner.run(codeRequest(type, params, ceiling), signal));
}
