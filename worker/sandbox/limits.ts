/**
 * Limits of one code task. The worker sets the ceilings (`--code-memory-mb`,
 * `--code-cpu-ms`, `--code-timeout-ms`, `--code-result-bytes`); a task may
 * ask for lower ones in `params.limits`, never higher.
 *
 * No Node imports: this file is bundled into the browser worker too.
 */

/** The limits one code task runs under. */
export interface CodeLimits {
  /** Heap of the sandbox (QuickJS runtime, or a WebAssembly memory), in bytes. */
  memoryBytes: number;
  /** Time the code may spend executing, in ms (QuickJS's interrupt handler; the watchdog for wasm). */
  cpuMs: number;
  /** Wall time from the start of the run, in ms; past it the sandbox thread is terminated. */
  timeoutMs: number;
  /** Largest result, as UTF-8 JSON, in bytes. */
  resultBytes: number;
}

/** What a task may put in `params.limits` (each optional, each at most the worker's). */
export interface RequestedLimits {
  memoryMb?: number;
  cpuMs?: number;
  timeoutMs?: number;
  resultBytes?: number;
}

const REQUESTABLE: Record<keyof RequestedLimits, (l: CodeLimits) => number> = {
  memoryMb: (l) => l.memoryBytes / (1024 * 1024),
  cpuMs: (l) => l.cpuMs,
  timeoutMs: (l) => l.timeoutMs,
  resultBytes: (l) => l.resultBytes,
};

/**
 * The limits a task runs under: the worker's, lowered where the task asks.
 * A request above the worker's ceiling is an error rather than silently capped,
 * so a user who needs more learns it at once.
 * @returns the limits, or a message naming the bad field.
 */
export function taskLimits(ceiling: CodeLimits, requested: unknown): CodeLimits | string {
  if (requested === undefined || requested === null) return ceiling;
  if (typeof requested !== 'object' || Array.isArray(requested)) return 'params.limits must be an object';
  const out = { ...ceiling };
  for (const [name, value] of Object.entries(requested as Record<string, unknown>)) {
    const max = REQUESTABLE[name as keyof RequestedLimits];
    if (!max) return `params.limits.${name} is not a limit (memoryMb, cpuMs, timeoutMs, resultBytes)`;
    if (typeof value !== 'number' || !(value > 0)) return `params.limits.${name} must be a positive number`;
    if (value > max(ceiling)) return `params.limits.${name} ${value} exceeds this worker's ceiling ${max(ceiling)}`;
    if (name === 'memoryMb') out.memoryBytes = Math.floor(value * 1024 * 1024);
    else out[name as 'cpuMs' | 'timeoutMs' | 'resultBytes'] = Math.floor(value);
  }
  return out;
}
