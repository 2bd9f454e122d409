/**
 * The fleet as every foreman sees it: each foreman publishes the workers connected to it (their
 * /workers view) into the `workers` table every second, and /workers on any foreman lists its own
 * workers plus those the others published recently, each with the foreman it is connected to.
 */
import type { PgDb } from './pg-db.js';

/** A published row older than this belongs to a foreman that stopped publishing (dead or cut off). */
const FRESH_MS = 10_000;

export class PgWorkers {
  constructor(
    private readonly db: PgDb,
    private readonly foremanId: string,
  ) {}

  /** Replaces this foreman's published workers with `views` (by worker id). */
  async publish(views: Array<{ id: string } & Record<string, unknown>>): Promise<void> {
    await this.db.query(
      `WITH up AS (
         INSERT INTO workers (id, foreman_id, view, updated_at)
         SELECT v.id, $1, v.view, now() FROM unnest($2::text[], $3::jsonb[]) AS v(id, view)
         ON CONFLICT (id) DO UPDATE SET foreman_id = excluded.foreman_id, view = excluded.view, updated_at = now()
       )
       DELETE FROM workers WHERE foreman_id = $1 AND NOT (id = ANY($2::text[]))`,
      [this.foremanId, views.map((v) => v.id), views.map((v) => JSON.stringify(v))],
    );
  }

  /** The workers other foremen published recently, each with `foremanId`. */
  async others(): Promise<Array<Record<string, unknown>>> {
    const { rows } = await this.db.query<{ view: Record<string, unknown>; foreman_id: string }>(
      `SELECT view, foreman_id FROM workers WHERE foreman_id <> $1 AND updated_at > now() - make_interval(secs => $2::double precision / 1000)
       ORDER BY id`,
      [this.foremanId, FRESH_MS],
    );
    return rows.map((r) => ({ ...r.view, foremanId: r.foreman_id }));
  }
}
