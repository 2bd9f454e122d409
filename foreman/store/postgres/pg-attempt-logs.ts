/**
 * Attempts' ctx.log() lines on PostgreSQL (the `attempt_logs` table), so GET /tasks/:id on any
 * foreman shows them, whichever foreman's worker ran the attempt. A save is written at once, beside
 * the result it came with; a read on the foreman that took the lines waits for their write first,
 * so a task seen settled there shows them.
 */
import { keptLines, type AttemptLogLines, type AttemptLogStore } from '../../attempt-logs.js';
import type { PgDb } from './pg-db.js';

type Log = { warn(obj: object, msg: string): void };

export class PgAttemptLogs implements AttemptLogStore {
  /** Writes in flight, by task id. */
  private readonly pending = new Map<string, Promise<unknown>>();

  constructor(
    private readonly db: PgDb,
    private readonly log: Log,
  ) {}

  save(taskId: string, attempt: number, workerId: string | null, lines: readonly string[], now = Date.now()): void {
    const write = this.db
      .query(
        `INSERT INTO attempt_logs (task_id, attempt, worker_id, created_at, lines) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (task_id, attempt) DO UPDATE SET worker_id = excluded.worker_id, created_at = excluded.created_at, lines = excluded.lines`,
        [taskId, attempt, workerId, now, JSON.stringify(keptLines(lines))],
      )
      .catch((err) => this.log.warn({ err, taskId, attempt }, 'could not store the lines of an attempt'))
      .finally(() => {
        if (this.pending.get(taskId) === write) this.pending.delete(taskId);
      });
    this.pending.set(taskId, write);
  }

  async forTask(taskId: string): Promise<AttemptLogLines[]> {
    await this.pending.get(taskId);
    const { rows } = await this.db.query<{ attempt: number; worker_id: string | null; lines: string }>(
      'SELECT attempt, worker_id, lines FROM attempt_logs WHERE task_id = $1 ORDER BY attempt',
      [taskId],
    );
    return rows.map((r) => ({ attempt: r.attempt, workerId: r.worker_id, lines: JSON.parse(r.lines) as string[] }));
  }

  async purgeBefore(cutoff: number): Promise<number> {
    try {
      return (await this.db.query('DELETE FROM attempt_logs WHERE created_at < $1', [cutoff])).rowCount ?? 0;
    } catch {
      return 0; // The database is away; the next purge catches up.
    }
  }
}
