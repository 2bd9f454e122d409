/**
 * Delayed tasks: when a submitted task may first run. `runAt` (epoch ms, or an ISO 8601 string the
 * schema checked) and `delayMs` (from submission) both name a start; given both, the later one wins.
 * A task whose start is in the future waits queued in the ledger's delayed heap, armed on the one
 * delay timer that retry backoff uses (foreman/delay-timer.ts); its `run_at` column makes it durable.
 */
import type { TaskInput } from './task-types.js';

/** The epoch ms at which `input` may first be dispatched (never before `now`). */
export function startAtOf(input: Pick<TaskInput, 'runAt' | 'delayMs'>, now: number): number {
  let at = now;
  if (input.delayMs !== undefined) at = now + input.delayMs;
  if (input.runAt !== undefined) {
    const runAt = typeof input.runAt === 'number' ? input.runAt : Date.parse(input.runAt);
    if (Number.isFinite(runAt) && runAt > at) at = runAt;
  }
  return at;
}
