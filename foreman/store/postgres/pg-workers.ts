/**
 * The fleet as every foreman sees it: each foreman publishes the workers connected to it (their
 * /workers view) into the `workers` table every second, and /workers on any foreman lists its own
 * workers plus those the others published recently, each with the foreman it is connected to.
 *
 * The same rows keep a worker id to one live session fleet-wide: a hello first claims its row (one
 * conditional statement), which another foreman's row refuses while it is fresh, its foreman alive,
 * and the hello does not present that session's token.
 */
import { hashToken } from '../../auth/tokens.js';
import type { PgDb } from './pg-db.js';

/** A published row older than this belongs to a foreman that stopped publishing (dead or cut off). */
const FRESH_MS = 10_000;

export class PgWorkers {
  /** Ids claimed lately, by when (ms): a publish whose views were taken before the claim must not delete its row. */
  private readonly recentClaims = new Map<string, number>();

  constructor(
    private readonly db: PgDb,
    private readonly foremanId: string,
    private readonly foremanTtlMs: number,
  ) {}

  /**
   * Claims `workerId` for this foreman and a session under `sessionToken`. Refused (false) while
   * another foreman holds the id: its row fresh, that foreman alive, and `presentedSessionToken` not
   * the token of the session there (a worker failing over presents it, a second process does not).
   */
  async claim(workerId: string, presentedSessionToken: string | null, sessionToken: string): Promise<boolean> {
    this.recentClaims.set(workerId, Date.now());
    const { rowCount } = await this.db.query(
      `INSERT INTO workers AS w (id, foreman_id, view, updated_at, session_hash) VALUES ($1, $2, '{}'::jsonb, now(), $4)
       ON CONFLICT (id) DO UPDATE SET foreman_id = excluded.foreman_id, updated_at = now(), session_hash = excluded.session_hash
       WHERE w.foreman_id = $2 OR w.session_hash = $3
          OR w.updated_at <= now() - make_interval(secs => $5::double precision / 1000)
          OR NOT EXISTS (SELECT 1 FROM foremen f WHERE f.id = w.foreman_id AND f.heartbeat_at > now() - make_interval(secs => $6::double precision / 1000))`,
      [workerId, this.foremanId, presentedSessionToken === null ? null : hashToken(presentedSessionToken), hashToken(sessionToken), FRESH_MS, this.foremanTtlMs],
    );
    return rowCount === 1;
  }

  /** Replaces this foreman's published workers with `views` (by worker id), each with its session's token. */
  async publish(views: Array<{ view: { id: string } & Record<string, unknown>; sessionToken: string }>): Promise<void> {
    const now = Date.now();
    for (const [id, at] of this.recentClaims) if (now - at > FRESH_MS) this.recentClaims.delete(id);
    for (const v of views) this.recentClaims.delete(v.view.id);
    const keep = [...views.map((v) => v.view.id), ...this.recentClaims.keys()];
    await this.db.query(
      `WITH up AS (
         INSERT INTO workers AS w (id, foreman_id, view, updated_at, session_hash)
         SELECT v.id, $1, v.view, now(), v.hash FROM unnest($2::text[], $3::jsonb[], $4::text[]) AS v(id, view, hash)
         ON CONFLICT (id) DO UPDATE SET foreman_id = excluded.foreman_id, view = excluded.view, updated_at = now(), session_hash = excluded.session_hash
         -- Never over another foreman's live claim (this foreman may still hold a half-dead socket of a worker that moved).
         WHERE w.foreman_id = $1 OR w.updated_at <= now() - make_interval(secs => $6::double precision / 1000)
       )
       DELETE FROM workers WHERE foreman_id = $1 AND NOT (id = ANY($5::text[]))`,
      [this.foremanId, views.map((v) => v.view.id), views.map((v) => JSON.stringify(v.view)), views.map((v) => hashToken(v.sessionToken)), keep, FRESH_MS],
    );
  }

  /** The workers other foremen published recently, each with `foremanId`. */
  async others(): Promise<Array<Record<string, unknown>>> {
    const { rows } = await this.db.query<{ view: Record<string, unknown>; foreman_id: string }>(
      `SELECT view, foreman_id FROM workers WHERE foreman_id <> $1 AND view <> '{}'::jsonb AND updated_at > now() - make_interval(secs => $2::double precision / 1000)
       ORDER BY id`,
      [this.foremanId, FRESH_MS],
    );
    return rows.map((r) => ({ ...r.view, foremanId: r.foreman_id }));
  }
}
