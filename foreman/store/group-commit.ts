/**
 * Group commit: every write queued during one event-loop turn runs in one
 * SQLite transaction, so durability costs one commit per turn rather than
 * one per change. Callers learn their change is durable when the promise
 * resolves (or `onCommit` runs), and only then acknowledge it.
 */
import type { Db } from './database.js';

type Write = () => void;

interface Pending {
  write: Write;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class GroupCommit {
  private pending: Pending[] = [];
  private scheduled = false;
  private closed = false;
  private lastCommitMs = 0;
  private commits = 0;

  constructor(
    private readonly db: Db,
    private readonly onCommitted?: (rows: number, elapsedMs: number) => void,
    private readonly onError?: (err: unknown) => void,
  ) {}

  /** Queues `write` for the next group transaction; resolves once it is committed. */
  write(write: Write): Promise<void> {
    const promise = this.closed
      ? Promise.reject(new Error('store is closed'))
      : new Promise<void>((resolve, reject) => {
          this.pending.push({ write, resolve, reject });
          if (!this.scheduled) {
            this.scheduled = true;
            setImmediate(() => this.flush());
          }
        });
    // Callers that await still see the failure; fire-and-forget writes report it here instead of crashing the process.
    promise.catch((err) => this.onError?.(err));
    return promise;
  }

  /** Commits everything queued now, synchronously. Safe to call at any time. */
  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    const started = performance.now();
    try {
      this.db.transaction(() => {
        for (const p of batch) p.write();
      })();
    } catch {
      // One bad write must not fail its neighbours: retry each alone so only the culprit sees the error.
      const failed = new Set<Pending>();
      for (const p of batch) {
        try {
          this.db.transaction(p.write)();
        } catch (err) {
          failed.add(p);
          p.reject(err);
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
    for (const p of batch) if (!failed?.has(p)) p.resolve();
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
