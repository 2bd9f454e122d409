/**
 * Group commit: every write queued during one event-loop turn runs in one
 * SQLite transaction, so durability costs one commit per turn rather than
 * one per change. Callers learn their change is durable when the promise
 * resolves (or their `onCommitted` callback runs), and only then acknowledge it.
 *
 * Two kinds of failure, handled apart:
 * - the store cannot write (disk full, I/O error, read-only file, locked): nothing in the batch is
 *   lost or refused; the batch stays queued, in order, and is retried with backoff until it commits
 *   (state `unavailable` meanwhile; the owner hears of each change of state once);
 * - one write is refused on its own (a constraint): the batch runs again with each write in a
 *   savepoint of one transaction, so only that write fails and its neighbours commit.
 */
import type { TurnCommit } from '../ledger.js';
import type { Db } from './database.js';
import type { WalCheckpointer } from './wal-checkpointer.js';

type Write = () => void;

interface Pending {
  write: Write;
  /** Runs synchronously right after the commit (before any promise resolves); null when not wanted. */
  onCommitted: (() => void) | null;
  /** Settles the promise `write()` returned; null for `enqueue()`. */
  resolve: (() => void) | null;
  /** Told of a failed write instead of `onError`: `write()`'s promise, or `enqueue()`'s `onFailed`. */
  reject: ((err: unknown) => void) | null;
}

/**
 * Whether the store can take writes:
 * - `writable`: commits succeed;
 * - `unavailable`: the last commit failed for a reason outside any one write (disk full, I/O, read-only);
 *   queued writes wait and are retried with backoff.
 */
export type StoreState = 'writable' | 'unavailable';

/** First and longest wait between retries of a batch the store could not write, in ms. */
const RETRY_MIN_MS = 20;
const RETRY_MAX_MS = 2000;

/** SQLite result codes that say the store cannot write now, whatever is written (better-sqlite3 puts them in `code`). */
const UNAVAILABLE_CODE = /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN|BUSY|LOCKED|NOMEM|PROTOCOL|NOLFS)/;

/** Whether `err` means the store cannot write at all now, rather than that one write was refused. */
export function isStoreUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && UNAVAILABLE_CODE.test(code);
}

function noWrite(): void {}

export class GroupCommit implements TurnCommit {
  /**
   * Runs at the start of every flush, before the batch is taken, so its writes join this
   * transaction (the dispatcher plans its pass here). It must not call `flush()` itself.
   */
  beforeFlush: (() => void) | null = null;
  private inBeforeFlush = false;
  private pending: Pending[] = [];
  private scheduled = false;
  private closed = false;
  private lastCommitMs = 0;
  private commits = 0;
  private storeState: StoreState = 'writable';
  /**
   * Checkpoints the WAL off the event loop once it is long (wal-checkpointer.ts); null: SQLite does, in
   * the commit that passes its threshold.
   */
  checkpointer: WalCheckpointer | null = null;
  /** Set while the checkpointer runs: writes queue meanwhile, so that it can finish. */
  private checkpointing = false;
  private readonly checkpointed = () => {
    this.checkpointing = false;
    this.flush();
  };
  /** Set while waiting to retry a batch the store could not write; flushes wait for it. */
  private retryTimer: NodeJS.Timeout | null = null;
  private retries = 0;
  private outageStartedAt = 0;
  private readonly flushSoon = () => this.flush();
  /** One transaction over a batch, made once: better-sqlite3 builds four wrapper functions per `transaction()` call. */
  private readonly commitBatch: (batch: Pending[]) => void;
  private readonly retryNow = () => {
    this.retryTimer = null;
    this.flush();
  };

  /**
   * @param onStateChange told when the store becomes unavailable (with the error) and writable again (with how long it was out).
   */
  constructor(
    private readonly db: Db,
    private readonly onCommitted?: (rows: number, elapsedMs: number) => void,
    private readonly onError?: (err: unknown) => void,
    private readonly onStateChange?: (state: StoreState, detail: { err?: unknown; outageMs?: number }) => void,
  ) {
    this.commitBatch = db.transaction((batch: Pending[]) => {
      for (let i = 0; i < batch.length; i++) batch[i].write();
    });
  }

  /** Whether the store takes writes now (see `StoreState`). */
  get state(): StoreState {
    return this.storeState;
  }

  /** How long until the next retry of a store that cannot write, in ms (a hint for Retry-After); 0 when writable. */
  get retryInMs(): number {
    return this.storeState === 'writable' ? 0 : this.backoffMs();
  }

  /**
   * Queues `write` for the next group transaction; resolves once it is committed.
   * @param onCommitted runs synchronously right after the commit, before the promise resolves.
   */
  write(write: Write, onCommitted: (() => void) | null = null): Promise<void> {
    const promise = this.closed
      ? Promise.reject(new Error('store is closed'))
      : new Promise<void>((resolve, reject) => this.push({ write, onCommitted, resolve, reject }));
    // Callers that await still see the failure; fire-and-forget writes report it here instead of crashing the process.
    promise.catch((err) => this.onError?.(err));
    return promise;
  }

