/** Options of code tasks (`js`, `wasm`) on a worker: every tunable has its one default here. */
import { availableParallelism } from 'node:os';

export interface CodeOptions {
  /** Run code tasks: code from whoever holds the foreman's API token, in a sandbox. Default false. */
  allowCode: boolean;
  /** Sandbox threads, i.e. code tasks running at once (the `code` concurrency group). Default: the number of CPUs. */
  codeThreads: number;
  /** Memory of one code task's sandbox, in MB; a task may ask for less. Default 64. */
  codeMemoryMb: number;
  /** CPU time of one code task, in ms; a task may ask for less. Default 30000. */
  codeCpuMs: number;
  /** Wall time of one code task, in ms, after which its sandbox thread is terminated; a task may ask for less. Default 60000. */
  codeTimeoutMs: number;
  /** Largest result of a code task, as UTF-8 JSON, in bytes; a task may ask for less. Default 1048576. */
  codeResultBytes: number;
}

export const CODE_DEFAULTS: Readonly<CodeOptions> = Object.freeze({
  allowCode: false,
  codeThreads: availableParallelism(),
  codeMemoryMb: 64,
  codeCpuMs: 30_000,
  codeTimeoutMs: 60_000,
  codeResultBytes: 1_048_576,
});

/** A few words on each option for `--help`; typed over every key, so a new option cannot go undescribed. */
export const CODE_OPTION_HELP: Readonly<Record<keyof CodeOptions, string>> = Object.freeze({
  allowCode: 'run js and wasm code tasks in a sandbox (off: no code skill)',
  codeThreads: 'sandbox threads: code tasks run at once',
  codeMemoryMb: 'memory limit of one code task, MB',
  codeCpuMs: 'CPU time limit of one code task, ms',
  codeTimeoutMs: 'wall-clock limit of one code task, ms',
  codeResultBytes: 'largest result of one code task, bytes',
});

function requireInt(name: keyof CodeOptions, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
    throw new TypeError(`option ${name} must be an integer between ${min} and ${max}, got ${String(value)}`);
  }
}

/**
 * Merges `partial` over the defaults and checks every field.
 * @throws TypeError naming the bad field.
 */
export function resolveCodeOptions(partial: Partial<CodeOptions> = {}): Readonly<CodeOptions> {
  const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  const o: CodeOptions = { ...CODE_DEFAULTS, ...defined };
  requireInt('codeThreads', o.codeThreads, 1, 1024);
  requireInt('codeMemoryMb', o.codeMemoryMb, 1, 4096);
  requireInt('codeCpuMs', o.codeCpuMs, 1);
  requireInt('codeTimeoutMs', o.codeTimeoutMs, 1);
  requireInt('codeResultBytes', o.codeResultBytes, 2);
  return Object.freeze(o);
}
