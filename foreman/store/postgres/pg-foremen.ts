/**
 * The table of foremen: each running foreman has a row and refreshes its heartbeat (by the
 * database's clock) every quarter of `foremanTtlMs`. A row silent for longer than the TTL is a dead
 * foreman, and any survivor reaps it: its claims go back to the queue at once, and its running
 * tasks, once its workers have had `restartGraceMs` to fail over (counted from when the survivor
 * found it dead), are requeued as lost. Reaping
 * is a set of compare-and-set statements, so two survivors reaping at once do no harm.
 */
import { hostname } from 'node:os';
import type { PgDb } from './pg-db.js';
import type { PgLedger } from './pg-ledger.js';

/** A foreman as /foremen shows it. */
export interface ForemanRow {
  id: string;
  url: string | null;
  host: string | null;
  pid: number | null;
  startedAt: number;
  heartbeatAgeMs: number;
  alive: boolean;
  self: boolean;
}

export class PgForemen {
  private timer: NodeJS.Timeout | null = null;
  private beating = false;
  /**
   * When this foreman first found each dead foreman dead. Its workers' grace runs from then, not from
   * its last heartbeat: a foreman restarted after a long outage gives them the full grace, as on SQLite.
   */
  private readonly foundDeadAt = new Map<string, number>();

  constructor(
    private readonly db: PgDb,
    readonly foremanId: string,
    private readonly ttlMs: number,
    private readonly graceMs: number,
    private readonly log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void },
  ) {}

  /** Adds this foreman's row (call before serving). */
  async register(url: string | null): Promise<void> {
    await this.db.query('INSERT INTO foremen (id, url, host, pid) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()', [
      this.foremanId,
      url,
      hostname(),
      process.pid,
    ]);
  }

  /** Starts heartbeating and reaping dead foremen through `ledger`; `url` is read at each beat (the port is bound after start). */
  start(ledger: PgLedger, url: () => string | null): void {
    this.timer ??= setInterval(() => void this.beat(ledger, url()), Math.max(50, Math.floor(this.ttlMs / 4)));
    this.timer.unref();
  }

  private async beat(ledger: PgLedger, url: string | null): Promise<void> {
    if (this.beating) return;
    this.beating = true;
    try {
      const { rowCount } = await this.db.query('UPDATE foremen SET heartbeat_at = now(), url = $2 WHERE id = $1', [this.foremanId, url]);
      if (rowCount === 0) {
        // Reaped while we could not reach the database: our claims were requeued; what we still
        // write is refused by its compare-and-set, so carry on under the same id.
        this.log.warn({ foremanId: this.foremanId }, 'this foreman was taken for dead (database unreachable too long); registering again');
        await this.register(url);
      }
      const dead = await this.db.query<{ id: string; silent_ms: number }>(
        `SELECT id, (extract(epoch FROM now() - heartbeat_at) * 1000)::bigint AS silent_ms FROM foremen
         WHERE id <> $1 AND heartbeat_at < now() - make_interval(secs => $2::double precision / 1000)`,
        [this.foremanId, this.ttlMs],
      );
      const now = Date.now();
      for (const d of dead.rows) {
        const since = this.foundDeadAt.get(d.id) ?? now;
        this.foundDeadAt.set(d.id, since);
        const left = await ledger.reapForeman(d.id, now - since > this.graceMs, now);
        if (left === 0) {
          await this.db.query('DELETE FROM foremen f WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM tasks WHERE foreman_id = f.id)', [d.id]);
          await this.db.query('DELETE FROM workers WHERE foreman_id = $1', [d.id]);
          this.foundDeadAt.delete(d.id);
          this.log.info({ foremanId: d.id, silentMs: d.silent_ms }, 'reaped a dead foreman');
        }
      }
    } catch {
      // The database is away: the turn reports the outage; we beat again next time.
    } finally {
      this.beating = false;
    }
  }

  /** Every registered foreman with its health. */
  async list(): Promise<ForemanRow[]> {
    const { rows } = await this.db.query<{ id: string; url: string | null; host: string | null; pid: number | null; started: number; age: number }>(
      `SELECT id, url, host, pid, (extract(epoch FROM started_at) * 1000)::bigint AS started,
         (extract(epoch FROM now() - heartbeat_at) * 1000)::bigint AS age FROM foremen ORDER BY started_at`,
    );
    return rows.map((r) => ({
      id: r.id, url: r.url, host: r.host, pid: r.pid, startedAt: r.started, heartbeatAgeMs: r.age, alive: r.age <= this.ttlMs, self: r.id === this.foremanId,
    }));
  }

  /**
   * Stops heartbeating and marks this foreman dead as of now (a clean shutdown): survivors requeue its
   * claims at once and give its workers `restartGraceMs` to fail over before requeueing their tasks.
   */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.db
      .query('UPDATE foremen SET heartbeat_at = now() - make_interval(secs => $2::double precision / 1000) WHERE id = $1', [this.foremanId, this.ttlMs])
      .catch(() => {});
  }
}
