/**
 * Type limits in the foreman's SQLite file (table `type_limits`), written through the group commit.
 * One foreman owns the file, so its dispatcher enforces the limits itself (enforcedAtClaim false).
 */
import type { Db } from '../store/database.js';
import type { GroupCommit } from '../store/group-commit.js';
import type { StoredTypeLimit, TypeLimit, TypeLimitStore } from './type-limit-store.js';

type Row = { type: string; max_running: number | null; rate_per_second: number | null; paused_until: number | null };

export class SqliteTypeLimits implements TypeLimitStore {
  readonly enforcedAtClaim = false;
  private readonly upsertStmt;
  private readonly dropStmt;
  private readonly clearStmt;
  private readonly getStmt;
  private readonly pauseStmt;
  private readonly allStmt;

  constructor(
    db: Db,
    private readonly commit: GroupCommit,
  ) {
    this.upsertStmt = db.prepare<[string, number | null, number | null, number]>(
      `INSERT INTO type_limits (type, max_running, rate_per_second, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (type) DO UPDATE SET max_running = excluded.max_running, rate_per_second = excluded.rate_per_second, updated_at = excluded.updated_at`,
    );
    // A pause outlives the limits' removal: its row stays (limits null) until the pause is over.
    this.dropStmt = db.prepare<[string, number]>('DELETE FROM type_limits WHERE type = ? AND (paused_until IS NULL OR paused_until <= ?)');
    this.clearStmt = db.prepare<[number, string]>('UPDATE type_limits SET max_running = NULL, rate_per_second = NULL, updated_at = ? WHERE type = ?');
    this.getStmt = db.prepare<[string], Row>('SELECT type, max_running, rate_per_second, paused_until FROM type_limits WHERE type = ?');
    this.pauseStmt = db.prepare<[string, number, number]>(
      `INSERT INTO type_limits (type, paused_until, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (type) DO UPDATE SET paused_until = max(coalesce(paused_until, 0), excluded.paused_until), updated_at = excluded.updated_at`,
    );
    this.allStmt = db.prepare<[], Row>('SELECT type, max_running, rate_per_second, paused_until FROM type_limits ORDER BY type');
  }

  async load(): Promise<Map<string, StoredTypeLimit>> {
    return new Map(this.allStmt.all().map((r) => [r.type, { maxRunning: r.max_running, ratePerSecond: r.rate_per_second, pausedUntil: r.paused_until }]));
  }

  set(type: string, limit: TypeLimit): Promise<void> {
    return this.commit.write(() => this.upsertStmt.run(type, limit.maxRunning, limit.ratePerSecond, Date.now()));
  }

  async remove(type: string): Promise<boolean> {
    let had = false;
    await this.commit.write(() => {
      const row = this.getStmt.get(type);
      had = !!row && (row.max_running !== null || row.rate_per_second !== null);
      const now = Date.now();
      if (this.dropStmt.run(type, now).changes === 0) this.clearStmt.run(now, type);
    });
    return had;
  }

  async pause(type: string, ms: number): Promise<number> {
    const now = Date.now();
    await this.commit.write(() => this.pauseStmt.run(type, now + ms, now));
    return now + ms;
  }
}
