/**
 * What a handler said: the last ctx.log() lines of each attempt, sent by the worker with the attempt's result
 * and kept here (in this foreman's SQLite file), so `GET /tasks/:id` can show them for a worker the user cannot
 * reach. Lines are taken as they arrive, before the result is fenced: a late attempt's lines are still that
 * attempt's. Bounded per attempt (the worker's taskLogMaxLines/taskLogMaxBytes, and MAX_STORED_CHARS here), and
 * deleted with the tasks they belong to by age (retentionMs).
 */
import type { Db } from './store/database.js';

/** Most characters of one attempt's lines stored, whatever a worker sends: the newest lines are kept. */
const MAX_STORED_CHARS = 64 * 1024;

/** One attempt's lines. */
export interface AttemptLogLines {
  attempt: number;
  workerId: string | null;
  lines: string[];
}

/** Where attempts' lines are kept: this SQLite file (AttemptLogs), or PostgreSQL shared by every foreman (PgAttemptLogs). */
export interface AttemptLogStore {
  save(taskId: string, attempt: number, workerId: string | null, lines: readonly string[]): void;
  forTask(taskId: string): AttemptLogLines[] | Promise<AttemptLogLines[]>;
  purgeBefore(cutoff: number): unknown;
}

/** The newest lines of `lines` that fit in MAX_STORED_CHARS, as stored. */
export function keptLines(lines: readonly string[]): string[] {
  const kept: string[] = [];
  let chars = 0;
  for (let i = lines.length - 1; i >= 0 && chars + lines[i].length <= MAX_STORED_CHARS; i--) {
    kept.unshift(lines[i]);
    chars += lines[i].length;
  }
  return kept;
}

export class AttemptLogs implements AttemptLogStore {
  private readonly saveStmt;
  private readonly forTaskStmt;
  private readonly purgeStmt;

  constructor(db: Db) {
    this.saveStmt = db.prepare<[string, number, string | null, number, string]>(
      'INSERT OR REPLACE INTO attempt_logs (task_id, attempt, worker_id, created_at, lines) VALUES (?, ?, ?, ?, ?)',
    );
    this.forTaskStmt = db.prepare<[string], { attempt: number; worker_id: string | null; lines: string }>(
      'SELECT attempt, worker_id, lines FROM attempt_logs WHERE task_id = ? ORDER BY attempt',
    );
    this.purgeStmt = db.prepare<[number]>('DELETE FROM attempt_logs WHERE created_at < ?');
  }

  /** Stores an attempt's lines (replacing any sent before for the same attempt). */
  save(taskId: string, attempt: number, workerId: string | null, lines: readonly string[], now = Date.now()): void {
    this.saveStmt.run(taskId, attempt, workerId, now, JSON.stringify(keptLines(lines)));
  }

  /** Every attempt's lines for a task, oldest attempt first. */
  forTask(taskId: string): AttemptLogLines[] {
    return this.forTaskStmt.all(taskId).map((r) => ({ attempt: r.attempt, workerId: r.worker_id, lines: JSON.parse(r.lines) as string[] }));
  }

  /** Deletes lines stored before `cutoff` (ms since the epoch); returns how many attempts' lines went. */
  purgeBefore(cutoff: number): number {
    return this.purgeStmt.run(cutoff).changes;
  }
}
