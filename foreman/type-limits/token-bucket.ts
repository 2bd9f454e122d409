/**
 * The token bucket behind `ratePerSecond`, as plain arithmetic shared by both stores: SQLite keeps
 * the bucket in the foreman's memory, PostgreSQL in the type's row (pg-type-limits.ts), and both
 * refill and spend it with these functions, so the two behave alike.
 */

/** One second's worth of starts, at least one: the most that may start at once after an idle spell. */
export function burstOf(ratePerSecond: number): number {
  return Math.max(1, ratePerSecond);
}

/**
 * The tokens in a bucket that held `tokens` at `at` (epoch ms), refilled up to `now`.
 * @param tokens null for a bucket never used (or whose rate just changed): it starts full.
 */
export function refill(tokens: number | null, at: number, ratePerSecond: number, now: number): number {
  const burst = burstOf(ratePerSecond);
  if (tokens === null) return burst;
  // A clock read earlier than `at` (another foreman's) adds nothing rather than taking away.
  return Math.min(burst, tokens + (Math.max(0, now - at) * ratePerSecond) / 1000);
}

/** How long until a bucket holding `tokens` has one whole token, in ms (0 when it has one now). */
export function msUntilToken(tokens: number, ratePerSecond: number): number {
  return tokens >= 1 ? 0 : Math.ceil(((1 - tokens) * 1000) / ratePerSecond);
}
