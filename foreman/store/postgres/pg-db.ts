/**
 * The foreman's connections to PostgreSQL: a small pool for statements and one dedicated client
 * that LISTENs. node-postgres (`pg`) was chosen over postgres.js: it measured 5–15% faster at the
 * batch sizes the foreman uses (FIELD-NOTES), and its LISTEN client is a plain connection we can
 * watch and re-open ourselves after the server restarts.
 *
 * Every pooled connection runs with `plan_cache_mode = force_custom_plan`: a prepared claim with
 * `LIMIT $n` can otherwise switch to a generic plan that scans the whole table on every claim.
 * And with `jit = off`: the claim's LATERAL LIMIT is estimated at thousands of rows over a big
 * queue, which crosses `jit_above_cost`; compiling it took ≈ 1 s per claim with 50,000 queued
 * (measured with EXPLAIN ANALYZE: 1,082 ms of JIT for 1 ms of execution). No foreman statement
 * runs long enough for JIT to pay back.
 */
const SESSION_OPTIONS = '-c plan_cache_mode=force_custom_plan -c jit=off';
import { EventEmitter } from 'node:events';
import pg from 'pg';
import { GafferError } from '../../../shared/errors.js';

/** Channels the foremen talk on; payloads are small (ids), readers fetch rows themselves. */
export type Channel = 'gaffer_work' | 'gaffer_cancel' | 'gaffer_settled' | 'gaffer_job' | 'gaffer_worker' | 'gaffer_token' | 'gaffer_schedule' | 'gaffer_limits' | 'gaffer_deps';
export const CHANNELS: readonly Channel[] = ['gaffer_work', 'gaffer_cancel', 'gaffer_settled', 'gaffer_job', 'gaffer_worker', 'gaffer_token', 'gaffer_schedule', 'gaffer_limits', 'gaffer_deps'];

/** NOTIFY payloads are limited to 8000 bytes; messages are split below this. */
export const NOTIFY_MAX_BYTES = 7000;

/** bigint columns (seq, times) as numbers: every value the foreman stores is below 2^53. */
const TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format as 'text');
  },
} as unknown as pg.CustomTypesConfig;

/** Error codes and messages that mean "the database cannot be reached now", as opposed to one statement's fault. */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (/^(08|57P|53)/.test(code) || /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EHOSTUNREACH)$/.test(code)) return true;
  const message = typeof e?.message === 'string' ? e.message : '';
  return /Connection terminated|connection timeout|Client has encountered a connection error|not queryable|timeout exceeded when trying to connect/i.test(message);
}

/** A connection failure as the API reports it: 503, so clients retry. */
export function unavailable(err: unknown): GafferError {
  return Object.assign(new GafferError('STORE_UNAVAILABLE', 'the database cannot be reached now; retry later', { cause: err }), { statusCode: 503 });
}

export interface PgDbEvents {
  notification: [channel: Channel, payload: string];
  /** The LISTEN connection was re-opened: notifications sent meanwhile may have been missed. */
  relisten: [];
  error: [unknown];
}

export class PgDb extends EventEmitter<PgDbEvents> {
  readonly pool: pg.Pool;
  /**
   * One connection with `synchronous_commit = off`, for writes whose loss in a database crash is
   * harmless: a claim (or a hand-back of claims) that is lost leaves the task queued. Any later
   * durable commit (the attempt's start) flushes the WAL up to and including it, so a started
   * attempt's claim is never lost. Saves one fsync wait per claim.
   */
  private readonly relaxed: pg.Pool;
  private listener: pg.Client | null = null;
  private closed = false;
  private relistenTimer: NodeJS.Timeout | null = null;

