/**
 * Group commit: every write queued during one event-loop turn runs in one
 * SQLite transaction, so durability costs one commit per turn rather than
 * one per change. Callers learn their change is durable when the promise
 * resolves (or their `onCommitted` callback runs), and only then acknowledge it.
 */
import type { Db } from './database.js';

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

export class GroupCommit {
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
  private readonly flushSoon = () => this.flush();

  constructor(
    private readonly db: Db,
    private readonly onCommitted?: (rows: number, elapsedMs: number) => void,
    private readonly onError?: (err: unknown) => void,
  ) {}

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

  private push(p: Pending): void {
    this.pending.push(p);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushSoon);
    }
  }

  /** Commits everything queued now, synchronously. Safe to call at any time. */
  flush(): void {
    if (this.beforeFlush !== null && !this.inBeforeFlush && !this.closed) {
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
      this.db.transaction(() => {
        for (let i = 0; i < batch.length; i++) batch[i].write();
      })();
    } catch {
      // One bad write must not fail its neighbours: retry each alone so only the culprit sees the error.
      const failed = new Set<Pending>();
      for (const p of batch) {
        try {
          this.db.transaction(p.write)();
        } catch (err) {
          failed.add(p);
          if (p.reject) p.reject(err);
          else this.onError?.(err);
        }
      }
      this.finish(batch, started, failed);
      return;
    }
    this.finish(batch, started, null);
  }

  private finish(batch: Pending[], started: number, failed: Set<Pending> | null): void {
    this.lastCommitMs = performance.now() - started;
    this.commits++;
    this.onCommitted?.(batch.length, this.lastCommitMs);
    for (let i = 0; i < batch.length; i++) {
      const p = batch[i];
      if (failed?.has(p)) continue;
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
    this.flush();
    this.closed = true;
  }

  get stats(): { commits: number; lastCommitMs: number; queued: number } {
    return { commits: this.commits, lastCommitMs: this.lastCommitMs, queued: this.pending.length };
  }
}
