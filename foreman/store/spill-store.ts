/**
 * The spill table's statements: queued tasks held only in the store, past
 * the foreman's in-memory limit (see foreman/spill.ts for the policy).
 */
import type { LiveTask } from '../task-types.js';
import type { Db } from './database.js';
import { LIVE_COLUMNS, toLiveTask, type LiveColumns } from './task-rows.js';
import { NOT_STAGED } from './staged-submissions.js';

/**
 * A spilled task's columns and its params when they are small enough to live in the task row; large
 * ones (in task_params) stay in the store until the task is assigned, so a page-in costs memory by
 * count, not by params size.
 */
const SPILLED = `SELECT ${LIVE_COLUMNS.replace(/(\w+)/g, 't.$1')}, t.params FROM spill s JOIN tasks t ON t.seq = s.seq`;

/** A spilled task cancelled in the store, as the ledger announces it. */
export interface CancelledSpill {
  seq: number;
  id: string;
  key: string | null;
  type: string;
  priority: number;
  attempt: number;
}

export class SpillStore {
  private readonly s;

  constructor(private readonly db: Db) {
    this.s = {
      insert: db.prepare(`INSERT INTO spill (seq, type, priority, job_id) VALUES (?, ?, ?, ?)`),
      remove: db.prepare(`DELETE FROM spill WHERE seq = ?`),
      has: db.prepare(`SELECT 1 FROM spill WHERE seq = ?`).pluck(),
      ofType: db.prepare(`${SPILLED} WHERE s.type = ? AND ${NOT_STAGED} ORDER BY s.priority DESC, s.seq LIMIT ?`).raw(true),
      countsByType: db.prepare(`SELECT type, priority, count(*) AS n FROM spill GROUP BY type, priority`),
      countsByJob: db.prepare(`SELECT job_id AS jobId, count(*) AS n FROM spill WHERE job_id IS NOT NULL GROUP BY job_id`),
      takeOfJob: db.prepare(`DELETE FROM spill WHERE seq IN (SELECT seq FROM spill WHERE job_id = ? LIMIT ?) RETURNING seq, type, priority`),
      cancelQueued: db.prepare(
        `UPDATE tasks SET state = 'cancelled', error = ?, finished_at = ? WHERE seq = ? AND state = 'queued' RETURNING id, idem_key AS key, attempt`,
      ),
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

  /** Up to `limit` spilled tasks of `type` in dispatch order (priority, then seq), with their params when small (see SPILLED). */
  ofType(type: string, limit: number): LiveTask[] {
    return (this.s.ofType.all(type, limit) as LiveColumns[]).map(toLiveTask);
  }

  /**
   * Cancels up to `limit` spilled tasks of a job in the store, without reading them into memory
   * (inside a GroupCommit write). Returns them; fewer than `limit` means none is left.
   */
  cancelOfJob(jobId: string, limit: number, now: number, error: string): CancelledSpill[] {
    const out: CancelledSpill[] = [];
    for (const s of this.s.takeOfJob.all(jobId, limit) as Array<{ seq: number; type: string; priority: number }>) {
      const t = this.s.cancelQueued.get(error, now, s.seq) as { id: string; key: string | null; attempt: number } | undefined;
      if (t) out.push({ seq: s.seq, id: t.id, key: t.key, type: s.type, priority: s.priority, attempt: t.attempt });
    }
    return out;
  }

  /** Spilled tasks counted by type and priority, and by job. */
  counts(): { byType: Array<{ type: string; priority: number; n: number }>; byJob: Array<{ jobId: string; n: number }> } {
    return {
      byType: this.s.countsByType.all() as Array<{ type: string; priority: number; n: number }>,
      byJob: this.s.countsByJob.all() as Array<{ jobId: string; n: number }>,
    };
  }
}
