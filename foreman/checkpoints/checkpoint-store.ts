/** The checkpoints table (migration 5): one row per task that saved a checkpoint, holding its latest. */
import type { Db } from '../store/database.js';
import type { GroupCommit } from '../store/group-commit.js';

/** What GET /tasks/:id shows of a task's latest checkpoint (the state itself is for the next attempt only). */
export interface CheckpointInfo {
  attempt: number;
  bytes: number;
  savedAt: number;
  /** Checkpoints saved over the task's life. */
  saves: number;
}

export class CheckpointStore {
  private readonly s;

  constructor(db: Db) {
    this.s = {
      upsert: db.prepare(
        `INSERT INTO checkpoints (task_id, attempt, state, bytes, saved_at, saves) VALUES (?, ?, ?, ?, ?, 1)
         ON CONFLICT (task_id) DO UPDATE SET attempt = excluded.attempt, state = excluded.state, bytes = excluded.bytes,
           saved_at = excluded.saved_at, saves = saves + 1`,
      ),
      state: db.prepare(`SELECT state, attempt, saved_at FROM checkpoints WHERE task_id = ?`),
      info: db.prepare(`SELECT attempt, bytes, saved_at AS savedAt, saves FROM checkpoints WHERE task_id = ?`),
      // Tasks that may run again: any but those that succeeded (a failed or cancelled one can be retried).
      resumable: db.prepare(
        `SELECT c.task_id FROM checkpoints c JOIN tasks t ON t.id = c.task_id WHERE t.finished_at IS NULL OR t.state != 'succeeded'`,
      ).pluck(),
      purgeOrphans: db.prepare(`DELETE FROM checkpoints WHERE task_id NOT IN (SELECT id FROM tasks)`),
    };
  }

  /** Writes a task's latest checkpoint; call inside a GroupCommit write. */
  save(taskId: string, attempt: number, state: Buffer, savedAt: number): void {
    this.s.upsert.run(taskId, attempt, state, state.length, savedAt);
  }

  /** The latest checkpoint's encoded state, or undefined. */
  load(taskId: string): { state: Buffer; attempt: number; saved_at: number } | undefined {
    return this.s.state.get(taskId) as { state: Buffer; attempt: number; saved_at: number } | undefined;
  }

  info(taskId: string): CheckpointInfo | null {
    return (this.s.info.get(taskId) as CheckpointInfo | undefined) ?? null;
  }

  /** Ids of tasks with a checkpoint that may still run. */
  resumableIds(): string[] {
    return this.s.resumable.all() as string[];
  }

  /** Deletes the checkpoints of tasks that retention removed; returns how many. */
  purgeOrphans(): number {
    return this.s.purgeOrphans.run().changes;
  }
}

/**
 * Where checkpoints are kept: this SQLite file (SqliteCheckpointRows), or PostgreSQL shared by every
 * foreman (store/postgres/pg-checkpoints.ts), where a claim reads a task's checkpoint with the task.
 */
export interface CheckpointRows {
  /** True when tasks carry their checkpoint in memory (`LiveTask.storedCheckpoint`) instead of `load` reading it. */
  readonly carried: boolean;
  /** Writes a checkpoint durably: true once committed, false when a newer attempt of the task exists. Rejects when the write failed. */
  save(taskId: string, attempt: number, state: Buffer, savedAt: number): Promise<boolean>;
  /** The latest checkpoint, read at assignment; undefined where the task carries it (PostgreSQL). */
  load(taskId: string): { state: Buffer; attempt: number; saved_at: number } | undefined;
  info(taskId: string): CheckpointInfo | null | Promise<CheckpointInfo | null>;
  /** Tasks with a checkpoint that may still run, for `load` to be asked about only those. */
  resumableIds(): string[];
  purgeOrphans(): unknown;
}

/** Checkpoints in the foreman's SQLite file, written by group commit. */
export class SqliteCheckpointRows implements CheckpointRows {
  readonly carried = false;
  private readonly store: CheckpointStore;

  constructor(db: Db, private readonly commit: GroupCommit) {
    this.store = new CheckpointStore(db);
  }

  save(taskId: string, attempt: number, state: Buffer, savedAt: number): Promise<boolean> {
    return new Promise((resolve, reject) =>
      this.commit.enqueue(() => this.store.save(taskId, attempt, state, savedAt), () => resolve(true), (err: unknown) => reject(err)),
    );
  }

  load(taskId: string) {
    return this.store.load(taskId);
  }

  info(taskId: string): CheckpointInfo | null {
    return this.store.info(taskId);
  }

  resumableIds(): string[] {
    return this.store.resumableIds();
  }

  purgeOrphans(): void {
    void this.commit.write(() => this.store.purgeOrphans());
  }
}
