/**
 * WAL checkpoints off the event loop. SQLite checkpoints inside the commit that takes the WAL past
 * `wal_autocheckpoint` pages, on the foreman's thread: 10-18 ms each (the copy and two fsyncs), every
 * ~80 ms while a big import is written, the longest turns of the import. Here a thread runs the
 * checkpoint on a connection of its own while the group commit holds new writes back (they queue; the
 * event loop goes on serving). Holding them is what lets it finish: a PASSIVE checkpoint racing the
 * writer never catches up, so the WAL never restarts and grows without bound (tried twice,
 * BENCHMARKS.md); with writes held it copies every frame, and the next commit starts the WAL over.
 * How long the WAL is comes from the wal-index header (`<db>-shm`: mxFrame, a u32 in native byte
 * order at byte 16, https://www.sqlite.org/walformat.html), read after each commit: one 4-byte pread.
 * SQLite's own checkpoint stays as a net at SAFETY_NET_PAGES, and takes over should the thread fail.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import { Worker as Thread } from 'node:worker_threads';
import type { Db } from './database.js';

/** WAL frames (pages) after which the thread checkpoints: SQLite's own default threshold. */
export const CHECKPOINT_PAGES = 1000;

/** The main connection's `wal_autocheckpoint` while the thread works: only reached if checkpoints cannot keep up. */
export const SAFETY_NET_PAGES = 4 * CHECKPOINT_PAGES;

/** Where mxFrame sits in the wal-index header. */
const MX_FRAME_OFFSET = 16;

const THREAD = new URL('./wal-checkpoint-thread.mjs', import.meta.url);

/** The thread holds one connection and runs one statement: a small heap keeps its share of the foreman's memory small. */
const THREAD_LIMITS = { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 8 };

interface CheckpointReply {
  busy?: number;
  log?: number;
  checkpointed?: number;
  error?: string;
}

export class WalCheckpointer {
  private thread: Thread | null;
  private shm: number | null = null;
  private readonly frame = Buffer.alloc(4);
  /** WAL length at which the next checkpoint is due (further out while one could not finish). */
  private dueAt = CHECKPOINT_PAGES;
  /** Checkpoints the thread has finished. */
  checkpoints = 0;
  /** Called when the running checkpoint is over. */
  private done: (() => void) | null = null;

  /**
   * @param onFailure told once if the thread fails; SQLite checkpoints in the commits again from then on.
   */
  constructor(
    private readonly db: Db,
    private readonly file: string,
    sync: 'normal' | 'full',
    private readonly onFailure: (err: unknown) => void,
  ) {
    this.thread = new Thread(THREAD, { workerData: { file, sync }, resourceLimits: THREAD_LIMITS });
    this.thread.unref();
    this.thread.on('message', (reply: CheckpointReply) => this.replied(reply));
    this.thread.on('error', (err) => this.fail(err));
    this.thread.on('exit', (code) => {
      if (this.thread !== null) this.fail(new Error(`WAL checkpoint thread exited (${code})`));
    });
    db.pragma(`wal_autocheckpoint = ${SAFETY_NET_PAGES}`);
  }

  /** Whether the WAL is long enough to checkpoint now (and the thread is free to). */
  due(): boolean {
    if (this.thread === null || this.done !== null) return false;
    return this.walPages() >= this.dueAt;
  }

  /** Checkpoints on the thread; `done` runs once it is over, whatever came of it. Hold writes until then. */
  run(done: () => void): void {
    if (this.thread === null || this.done !== null) return done();
    this.done = done;
    this.thread.postMessage('checkpoint');
  }

  /** Stops the thread (its connection closed first); SQLite checkpoints in the commits from now on. */
  async close(): Promise<void> {
    const thread = this.thread;
    this.thread = null;
    this.end();
    if (this.shm !== null) closeSync(this.shm);
    this.shm = null;
    if (thread === null) return;
    const exited = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
    // Unref'd, the thread would not keep the process alive while it closes: a foreman that failed to
    // start would exit mid-close (13, an unsettled top-level await) instead of with its own code.
    thread.ref();
    thread.postMessage('close');
    await exited;
  }

  /** Pages (frames) in the WAL since it last started over; 0 when that cannot be read. */
  walPages(): number {
    try {
      this.shm ??= openSync(`${this.file}-shm`, 'r');
      if (readSync(this.shm, this.frame, 0, 4, MX_FRAME_OFFSET) < 4) return 0;
    } catch {
      return 0;
    }
    return endianness() === 'LE' ? this.frame.readUInt32LE(0) : this.frame.readUInt32BE(0);
  }

  private replied(reply: CheckpointReply): void {
    if (reply.error !== undefined) return this.fail(new Error(reply.error));
    // A frame a reader still needs was left: look again only once the WAL has grown by another step.
    const log = reply.log ?? 0;
    this.dueAt = reply.checkpointed === log ? CHECKPOINT_PAGES : log + CHECKPOINT_PAGES;
    this.checkpoints++;
    this.end();
  }

  private fail(err: unknown): void {
    const thread = this.thread;
    if (thread === null) return;
    this.thread = null;
    void thread.terminate();
    try {
      this.db.pragma(`wal_autocheckpoint = ${CHECKPOINT_PAGES}`);
    } catch {
      // The database is closing: nothing to checkpoint any more.
    }
    this.end();
    this.onFailure(err);
  }

  private end(): void {
    const done = this.done;
    this.done = null;
    done?.();
  }
}
