/** Bounded waiting for the benchmark: every loop has a deadline, so a stuck run fails instead of hanging. */
import { setTimeout as delay } from 'node:timers/promises';

/**
 * Re-evaluates `probe` every `intervalMs` until it returns a truthy value.
 * @throws Error naming `what` after `timeoutMs`, or the probe's own error.
 */
export async function waitUntil<T>(probe: () => T | Promise<T>, what: string, timeoutMs: number, intervalMs = 10): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(intervalMs);
  }
}