  /**
   * @param url a postgres:// connection string.
   * @param poolSize connections for statements (at least two: the turn's writes run beside claims and reads).
   */
  constructor(
    private readonly url: string,
    poolSize: number,
    private readonly connectTimeoutMs: number,
  ) {
    super();
    this.pool = new pg.Pool({
      connectionString: url,
      max: poolSize,
      types: TYPES,
      connectionTimeoutMillis: connectTimeoutMs,
      options: SESSION_OPTIONS,
      application_name: 'gaffer-foreman',
    });
    this.relaxed = new pg.Pool({
      connectionString: url,
      max: 1,
      types: TYPES,
      connectionTimeoutMillis: connectTimeoutMs,
      options: `${SESSION_OPTIONS} -c synchronous_commit=off`,
      application_name: 'gaffer-claims',
    });
    // An idle pooled connection that dies (server restart) is dropped by the pool; it must not crash us.
    this.pool.on('error', (err) => this.emit('error', err));
    this.relaxed.on('error', (err) => this.emit('error', err));
  }

  /** Runs one statement on the connection without a durable commit (see `relaxed`). */
  async queryRelaxed<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.relaxed.query<R>(text, values);
    } catch (err) {
      throw isConnectionError(err) ? unavailable(err) : err;
    }
  }

  /** Runs one statement; a connection failure comes back as 503 STORE_UNAVAILABLE. */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(text, values);
    } catch (err) {
      throw isConnectionError(err) ? unavailable(err) : err;
    }
  }

  /** Runs `fn` in a transaction on one connection. */
  async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw isConnectionError(err) ? unavailable(err) : err;
    }
    // A checked-out client has no pool listener: a server shutdown arriving between two statements
    // would be an unhandled 'error' event and end the process. The next statement fails instead.
    const dropped = (err: unknown) => this.emit('error', err);
    client.on('error', dropped);
    try {
      await client.query('BEGIN');
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw isConnectionError(err) ? unavailable(err) : err;
    } finally {
      client.off('error', dropped);
      client.release();
    }
  }

  /** Opens the LISTEN connection; it re-opens itself (emitting `relisten`) whenever it drops. */
  async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: this.connectTimeoutMs, application_name: 'gaffer-listen' });
    client.on('notification', (n) => this.emit('notification', n.channel as Channel, n.payload ?? ''));
    client.on('error', () => this.listenerLost(client));
    client.on('end', () => this.listenerLost(client));
    await client.connect();
    await client.query(CHANNELS.map((c) => `LISTEN ${c}`).join('; '));
    this.listener = client;
  }

  private listenerLost(client: pg.Client): void {
    if (this.listener !== client) return;
    this.listener = null;
    client.end().catch(() => {});
    this.relistenAfter(100);
  }

  /** Re-opens the LISTEN connection after `delayMs`, backing off to every 2 s while the server is down. */
  private relistenAfter(delayMs: number): void {
    if (this.closed || this.relistenTimer) return;
    this.relistenTimer = setTimeout(() => {
      this.relistenTimer = null;
      if (this.closed) return;
      this.listen().then(
        () => this.emit('relisten'),
        () => this.relistenAfter(Math.min(2000, delayMs * 2)),
      );
    }, delayMs);
    this.relistenTimer.unref();
  }

  /** Sends `payload` on `channel` (outside any transaction). */
  async notify(channel: Channel, payload: string): Promise<void> {
    await this.query('SELECT pg_notify($1, $2)', [channel, payload]);
  }

  /** Closes the pool and the listener. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.relistenTimer) clearTimeout(this.relistenTimer);
    const listener = this.listener;
    this.listener = null;
    await Promise.allSettled([listener?.end(), this.pool.end(), this.relaxed.end()]);
  }
}

/** Splits `items` into NOTIFY payloads joined by `sep`, each under the size limit. */
export function payloads(items: readonly string[], sep = ','): string[] {
  const out: string[] = [];
  let current = '';
  for (const item of items) {
    if (current !== '' && current.length + sep.length + item.length > NOTIFY_MAX_BYTES) {
      out.push(current);
      current = '';
    }
    current = current === '' ? item : current + sep + item;
  }
  if (current !== '') out.push(current);
  return out;
}

/** A JSON array of strings from a payload; anything else is an empty list. */
export function parseList(payload: string): string[] {
  try {
    const v = JSON.parse(payload) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}
