/**
 * Individual worker tokens on PostgreSQL, shared by every foreman: the `worker_tokens` table is the
 * truth, and each foreman keeps a mirror of it in its in-memory SQLite so that a hello is decided
 * without a round trip (WorkerAuth reads the mirror). Every write is one statement that also sends
 * NOTIFY gaffer_token with the worker id, on commit; each foreman, hearing it, re-reads that row into
 * its mirror and sweeps its sessions, so a revocation on any foreman closes the session wherever it
 * is held, within a notification's delay. After the LISTEN connection was lost, the whole table is
 * re-read (notifications may have been missed).
 */
import { newSecret } from '../../../shared/ids.js';
import { hashToken, REVOKED, type WorkerTokenAdmin, type WorkerTokenInfo, type WorkerTokenStore } from '../../auth/tokens.js';
import type { PgDb } from './pg-db.js';

type Row = { worker_id: string; token_hash: string; created_at: number };

export class PgWorkerTokens implements WorkerTokenAdmin {
  private constructor(
    private readonly db: PgDb,
    private readonly mirror: WorkerTokenStore,
    private readonly changed: () => void,
  ) {}

  /**
   * Loads the table into `mirror` and follows it from then on.
   * @param changed called after the mirror changed (WorkerAuth's sweep: closes sessions whose token no longer holds).
   */
  static async open(db: PgDb, mirror: WorkerTokenStore, changed: () => void): Promise<PgWorkerTokens> {
    const tokens = new PgWorkerTokens(db, mirror, changed);
    db.on('notification', (channel, workerId) => {
      if (channel === 'gaffer_token') void tokens.refresh(workerId).catch(() => {});
    });
    db.on('relisten', () => void tokens.reload().catch(() => {}));
    await tokens.reload();
    return tokens;
  }

  async hashOf(workerId: string): Promise<string | null> {
    const { rows } = await this.db.query<{ token_hash: string }>('SELECT token_hash FROM worker_tokens WHERE worker_id = $1', [workerId]);
    return rows[0]?.token_hash ?? null;
  }

  async list(): Promise<WorkerTokenInfo[]> {
    const { rows } = await this.db.query<Row>('SELECT worker_id, token_hash, created_at FROM worker_tokens ORDER BY worker_id');
    return rows.map((r) => ({ workerId: r.worker_id, createdAt: r.created_at, revoked: r.token_hash === REVOKED }));
  }

  async create(workerId: string): Promise<string> {
    const token = newSecret();
    await this.write(
      `INSERT INTO worker_tokens (worker_id, token_hash, created_at) VALUES ($1, $2, $3)
       ON CONFLICT (worker_id) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at
       RETURNING worker_id, token_hash, created_at`,
      [workerId, hashToken(token), Date.now()],
    );
    return token;
  }

  /** Revokes `workerId`'s token in one conditional statement; false when it had none or was already revoked. */
  async revoke(workerId: string): Promise<boolean> {
    const rows = await this.write(
      `UPDATE worker_tokens SET token_hash = $2, created_at = $3 WHERE worker_id = $1 AND token_hash <> $2
       RETURNING worker_id, token_hash, created_at`,
      [workerId, REVOKED, Date.now()],
    );
    return rows.length > 0;
  }

  /** Runs a write that returns the rows it changed, announces each on commit, and applies them to the mirror at once. */
  private async write(sql: string, values: unknown[]): Promise<Row[]> {
    const { rows } = await this.db.query<Row>(`WITH changed AS (${sql}) SELECT c.*, pg_notify('gaffer_token', c.worker_id) FROM changed c`, values);
    for (const r of rows) this.mirror.mirror(r.worker_id, { tokenHash: r.token_hash, createdAt: r.created_at });
    if (rows.length > 0) this.changed();
    return rows;
  }

  private async refresh(workerId: string): Promise<void> {
    const { rows } = await this.db.query<Row>('SELECT worker_id, token_hash, created_at FROM worker_tokens WHERE worker_id = $1', [workerId]);
    this.mirror.mirror(workerId, rows[0] ? { tokenHash: rows[0].token_hash, createdAt: rows[0].created_at } : null);
    this.changed();
  }

  private async reload(): Promise<void> {
    const { rows } = await this.db.query<Row>('SELECT worker_id, token_hash, created_at FROM worker_tokens');
    const present = new Set(rows.map((r) => r.worker_id));
    for (const id of this.mirror.hashes().keys()) if (!present.has(id)) this.mirror.mirror(id, null);
    for (const r of rows) this.mirror.mirror(r.worker_id, { tokenHash: r.token_hash, createdAt: r.created_at });
    this.changed();
  }
}
