/**
 * Fleet-wide flow control per task type (issue 12.3): `maxRunning` caps how many tasks of a type run
 * at once across every worker; `ratePerSecond` is a token bucket (token-bucket.ts); a handler's
 * RateLimitedError pauses the type for the time it names. This file is the one behaviour; where the
 * limits live and who enforces them is the store's (type-limit-store.ts):
 * - SQLite, one foreman: the dispatcher asks `hold(type)` before it picks a task of a limited type and
 *   calls `started(type)` for each one it assigns, so nothing is assigned past a cap; the bucket is
 *   in memory and running counts are derived from the fleet at the start of each pass.
 * - PostgreSQL, several foremen: caps and rates are enforced where tasks are claimed, under a lock on
 *   the type's row (pg-limited-claim.ts); the dispatcher here holds only what a pause (or this
 *   foreman's own workers) forbids, and views read the fleet's counts from the store (`refresh`).
 *
 * Limits and pauses are mirrored in memory: the dispatcher asks on every pick. Nothing here costs
 * anything while no type has a limit or a pause (`active` is false and the dispatcher skips every call).
 */
import { msUntilToken, refill } from './token-bucket.js';
import type { FleetTypeState, StoredTypeLimit, TypeLimit, TypeLimitStore } from './type-limit-store.js';

export type { TypeLimit } from './type-limit-store.js';

/** Why a ready task of a type is held back: its running cap, or its rate (token bucket, or a handler's pause). */
export type LimitHold = 'maxRunning' | 'rate';

/** A type's limits and state now, as GET /stats and GET /types/limits show it. */
export type TypeLimitView = TypeLimit & { running: number; heldBy: LimitHold | null; pausedUntil: number | null };

