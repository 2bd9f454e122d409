/** Reconnect backoff with full jitter, so a fleet that lost its foreman does not return all at once. */

/** Delay before reconnect try number `tries` (0-based), in ms: uniform in [min/2, min(max, min × 2^tries)]. */
export function reconnectDelayMs(tries: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const cap = Math.min(maxMs, minMs * 2 ** Math.min(tries, 30));
  return Math.round(minMs / 2 + random() * (cap - minMs / 2));
}
