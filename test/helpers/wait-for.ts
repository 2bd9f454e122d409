/** Waits for a condition checked against the real system, instead of sleeping and hoping. */
import { setTimeout as delay } from 'node:timers/promises';

/**
 * Re-evaluates `probe` every `intervalMs` until it returns a truthy value, and returns that value.
 * @throws Error naming `what` after `timeoutMs`.
 */
export async function waitFor<T>(probe: () => T | Promise<T>, what: string, timeoutMs = 20_000, intervalMs = 25): Promise<Exclude<T, false | null | undefined | 0 | ''>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v as Exclude<T, false | null | undefined | 0 | ''>;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${String(last)})`);
    await delay(intervalMs);
  }
}
