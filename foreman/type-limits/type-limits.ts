/**
 * Fleet-wide flow control per task type (issue 12.3): `maxRunning` caps how many tasks of a type run
 * at once across every worker of this foreman; `ratePerSecond` is a token bucket (one second's worth
 * of burst, at least one token) refilled continuously; a handler's RateLimitedError pauses the type
 * for the time it names. The dispatcher asks `hold(type)` before it picks a task of a limited type
 * and calls `started(type)` for each one it assigns, so nothing is assigned past a cap.
 *
 * Running counts are derived from the fleet (its workers' running tasks) at the start of each pass,
 * not tracked by hooks on every transition, so they can never drift. Nothing here costs anything
 * while no type has a limit or a pause (`active` is false and the dispatcher skips every call).
 */
import type { Db } from '../store/database.js';
import type { GroupCommit } from '../store/group-commit.js';

/** Why a ready task of a type is held back: its running cap, or its rate (token bucket, or a handler's pause). */
export type LimitHold = 'maxRunning' | 'rate';

export interface TypeLimit {
  maxRunning: number | null;
  ratePerSecond: number | null;
}

export interface TypeLimitsDeps {
  db: Db;
  commit: GroupCommit;
  /** Tasks running now (assigned, not yet ended) of each of `types`. */
  runningOf(types: ReadonlySet<string>): Map<string, number>;
  /** A held type may have room now (a token accrued, a pause ended): ask for a dispatch pass. */
  onRoom(): void;
  /** A dispatch pass held back a ready task of `type` (counted once per pass), for metrics. */
  onHeld?(type: string, hold: LimitHold): void;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class TypeLimits {
  private readonly limits = new Map<string, TypeLimit>();
  private readonly buckets = new Map<string, Bucket>();
  /** Types paused by a handler's RateLimitedError, until this epoch ms. */
  private readonly pausedUntil = new Map<string, number>();
  /** The pass under way: running counts of limited types, and the types already counted as held. */
  private running = new Map<string, number>();
  private readonly heldThisPass = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private readonly upsertStmt;
  private readonly deleteStmt;
  private readonly allStmt;

  constructor(private readonly deps: TypeLimitsDeps) {
    this.upsertStmt = deps.db.prepare<[string, number | null, number | null, number]>(
      'INSERT OR REPLACE INTO type_limits (type, max_running, rate_per_second, updated_at) VALUES (?, ?, ?, ?)',
    );
    this.deleteStmt = deps.db.prepare<[string]>('DELETE FROM type_limits WHERE type = ?');
    this.allStmt = deps.db.prepare<[], { type: string; max_running: number | null; rate_per_second: number | null }>(
      'SELECT type, max_running, rate_per_second FROM type_limits ORDER BY type',
    );
  }

  /** Reads the stored limits (at start). */
  load(): void {
    for (const r of this.allStmt.all()) this.limits.set(r.type, { maxRunning: r.max_running, ratePerSecond: r.rate_per_second });
  }

  /** Whether any type has a limit or a pause: when false the dispatcher asks nothing. */
  get active(): boolean {
    return this.limits.size > 0 || this.pausedUntil.size > 0;
  }

  /** Sets (replaces) a type's limits once durable. */
  async set(type: string, limit: TypeLimit): Promise<void> {
    await this.deps.commit.write(() => this.upsertStmt.run(type, limit.maxRunning, limit.ratePerSecond, Date.now()));
    this.limits.set(type, limit);
    // A new rate starts with a full bucket, as if the type had been idle.
    this.buckets.delete(type);
    this.deps.onRoom();
  }

  /** Removes a type's limits once durable; false when it had none. */
  async remove(type: string): Promise<boolean> {
    if (!this.limits.has(type)) return false;
    await this.deps.commit.write(() => this.deleteStmt.run(type));
    this.limits.delete(type);
    this.buckets.delete(type);
    this.deps.onRoom();
    return true;
  }

  get(type: string): TypeLimit | undefined {
    return this.limits.get(type);
  }

  /** Every limited or paused type with its limits and state now, for GET /stats and GET /types/limits. */
  describe(now = Date.now()): Record<string, TypeLimit & { running: number; heldBy: LimitHold | null; pausedUntil: number | null }> {
    const types = new Set([...this.limits.keys(), ...this.pausedUntil.keys()]);
    const running = this.deps.runningOf(types);
    const out: Record<string, TypeLimit & { running: number; heldBy: LimitHold | null; pausedUntil: number | null }> = {};
    for (const type of [...types].sort()) {
      const limit = this.limits.get(type) ?? { maxRunning: null, ratePerSecond: null };
      const until = this.pausedUntil.get(type);
      out[type] = { ...limit, running: running.get(type) ?? 0, heldBy: this.check(type, now, running.get(type) ?? 0), pausedUntil: until !== undefined && until > now ? until : null };
    }
    return out;
  }

  /** Why a queued task of `type` is held back now, or null (GET /tasks/:id). */
  heldBy(type: string, now = Date.now()): LimitHold | null {
    if (!this.limits.has(type) && !this.pausedUntil.has(type)) return null;
    return this.check(type, now, this.deps.runningOf(new Set([type])).get(type) ?? 0);
  }

  /** A handler hit a rate limit: no task of `type` starts for `ms`. */
  pause(type: string, ms: number, now = Date.now()): void {
    const until = now + ms;
    if ((this.pausedUntil.get(type) ?? 0) >= until) return;
    this.pausedUntil.set(type, until);
    this.wakeAt(until);
  }

  // ---- the dispatcher's side ----------------------------------------------------------------

  /** Starts a dispatch pass: counts what runs of each limited type. */
  beginPass(): void {
    this.running = this.deps.runningOf(new Set(this.limits.keys()));
    this.heldThisPass.clear();
  }

  /** Why one more task of `type` may not start now, or null when it may. */
  hold(type: string, now: number): LimitHold | null {
    if (!this.limits.has(type) && !this.pausedUntil.has(type)) return null;
    const held = this.check(type, now, this.running.get(type) ?? 0);
    if (held !== null && !this.heldThisPass.has(type)) {
      this.heldThisPass.add(type);
      this.deps.onHeld?.(type, held);
    }
    return held;
  }

  /** A task of `type` was assigned in this pass. */
  started(type: string, now: number): void {
    const limit = this.limits.get(type);
    if (!limit) return;
    this.running.set(type, (this.running.get(type) ?? 0) + 1);
    if (limit.ratePerSecond !== null) {
      const bucket = this.bucket(type, limit.ratePerSecond, now);
      bucket.tokens -= 1;
    }
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
  }

  private check(type: string, now: number, running: number): LimitHold | null {
    const until = this.pausedUntil.get(type);
    if (until !== undefined) {
      if (until > now) return 'rate';
      this.pausedUntil.delete(type);
    }
    const limit = this.limits.get(type);
    if (!limit) return null;
    if (limit.maxRunning !== null && running >= limit.maxRunning) return 'maxRunning';
    if (limit.ratePerSecond !== null) {
      const bucket = this.bucket(type, limit.ratePerSecond, now);
      if (bucket.tokens < 1) {
        // Ask for a pass when the next token has accrued.
        this.wakeAt(now + Math.ceil(((1 - bucket.tokens) * 1000) / limit.ratePerSecond));
        return 'rate';
      }
    }
    return null;
  }

  /** The type's bucket, refilled up to now. */
  private bucket(type: string, ratePerSecond: number, now: number): Bucket {
    const burst = Math.max(1, ratePerSecond);
    let b = this.buckets.get(type);
    if (!b) {
      b = { tokens: burst, at: now };
      this.buckets.set(type, b);
    } else if (now > b.at) {
      b.tokens = Math.min(burst, b.tokens + ((now - b.at) * ratePerSecond) / 1000);
      b.at = now;
    }
    return b;
  }

  /** One timer, for the earliest moment a held type may have room. */
  private wakeAt(at: number): void {
    if (at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAt = Infinity;
      this.deps.onRoom();
    }, Math.max(0, at - Date.now()));
    this.timer.unref();
  }
}
