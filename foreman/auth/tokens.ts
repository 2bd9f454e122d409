/**
 * Token primitives and the individual worker tokens kept in the store.
 * Only SHA-256 hashes are stored; comparisons are constant-time on hashes,
 * so neither the database nor response timing gives a token away.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { newSecret } from '../../shared/ids.js';
import type { Db } from '../store/database.js';

/** The `token_hash` of a revoked worker id: no token hashes to it, so the id is locked out until a new token is created. */
export const REVOKED = 'revoked';

/** SHA-256 of a token, as 64 hex characters. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * Whether `presented` is `expected`, in time independent of where they differ.
 * Both are hashed first, so the comparison also hides the expected length.
 */
export function tokenMatches(presented: string | null | undefined, expected: string | null): boolean {
  if (typeof presented !== 'string' || expected === null) return false;
  return hashMatches(hashToken(presented), hashToken(expected));
}

/** Constant-time comparison of two hex SHA-256 hashes (false for anything else, e.g. REVOKED). */
export function hashMatches(presentedHash: string, storedHash: string): boolean {
  const a = Buffer.from(presentedHash, 'hex');
  const b = Buffer.from(storedHash, 'hex');
  // Buffer.from(hex) stops at the first non-hex character, so REVOKED decodes to 0 bytes and never matches.
  return a.length === 32 && b.length === 32 && timingSafeEqual(a, b);
}

/** A listed token: which worker it binds, when it was issued, whether it was revoked. Never the hash. */
export interface WorkerTokenInfo {
  workerId: string;
  createdAt: number;
  revoked: boolean;
}

/**
 * What the token routes need: the SQLite `WorkerTokenStore` answers at once, the PostgreSQL one
 * (store/postgres/pg-worker-tokens.ts) asynchronously, shared by every foreman.
 */
export interface WorkerTokenAdmin {
  hashOf(workerId: string): string | null | Promise<string | null>;
  list(): WorkerTokenInfo[] | Promise<WorkerTokenInfo[]>;
  create(workerId: string): string | Promise<string>;
  revoke(workerId: string): boolean | Promise<boolean>;
}

/** The `worker_tokens` table: one row per worker id that has (or had) an individual token. */
export class WorkerTokenStore implements WorkerTokenAdmin {
  private readonly getStmt;
  private readonly listStmt;
  private readonly upsertStmt;
  private readonly revokeStmt;
  private readonly deleteStmt;

  constructor(private readonly db: Db) {
    this.getStmt = db.prepare<[string], { token_hash: string }>('SELECT token_hash FROM worker_tokens WHERE worker_id = ?');
    this.listStmt = db.prepare<[], { worker_id: string; token_hash: string; created_at: number }>(
      'SELECT worker_id, token_hash, created_at FROM worker_tokens ORDER BY worker_id',
    );
    this.upsertStmt = db.prepare<[string, string, number]>(
      'INSERT INTO worker_tokens (worker_id, token_hash, created_at) VALUES (?, ?, ?) ON CONFLICT(worker_id) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at',
    );
    this.revokeStmt = db.prepare<[string, number, string]>('UPDATE worker_tokens SET token_hash = ?, created_at = ? WHERE worker_id = ?');
    this.deleteStmt = db.prepare<[string]>('DELETE FROM worker_tokens WHERE worker_id = ?');
  }

  /** Sets `workerId`'s row as another store has it (null: no row), for a mirror of that store. */
  mirror(workerId: string, row: { tokenHash: string; createdAt: number } | null): void {
    if (row === null) this.deleteStmt.run(workerId);
    else this.upsertStmt.run(workerId, row.tokenHash, row.createdAt);
  }

  /** The stored hash for `workerId` (REVOKED when revoked), or null when it has no individual token. */
  hashOf(workerId: string): string | null {
    return this.getStmt.get(workerId)?.token_hash ?? null;
  }

  /** Every worker id with a row, and its hash, for the revocation sweep. */
  hashes(): Map<string, string> {
    return new Map(this.listStmt.all().map((r) => [r.worker_id, r.token_hash]));
  }

  list(): WorkerTokenInfo[] {
    return this.listStmt.all().map((r) => ({ workerId: r.worker_id, createdAt: r.created_at, revoked: r.token_hash === REVOKED }));
  }

  /**
   * Issues a new token for `workerId` and returns it: the only time it exists in clear.
   * Replaces (and so invalidates) any previous token of that worker.
   */
  create(workerId: string, now = Date.now()): string {
    const token = newSecret();
    this.upsertStmt.run(workerId, hashToken(token), now);
    return token;
  }

  /** Revokes `workerId`'s token; returns false when it had none (or was already revoked). */
  revoke(workerId: string, now = Date.now()): boolean {
    const current = this.hashOf(workerId);
    if (current === null || current === REVOKED) return false;
    this.revokeStmt.run(REVOKED, now, workerId);
    return true;
  }
}