export interface TypeLimitsDeps {
  store: TypeLimitStore;
  /** Tasks running now (assigned, not yet ended) of each of `types` on this foreman's workers. */
  runningOf(types: ReadonlySet<string>): Map<string, number>;
  /** A held type may have room now (a token accrued, a pause ended, a limit changed): ask for a dispatch pass. */
  onRoom(): void;
  /** A dispatch pass held back a ready task of `type` (counted once per pass), for metrics. */
  onHeld?(type: string, hold: LimitHold): void;
  /** A pause that could not be stored (it still holds here, until this foreman restarts). */
  onPauseFailed?(type: string, err: unknown): void;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class TypeLimits {
  private readonly limits = new Map<string, TypeLimit>();
  /** The dispatcher's buckets, when this foreman enforces the rate itself (SQLite). */
  private readonly buckets = new Map<string, Bucket>();
  /** Types paused by a handler's RateLimitedError, until this epoch ms. */
  private readonly pausedUntil = new Map<string, number>();
  /** The fleet's counts and buckets as the store last showed them (stores shared by several foremen). */
  private fleet = new Map<string, FleetTypeState>();
  private refreshing: Promise<void> | null = null;
  /** The pass under way: running counts of limited types, and the types already counted as held. */
  private running = new Map<string, number>();
  private readonly heldThisPass = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private readonly store: TypeLimitStore;

  constructor(private readonly deps: TypeLimitsDeps) {
    this.store = deps.store;
  }

  /** Reads the stored limits and pauses (at start), and follows other foremen's changes from then on. */
  async load(): Promise<void> {
    for (const [type, row] of await this.store.load()) this.apply(type, row);
    this.store.follow?.(
      (type, row) => {
        this.apply(type, row);
        this.deps.onRoom();
      },
      (rows) => {
        for (const type of [...this.limits.keys()]) if (!rows.has(type)) this.apply(type, null);
        for (const [type, row] of rows) this.apply(type, row);
        this.deps.onRoom();
      },
    );
  }

  /** Whether any type has a limit or a pause: when false the dispatcher asks nothing. */
  get active(): boolean {
    return this.limits.size > 0 || this.pausedUntil.size > 0;
  }

  /** Whether a claim of `type` must go through its limits (it has a limit or a pause here). */
  covers(type: string): boolean {
    return this.limits.has(type) || this.pausedUntil.has(type);
  }

  /** Sets (replaces) a type's limits once durable. */
  async set(type: string, limit: TypeLimit): Promise<void> {
    await this.store.set(type, limit);
    this.apply(type, { ...limit, pausedUntil: null });
    // A new rate starts with a full bucket, as if the type had been idle.
    this.buckets.delete(type);
    this.deps.onRoom();
  }

  /** Removes a type's limits once durable; false when it had none. */
  async remove(type: string): Promise<boolean> {
    const had = await this.store.remove(type);
    this.apply(type, null);
    this.deps.onRoom();
    return had;
  }

  get(type: string): TypeLimit | undefined {
    return this.limits.get(type);
  }

  /**
   * Reads the fleet's counts of the limited types from a store shared by several foremen, for the views
   * below (call before them). Never rejects: with the database away, the views show the last counts read.
   */
  refresh(): Promise<void> {
    const read = this.store.fleetState;
    if (!read || !this.active) return Promise.resolve();
    this.refreshing ??= read
      .call(this.store, [...new Set([...this.limits.keys(), ...this.pausedUntil.keys()])])
      .then(
        (fleet) => {
          this.fleet = fleet;
        },
        () => {},
      )
      .finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  /** Every limited or paused type with its limits and state now, for GET /stats and GET /types/limits. */
  describe(now = Date.now()): Record<string, TypeLimitView> {
    const types = new Set([...this.limits.keys(), ...this.pausedUntil.keys()]);
    const running = this.runningNow(types);
    const out: Record<string, TypeLimitView> = {};
    for (const type of [...types].sort()) {
      const limit = this.limits.get(type) ?? { maxRunning: null, ratePerSecond: null };
      const n = running.get(type) ?? 0;
      const heldBy = this.check(type, now, n, this.tokensNow(type, now));
      const until = this.pausedUntil.get(type);
      out[type] = { ...limit, running: n, heldBy, pausedUntil: until !== undefined && until > now ? until : null };
    }
    return out;
  }

  /** Why a queued task of `type` is held back now, or null (GET /tasks/:id). */
  heldBy(type: string, now = Date.now()): LimitHold | null {
    if (!this.covers(type)) return null;
    return this.check(type, now, this.runningNow(new Set([type])).get(type) ?? 0, this.tokensNow(type, now));
  }

  /** A handler hit a rate limit: no task of `type` starts for `ms`, on any foreman, even after a restart. */
  pause(type: string, ms: number, now = Date.now()): void {
    this.pauseUntil(type, now + ms);
    this.store.pause(type, ms).then(
      (until) => this.pauseUntil(type, until),
      (err) => this.deps.onPauseFailed?.(type, err),
    );
  }

  /** An attempt of `type` ended on this foreman: where the store enforces caps, other foremen may claim one now. */
  ended(type: string): void {
    if (this.limits.get(type)?.maxRunning != null) this.store.roomFreed?.(type);
  }

  /** A claim from a store shared by several foremen left ready tasks of `type` queued because of its limits. */
  heldAtClaim(type: string, hold: LimitHold): void {
    this.deps.onHeld?.(type, hold);
  }

  // ---- the dispatcher's side ----------------------------------------------------------------

  /** Starts a dispatch pass: counts what runs of each limited type on this foreman's workers. */
  beginPass(): void {
    this.running = this.deps.runningOf(new Set(this.limits.keys()));
    this.heldThisPass.clear();
  }

  /** Why one more task of `type` may not start now, or null when it may. */
  hold(type: string, now: number): LimitHold | null {
    if (!this.covers(type)) return null;
    // Where the store enforces the rate, a claimed task has spent its token already.
    const tokens = this.store.enforcedAtClaim ? null : this.localTokens(type, now);
    const held = this.check(type, now, this.running.get(type) ?? 0, tokens);
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
    if (limit.ratePerSecond !== null && !this.store.enforcedAtClaim) {
      const bucket = this.bucket(type, limit.ratePerSecond, now);
      bucket.tokens -= 1;
    }
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
  }

  /** Takes in a stored row (null: none): the limits as stored; a pause only ever lengthens. */
  private apply(type: string, row: StoredTypeLimit | null): void {
    const before = this.limits.get(type);
    if (row && (row.maxRunning !== null || row.ratePerSecond !== null)) this.limits.set(type, { maxRunning: row.maxRunning, ratePerSecond: row.ratePerSecond });
    else this.limits.delete(type);
    if (before?.ratePerSecond !== this.limits.get(type)?.ratePerSecond) this.buckets.delete(type);
    if (row?.pausedUntil != null) this.pauseUntil(type, row.pausedUntil);
  }

  private pauseUntil(type: string, until: number): void {
    if (until <= Date.now() || (this.pausedUntil.get(type) ?? 0) >= until) return;
    this.pausedUntil.set(type, until);
    this.wakeAt(until);
  }

  /** Tasks of `types` running now: fleet-wide as the store last showed them, or this foreman's own. */
  private runningNow(types: ReadonlySet<string>): Map<string, number> {
    if (!this.store.fleetState) return this.deps.runningOf(types);
    return new Map([...types].map((t) => [t, this.fleet.get(t)?.running ?? 0]));
  }

  /** The tokens in the type's bucket now, or null when it has no rate. */
  private tokensNow(type: string, now: number): number | null {
    const rate = this.limits.get(type)?.ratePerSecond ?? null;
    if (rate === null) return null;
    if (!this.store.enforcedAtClaim) return this.localTokens(type, now);
    const f = this.fleet.get(type);
    return f ? refill(f.tokens, f.tokensAt, rate, now) : null;
  }

  private localTokens(type: string, now: number): number | null {
    const rate = this.limits.get(type)?.ratePerSecond ?? null;
    return rate === null ? null : this.bucket(type, rate, now).tokens;
  }

  /** What holds the next task of `type`: a pause, its cap against `running`, or an empty bucket (`tokens`; null: not checked). */
  private check(type: string, now: number, running: number, tokens: number | null): LimitHold | null {
    const until = this.pausedUntil.get(type);
    if (until !== undefined) {
      if (until > now) return 'rate';
      this.pausedUntil.delete(type);
    }
    const limit = this.limits.get(type);
    if (!limit) return null;
    if (limit.maxRunning !== null && running >= limit.maxRunning) return 'maxRunning';
    if (limit.ratePerSecond !== null && tokens !== null && tokens < 1) {
      // Ask for a pass when the next token has accrued.
      this.wakeAt(now + msUntilToken(tokens, limit.ratePerSecond));
      return 'rate';
    }
    return null;
  }

  /** The type's in-memory bucket, refilled up to now. */
  private bucket(type: string, ratePerSecond: number, now: number): Bucket {
    let b = this.buckets.get(type);
    if (!b) {
      b = { tokens: refill(null, now, ratePerSecond, now), at: now };
      this.buckets.set(type, b);
    } else if (now > b.at) {
      b.tokens = refill(b.tokens, b.at, ratePerSecond, now);
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
