/**
 * The spill table's statements: queued tasks held only in the store, past
 * the foreman's in-memory limit (see foreman/spill.ts for the policy).
 */
import type { LiveTask } from '../task-types.js';
import type { Db } from './database.js';
import { LIVE_COLUMNS, toLiveTask, type LiveColumns } from './task-rows.js';

/** A spilled task's columns and params (wherever they live), joined from its spill entry. */
const SPILLED = `SELECT ${LIVE_COLUMNS.replace(/(\w+)/g, 't.$1')}, coalesce(t.params, p.params)
  FROM spill s JOIN tasks t ON t.seq = s.seq LEFT JOIN task_params p ON p.seq = t.seq`;

export class SpillStore {
  private readonly s;

  constructor(private readonly db: Db) {
    this.s = {
      insert: db.prepare(`INSERT INTO spill (seq, type, priority, job_id) VALUES (?, ?, ?, ?)`),
      remove: db.prepare(`DELETE FROM spill WHERE seq = ?`),
      has: db.prepare(`SELECT 1 FROM spill WHERE seq = ?`).pluck(),
      ofType: db.prepare(`${SPILLED} WHERE s.type = ? ORDER BY s.priority DESC, s.seq LIMIT ?`).raw(true),
      ofJob: db.prepare(`${SPILLED} WHERE s.job_id = ?`).raw(true),
      countsByType: db.prepare(`SELECT type, priority, count(*) AS n FROM spill GROUP BY type, priority`),
      countsByJob: db.prepare(`SELECT job_id AS jobId, count(*) AS n FROM spill WHERE job_id IS NOT NULL GROUP BY job_id`),
    };
  }

  /** Marks a queued task as spilled (inside the transaction that inserts it). */
  add(seq: number, type: string, priority: number, jobId: string | null): void {
    this.s.insert.run(seq, type, priority, jobId);
  }

  /**
   * Forgets the spill entries of tasks now held in memory, in a transaction of its own, at once: the
   * next page-in must not read them again, and a crash after it only means they load as in-memory tasks.
   */
  remove(seqs: readonly number[]): void {
    this.db.transaction(() => {
      for (const seq of seqs) this.s.remove.run(seq);
    })();
  }

  has(seq: number): boolean {
    return this.s.has.get(seq) !== undefined;
  }

  /** Up to `limit` spilled tasks of `type` in dispatch order (priority, then seq), with their params. */
  ofType(type: string, limit: number): LiveTask[] {
    return (this.s.ofType.all(type, limit) as LiveColumns[]).map(toLiveTask);
  }

  /** Every spilled task of a job, with its params. */
  ofJob(jobId: string): LiveTask[] {
    return (this.s.ofJob.all(jobId) as LiveColumns[]).map(toLiveTask);
  }

  /** Spilled tasks counted by type and priority, and by job. */
  counts(): { byType: Array<{ type: string; priority: number; n: number }>; byJob: Array<{ jobId: string; n: number }> } {
    return {
      byType: this.s.countsByType.all() as Array<{ type: string; priority: number; n: number }>,
      byJob: this.s.countsByJob.all() as Array<{ jobId: string; n: number }>,
    };
  }
}
