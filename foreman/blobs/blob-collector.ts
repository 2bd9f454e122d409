/**
 * Blob retention: a blob that no task's params or result references, and
 * that nobody uploaded for `blobRetentionMs`, is deleted. Rather than count
 * references on every submit and settle (a cost on the hot path for every
 * task, blob or not), a sweep every `blobSweepIntervalMs` lists the blobs old
 * enough to go, and only when there are some reads the tasks the store still
 * holds (retention removes old ones) for `blob:sha256:` strings, a chunk at a
 * time between event-loop turns.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { BLOB_REF_PREFIX } from '../../shared/blob-ref.js';
import type { Db } from '../store/database.js';
import type { BlobStore } from './blob-store.js';

const SCAN_CHUNK_ROWS = 500;
const PREFIX = Buffer.from(BLOB_REF_PREFIX);
const HEX = /^[0-9a-f]{64}$/;

/** Digests named anywhere in `bytes` (msgpack keeps strings as their UTF-8 bytes, so a byte search finds them). */
export function digestsIn(bytes: Buffer | null, into: Set<string>): void {
  if (!bytes) return;
  for (let i = bytes.indexOf(PREFIX); i >= 0; i = bytes.indexOf(PREFIX, i + PREFIX.length)) {
    const hex = bytes.toString('latin1', i + PREFIX.length, i + PREFIX.length + 64);
    if (HEX.test(hex)) into.add(hex);
  }
}

/** Every digest that a task (params, result) or a job (shared params) in this SQLite store references, read in chunks between turns. */
export async function referencedInSqlite(db: Db): Promise<Set<string>> {
  const tasks = db.prepare(
    `SELECT t.seq AS seq, coalesce(t.params, p.params) AS params, t.result AS result
     FROM tasks t LEFT JOIN task_params p ON p.seq = t.seq WHERE t.seq > ? ORDER BY t.seq LIMIT ?`,
  );
  const jobs = db.prepare(`SELECT rowid AS seq, params, NULL AS result FROM jobs WHERE rowid > ? AND params IS NOT NULL ORDER BY rowid LIMIT ?`);
  const found = new Set<string>();
  for (const statement of [tasks, jobs]) {
    await scanChunks((after) => statement.all(after, SCAN_CHUNK_ROWS) as ScanRow[], found);
  }
  return found;
}

/** The same over the PostgreSQL store (`--store`), for the tasks and jobs every foreman shares. */
export async function referencedInPostgres(db: { query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }> }): Promise<Set<string>> {
  const found = new Set<string>();
  const tasks = `SELECT seq, params, result FROM tasks WHERE seq > $1 ORDER BY seq LIMIT ${SCAN_CHUNK_ROWS}`;
  await scanChunks(async (after) => (await db.query(tasks, [after])).rows as ScanRow[], found);
  // Only jobs with shared params (code jobs) have any: few enough for one read.
  for (const row of (await db.query('SELECT params FROM jobs WHERE params IS NOT NULL')).rows as Array<{ params: Buffer }>) digestsIn(row.params, found);
  return found;
}

interface ScanRow {
  seq: number | string;
  params: Buffer | null;
  result: Buffer | null;
}

/** Reads rows after each chunk's last `seq` until a short chunk, collecting the digests they name. */
async function scanChunks(read: (after: number) => ScanRow[] | Promise<ScanRow[]>, found: Set<string>): Promise<void> {
  for (let after = 0; ; ) {
    const chunk = await read(after);
    for (const r of chunk) {
      digestsIn(r.params, found);
      digestsIn(r.result, found);
    }
    if (chunk.length < SCAN_CHUNK_ROWS) return;
    after = Number(chunk[chunk.length - 1].seq);
    // Between chunks, let the event loop serve everyone else.
    await nextTurn();
  }
}

export class BlobCollector {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;

  constructor(
    private readonly store: BlobStore,
    private readonly referenced: () => Promise<Set<string>>,
    private readonly options: { blobRetentionMs: number; blobSweepIntervalMs: number },
    private readonly log: { info(obj: object, msg: string): void; error(obj: object, msg: string): void },
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.sweep(Date.now()).catch((err) => this.log.error({ err }, 'blob sweep failed')), this.options.blobSweepIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Deletes unreferenced blobs untouched for the retention period; returns how many. One sweep at a time. */
  sweep(now: number): Promise<number> {
    this.running ??= this.collect(now).finally(() => (this.running = null));
    return this.running;
  }

  private async collect(now: number): Promise<number> {
    const old: string[] = [];
    for await (const b of this.store.list()) if (now - b.touchedAt > this.options.blobRetentionMs) old.push(b.digest);
    if (old.length === 0) return 0;
    const referenced = await this.referenced();
    let deleted = 0;
    for (const digest of old) {
      if (referenced.has(digest)) continue;
      await this.store.delete(digest);
      deleted++;
    }
    if (deleted > 0) this.log.info({ deleted, kept: old.length - deleted }, 'deleted blobs that no task references');
    return deleted;
  }
}