  /**
   * Queues `write` without a promise: the hot path's way (a promise and its
   * catch handler per task cost more than the write's bookkeeping). `onCommitted`
   * runs right after the commit; a failure skips it and goes to `onFailed`, or else to `onError`.
   */
  enqueue(write: Write, onCommitted: (() => void) | null = null, onFailed: ((err: unknown) => void) | null = null): void {
    if (this.closed) {
      const err = new Error('store is closed');
      if (onFailed) onFailed(err);
      else this.onError?.(err);
      return;
    }
    this.push({ write, onCommitted, resolve: null, reject: onFailed });
  }

  /** Runs `callback` right after everything queued so far commits (the dispatcher sends assignments then). */
  afterCommit(callback: () => void): void {
    this.enqueue(noWrite, callback);
  }

  private push(p: Pending): void {
    this.pending.push(p);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushSoon);
    }
  }

  /**
   * Commits everything queued now, synchronously. Safe to call at any time; while the store
   * cannot write, it waits for the scheduled retry instead, and while a checkpoint runs, for its end.
   */
  flush(): void {
    if (this.retryTimer !== null || this.checkpointing) return;
    // No planning while the store cannot write: the assignments could not be sent anyway.
    if (this.beforeFlush !== null && !this.inBeforeFlush && !this.closed && this.storeState === 'writable') {
      this.inBeforeFlush = true;
      try {
        this.beforeFlush();
      } catch (err) {
        this.onError?.(err);
      } finally {
        this.inBeforeFlush = false;
      }
    }
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    const started = performance.now();
    try {
      this.commitBatch(batch);
    } catch (err) {
      if (isStoreUnavailable(err)) return this.holdBack(batch, err);
      let refused: Map<Pending, unknown>;
      try {
        refused = this.commitIsolated(batch);
      } catch (err2) {
        return this.holdBack(batch, err2);
      }
      this.finish(batch, started, refused);
      return;
    }
    this.finish(batch, started, null);
    if (this.checkpointer?.due() && !this.closed) {
      this.checkpointing = true;
      this.checkpointer.run(this.checkpointed);
    }
  }

  /**
   * One write of the batch was refused: runs them again, each in a savepoint of one transaction, and
   * returns the refused ones with their errors. Throws (committing nothing) when the store cannot write.
   */
  private commitIsolated(batch: Pending[]): Map<Pending, unknown> {
    const refused = new Map<Pending, unknown>();
    this.db.transaction(() => {
      for (const p of batch) {
        try {
          this.db.transaction(p.write)();
        } catch (err) {
          if (isStoreUnavailable(err)) throw err;
          refused.set(p, err);
        }
      }
    })();
    return refused;
  }

  /** The store could not write `batch`: keep it first in line, in order, and retry after a backoff. */
  private holdBack(batch: Pending[], err: unknown): void {
    this.pending = batch.concat(this.pending);
    if (this.closed) return;
    if (this.storeState === 'writable') {
      this.storeState = 'unavailable';
      this.outageStartedAt = performance.now();
      this.onStateChange?.('unavailable', { err });
    }
    this.retries++;
    this.retryTimer = setTimeout(this.retryNow, this.backoffMs());
  }

  private backoffMs(): number {
    return Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(this.retries, 16));
  }

  private finish(batch: Pending[], started: number, refused: Map<Pending, unknown> | null): void {
    this.lastCommitMs = performance.now() - started;
    this.commits++;
    if (this.storeState === 'unavailable') {
      this.storeState = 'writable';
      this.retries = 0;
      this.onStateChange?.('writable', { outageMs: Math.round(performance.now() - this.outageStartedAt) });
    }
    this.onCommitted?.(batch.length, this.lastCommitMs);
    // In queue order, refused writes included, so a caller's undo runs before later writes' callbacks.
    for (let i = 0; i < batch.length; i++) {
      const p = batch[i];
      if (refused?.has(p)) {
        const err = refused.get(p);
        try {
          if (p.reject) p.reject(err);
          else this.onError?.(err);
        } catch (cbErr) {
          this.onError?.(cbErr);
        }
        continue;
      }
      if (p.onCommitted) {
        try {
          p.onCommitted();
        } catch (err) {
          // A callback's bug must not keep the rest of the batch from being acknowledged.
          this.onError?.(err);
        }
      }
      p.resolve?.();
    }
  }

  /** Commits what is queued and refuses further writes. Idempotent. */
  close(): void {
    // A checkpoint still running does not keep these writes out: SQLite lets them join the WAL meanwhile.
    this.checkpointing = false;
    if (this.retryTimer !== null) {
      // One last try; what the store still cannot write was never acknowledged to anyone.
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
    this.flush();
    this.closed = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const lost = this.pending.length;
    this.pending = [];
    if (lost > 0) this.onError?.(new Error(`store closed with ${lost} writes it could not commit (none was acknowledged)`));
  }

  get stats(): { commits: number; lastCommitMs: number; queued: number } {
    return { commits: this.commits, lastCommitMs: this.lastCommitMs, queued: this.pending.length };
  }
}
