/**
 * Claims of task types with fleet-wide limits or a pause (foreman/type-limits/), race-free between
 * foremen: one transaction locks the rows of the wanted types' limits (FOR UPDATE, in type order, so
 * two foremen never wait on each other in a cycle), then counts what runs or is claimed of each capped
 * type (a statement after the locks sees every claim committed under them: READ COMMITTED takes a new
 * snapshot per statement), claims no more than the cap, the bucket and the pause allow, and writes the
 * spent bucket back before the locks go. Foremen claiming unlimited types take the one-statement path
 * (pg-tasks-sql.ts claimReady), which leaves limited types alone, so every claim of a limited type
 * passes here, whichever foreman's mirror is behind.
 */
import type { LimitHold } from '../../type-limits/type-limits.js';
import { msUntilToken, refill } from '../../type-limits/token-bucket.js';
import type { ClaimLimits, LimitedClaim } from './pg-claims.js';
import type { PgDb } from './pg-db.js';
import { claimReadyOn } from './pg-tasks-sql.js';
import { DB_NOW_MS } from './pg-type-limits.js';

interface LockedLimit {
  type: string;
  max_running: number | null;
  rate_per_second: number | null;
  tokens: number | null;
  tokens_at: number;
  paused_until: number | null;
  now: number;
}

/** What the claims ask of the type limits: which types to claim here, and where to report a hold (metrics). */
export interface ClaimLimitHooks {
  /** Whether this foreman's mirror knows a limit or pause of the type (then its claims come here). */
  covers(type: string): boolean;
  /** A claim left ready tasks of `type` queued because of its limits. */
  held(type: string, hold: LimitHold): void;
}

export class PgLimitedClaims implements ClaimLimits {
  constructor(
    private readonly db: PgDb,
    private readonly foremanId: string,
    private readonly hooks: ClaimLimitHooks,
  ) {}

  covers(type: string): boolean {
    return this.hooks.covers(type);
  }

  /** @param workers as for claimReady: quorum replicas none of this foreman's workers may run are skipped. */
  claim(want: Map<string, number>, total: number, now: number, workers: readonly string[] | null = null): Promise<LimitedClaim> {
    return this.db.transaction(async (c) => {
      const { rows: limits } = await c.query<LockedLimit>(
        `SELECT type, max_running, rate_per_second, tokens, tokens_at, paused_until, ${DB_NOW_MS} AS now
         FROM type_limits WHERE type = ANY($1::text[]) ORDER BY type FOR UPDATE`,
        [[...want.keys()].sort()],
      );
      const capped = limits.filter((l) => l.max_running !== null).map((l) => l.type);
      const inFlight = new Map<string, number>();
      if (capped.length > 0) {
        const { rows } = await c.query<{ type: string; n: number }>(
          `SELECT type, count(*)::int AS n FROM tasks
           WHERE type = ANY($1::text[]) AND state IN ('claimed', 'running', 'cancelling') AND finished_at IS NULL GROUP BY type`,
          [capped],
        );
        for (const r of rows) inFlight.set(r.type, r.n);
      }
      const allowed = new Map(want);
      const wakeInMs = new Map<string, number>();
      const tokens = new Map<string, number>();
      /** What cut each type's claim short, in the order the dispatcher names holds (type-limits.ts check). */
      const cut = new Map<string, LimitHold>();
      for (const l of limits) {
        const wanted = want.get(l.type) as number;
        let n = wanted;
        if (l.paused_until !== null && l.paused_until > l.now) {
          n = 0;
          cut.set(l.type, 'rate');
          wakeInMs.set(l.type, l.paused_until - l.now);
        }
        // A cap's room is announced when a task of the type ends on any foreman (TypeLimits.ended), not by a timer.
        if (l.max_running !== null) n = Math.min(n, Math.max(0, l.max_running - (inFlight.get(l.type) ?? 0)));
        if (n < wanted && !cut.has(l.type)) cut.set(l.type, 'maxRunning');
        if (l.rate_per_second !== null) {
          const t = refill(l.tokens, l.tokens_at, l.rate_per_second, l.now);
          tokens.set(l.type, t);
          n = Math.min(n, Math.floor(t));
        }
        if (n < wanted && !cut.has(l.type)) cut.set(l.type, 'rate');
        if (n > 0) allowed.set(l.type, n);
        else allowed.delete(l.type);
      }
      const tasks = allowed.size > 0 ? await claimReadyOn(c, this.foremanId, allowed, total, now, true, workers) : [];
      const got = new Map<string, number>();
      for (const t of tasks) got.set(t.type, (got.get(t.type) ?? 0) + 1);
      const spent = limits.filter((l) => tokens.has(l.type));
      if (spent.length > 0) {
        const left = spent.map((l) => (tokens.get(l.type) as number) - (got.get(l.type) ?? 0));
        await c.query(
          `UPDATE type_limits l SET tokens = v.tokens, tokens_at = v.at
           FROM unnest($1::text[], $2::float8[], $3::bigint[]) AS v(type, tokens, at) WHERE l.type = v.type`,
          [spent.map((l) => l.type), left, spent.map((l) => l.now)],
        );
        // Held by the bucket (wanted more than it gave): look again when the next token has accrued.
        spent.forEach((l, i) => {
          if ((got.get(l.type) ?? 0) < (want.get(l.type) as number) && left[i] < 1 && !wakeInMs.has(l.type)) {
            wakeInMs.set(l.type, msUntilToken(left[i], l.rate_per_second as number));
          }
        });
      }
      // Reported only where ready tasks are left behind (every allowed one was taken, and more wait).
      const short = [...cut.keys()].filter((type) => (got.get(type) ?? 0) === (allowed.get(type) ?? 0));
      if (short.length > 0) {
        const { rows } = await c.query<{ type: string }>(
          `SELECT w.type FROM unnest($1::text[]) AS w(type)
           WHERE EXISTS (SELECT 1 FROM tasks t WHERE t.state = 'queued' AND t.type = w.type AND t.run_at <= $2)`,
          [short, now],
        );
        for (const r of rows) this.hooks.held(r.type, cut.get(r.type) as LimitHold);
      }
      return { tasks, wakeInMs };
    });
  }
}
