/**
 * Type limits on PostgreSQL, shared by every foreman (table `type_limits`, PG migration 5). Each write
 * is one statement (or one short transaction) that also sends NOTIFY gaffer_limits with the type on
 * commit; every foreman, hearing it, re-reads that row into its mirror (type-limits.ts). A change that
 * may make room (limits set or removed) also announces work of the type (gaffer_work), so a foreman
 * that found the type held claims again at once. After the LISTEN connection was lost, every row is
 * re-read. Times written here (a pause's end, the bucket's) come from the database's clock, which
 * every foreman shares. The claims themselves are in pg-limited-claim.ts.
 */
import type { FleetTypeState, StoredTypeLimit, TypeLimit, TypeLimitStore } from '../../type-limits/type-limit-store.js';
import type { PgDb } from './pg-db.js';

/** The database's clock, epoch ms: one clock for every foreman's pauses and buckets. */
export const DB_NOW_MS = '(extract(epoch from clock_timestamp()) * 1000)::bigint';

type Row = { type: string; max_running: number | null; rate_per_second: number | null; paused_until: number | null };

const COLUMNS = 'type, max_running, rate_per_second, paused_until';
const toStored = (r: Row): StoredTypeLimit => ({ maxRunning: r.max_running, ratePerSecond: r.rate_per_second, pausedUntil: r.paused_until });
/** Sends, on commit, the change of each row `changed` returns, and (`room`) the work announcement of its type. */
const announce = (room: boolean) =>
  `SELECT c.*, pg_notify('gaffer_limits', c.type)${room ? `, pg_notify('gaffer_work', json_build_array(c.type)::text)` : ''} FROM changed c`;

export class PgTypeLimits implements TypeLimitStore {
  readonly enforcedAtClaim = true;
  private freed = new Set<string>();

  constructor(private readonly db: PgDb) {}

  async load(): Promise<Map<string, StoredTypeLimit>> {
    const { rows } = await this.db.query<Row>(`SELECT ${COLUMNS} FROM type_limits`);
    return new Map(rows.map((r) => [r.type, toStored(r)]));
  }

  async set(type: string, limit: TypeLimit): Promise<void> {
    // tokens NULL: a new rate starts with a full bucket, as on SQLite.
    await this.db.query(
      `WITH changed AS (
         INSERT INTO type_limits (type, max_running, rate_per_second, tokens, updated_at) VALUES ($1, $2, $3, NULL, ${DB_NOW_MS})
         ON CONFLICT (type) DO UPDATE SET max_running = excluded.max_running, rate_per_second = excluded.rate_per_second,
           tokens = NULL, updated_at = excluded.updated_at
         RETURNING type
       ) ${announce(true)}`,
      [type, limit.maxRunning, limit.ratePerSecond],
    );
  }

  remove(type: string): Promise<boolean> {
    return this.db.transaction(async (c) => {
      const { rows } = await c.query<Row>(`SELECT ${COLUMNS} FROM type_limits WHERE type = $1 FOR UPDATE`, [type]);
      if (rows.length === 0) return false;
      // A pause outlives the limits' removal: its row stays (limits null) until the pause is over.
      const paused = await c.query(`UPDATE type_limits SET max_running = NULL, rate_per_second = NULL, tokens = NULL WHERE type = $1 AND paused_until > ${DB_NOW_MS}`, [type]);
      if (paused.rowCount === 0) await c.query('DELETE FROM type_limits WHERE type = $1', [type]);
      await c.query(`WITH changed AS (SELECT $1::text AS type) ${announce(true)}`, [type]);
      return rows[0].max_running !== null || rows[0].rate_per_second !== null;
    });
  }

  async pause(type: string, ms: number): Promise<number> {
    const { rows } = await this.db.query<{ paused_until: number }>(
      `WITH changed AS (
         INSERT INTO type_limits (type, paused_until, updated_at) VALUES ($1, ${DB_NOW_MS} + $2::bigint, ${DB_NOW_MS})
         ON CONFLICT (type) DO UPDATE SET paused_until = greatest(coalesce(type_limits.paused_until, 0), excluded.paused_until)
         RETURNING type, paused_until
       ) ${announce(false)}`,
      [type, ms],
    );
    return rows[0].paused_until;
  }

  /** Running (or claimed to run) tasks of each type across every foreman, and its bucket as last spent. */
  async fleetState(types: string[]): Promise<Map<string, FleetTypeState>> {
    const { rows } = await this.db.query<{ type: string; running: number; tokens: number | null; tokens_at: number | null }>(
      `SELECT w.type, l.tokens, l.tokens_at,
         (SELECT count(*)::int FROM tasks t WHERE t.type = w.type AND t.state IN ('claimed', 'running', 'cancelling') AND t.finished_at IS NULL) AS running
       FROM unnest($1::text[]) AS w(type) LEFT JOIN type_limits l ON l.type = w.type`,
      [types],
    );
    return new Map(rows.map((r) => [r.type, { running: r.running, tokens: r.tokens, tokensAt: r.tokens_at ?? 0 }]));
  }

  /** Announces the types whose tasks ended this turn as work (one notification), so capped foremen claim again. */
  roomFreed(type: string): void {
    this.freed.add(type);
    if (this.freed.size > 1) return;
    setImmediate(() => {
      const types = [...this.freed];
      this.freed = new Set();
      void this.db.notify('gaffer_work', JSON.stringify(types)).catch(() => {});
    });
  }

  follow(changed: (type: string, row: StoredTypeLimit | null) => void, reloaded: (rows: Map<string, StoredTypeLimit>) => void): void {
    this.db.on('notification', (channel, type) => {
      if (channel !== 'gaffer_limits') return;
      this.db.query<Row>(`SELECT ${COLUMNS} FROM type_limits WHERE type = $1`, [type]).then(
        ({ rows }) => changed(type, rows[0] ? toStored(rows[0]) : null),
        () => {},
      );
    });
    // Notifications sent while the listener was down are lost: read every row again.
    this.db.on('relisten', () => void this.load().then(reloaded, () => {}));
  }
}
