/**
 * Checkpoints on PostgreSQL, shared by every foreman: the latest one per task in `checkpoints`
 * (PG migration 4). The claim that takes a task reads its checkpoint with it (pg-tasks-sql.ts), so an
 * attempt on any foreman resumes from the checkpoint an earlier attempt saved on another.
 */
import type { CheckpointInfo, CheckpointRows } from '../../checkpoints/checkpoint-store.js';
import type { PgDb } from './pg-db.js';

export class PgCheckpoints implements CheckpointRows {
  readonly carried = true;
  constructor(private readonly db: PgDb) {}

  /** One statement, refused when a newer attempt of the task exists (its checkpoint must not be overwritten by an older one). */
  async save(taskId: string, attempt: number, state: Buffer, savedAt: number): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `INSERT INTO checkpoints AS c (task_id, attempt, state, bytes, saved_at, saves)
       SELECT $1, $2, $3, $4, $5, 1 WHERE NOT EXISTS (SELECT 1 FROM tasks WHERE id = $1 AND attempt > $2)
       ON CONFLICT (task_id) DO UPDATE SET attempt = excluded.attempt, state = excluded.state, bytes = excluded.bytes,
         saved_at = excluded.saved_at, saves = c.saves + 1
       WHERE c.attempt <= excluded.attempt`,
      [taskId, attempt, state, state.length, savedAt],
    );
    return rowCount === 1;
  }

  /** Never read at assignment: the claim carried it. */
  load(): undefined {
    return undefined;
  }

  async info(taskId: string): Promise<CheckpointInfo | null> {
    const { rows } = await this.db.query<CheckpointInfo>(
      'SELECT attempt, bytes, saved_at AS "savedAt", saves FROM checkpoints WHERE task_id = $1',
      [taskId],
    );
    return rows[0] ?? null;
  }

  resumableIds(): string[] {
    return [];
  }

  purgeOrphans(): void {
    void this.db.query('DELETE FROM checkpoints c WHERE NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = c.task_id)').catch(() => {});
  }
}
