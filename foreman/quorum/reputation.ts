/**
 * The scoring rule, in one place (the README's "Quorum and points" states it):
 * - a result that matches the canonical one is **valid**: the worker earns the
 *   task's points, its streak grows, and reputation ← reputation + (1 − reputation) × 0.1;
 * - a result that does not is **invalid**: the streak ends and reputation ← reputation × 0.5;
 * - a failed replica is an **error**: counted, reputation unchanged (crashes are not lies);
 * - reputation starts at 1. Below `quorumQuarantineBelow` (default 0.5) the worker is
 *   quarantined: it gets no more quorum replicas (its other tasks are unaffected);
 * - with `adaptive`, a worker whose streak is at least `quorumTrustAfter` (default 10) and who is
 *   not quarantined runs the task alone, except that with probability `quorumSpotCheck`
 *   (default 0.1) its result is checked by the full quorum anyway.
 * Pure: the room applies it and stores the result.
 */
import type { WorkerScore } from './quorum-store.js';

export interface ReputationRule {
  quorumQuarantineBelow: number;
  quorumTrustAfter: number;
  quorumSpotCheck: number;
}

/** A worker never scored before. */
export function freshScore(workerId: string, now: number): WorkerScore {
  return { workerId, points: 0, valid: 0, invalid: 0, errors: 0, reputation: 1, streak: 0, quarantinedAt: null, updatedAt: now };
}

/** The score after one judged result. */
export function scoreAfter(s: WorkerScore, verdict: 'valid' | 'invalid' | 'error', points: number, rule: ReputationRule, now: number): WorkerScore {
  const next = { ...s, updatedAt: now };
  if (verdict === 'valid') {
    next.points += points;
    next.valid++;
    next.streak++;
    next.reputation += (1 - next.reputation) * 0.1;
  } else if (verdict === 'invalid') {
    next.invalid++;
    next.streak = 0;
    next.reputation *= 0.5;
  } else {
    next.errors++;
  }
  if (next.quarantinedAt === null && next.reputation < rule.quorumQuarantineBelow) next.quarantinedAt = now;
  return next;
}

/** Whether an adaptive task may run on this worker alone (before the spot-check draw). */
export function trusted(s: WorkerScore | null, rule: ReputationRule): boolean {
  return s !== null && s.quarantinedAt === null && s.streak >= rule.quorumTrustAfter;
}
