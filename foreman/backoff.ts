/** Retry backoff: exponential with "equal jitter", so retries of a burst of failures spread out. */

/**
 * Delay before the retry that follows the `failures`-th failed attempt, in ms:
 * a random value in [d/2, d] where d = min(maxMs, baseMs × 2^(failures-1)).
 */
export function retryDelayMs(failures: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const d = Math.min(maxMs, baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(d / 2 + (random() * d) / 2);
}
