/**
 * Staged submissions: a big submission is written in slices of a few hundred tasks, one group commit
 * each, so that the foreman keeps serving in between. Until its last slice commits, its seq range is
 * listed here; reads leave staged tasks out, and a restart deletes them (the submission was never
 * acknowledged, so the client sends it again). Its job row, if it creates one, is written with the
 * last slice, together with the row's removal from this table: the job appears whole or not at all.
 */
import type { Db } from './database.js';

/** SQL condition: task row `t` is not part of a staged submission. */
export const NOT_STAGED = 'NOT EXISTS (SELECT 1 FROM staged_submissions s WHERE s.first_seq <= t.seq AND s.last_seq >= t.seq)';

export class StagedSubmissions {
  private readonly s;
  /** `discard` as one transaction (a savepoint inside a group commit): a crash part-way leaves the staged row to retry. */
  private readonly discardAll: (firstSeq?: number) => number;

  constructor(db: Db) {
    this.s = {
      stage: db.prepare(`INSERT INTO staged_submissions (first_seq, last_seq) VALUES (?, ?)`),
      unstage: db.prepare(`DELETE FROM staged_submissions WHERE first_seq = ?`),
      all: db.prepare(`SELECT first_seq AS firstSeq, last_seq AS lastSeq FROM staged_submissions`),
      dropTasks: db.prepare(`DELETE FROM tasks WHERE seq BETWEEN ? AND ?`),
      dropParams: db.prepare(`DELETE FROM task_params WHERE seq BETWEEN ? AND ?`),
      dropSpill: db.prepare(`DELETE FROM spill WHERE seq BETWEEN ? AND ?`),
    };
    this.discardAll = db.transaction((firstSeq?: number) => this.drop(firstSeq));
  }

  /** Marks seqs `firstSeq`..`lastSeq` as a submission being written (in the transaction of its first slice). */
  stage(firstSeq: number, lastSeq: number): void {
    this.s.stage.run(firstSeq, lastSeq);
  }

  /** The submission starting at `firstSeq` is whole (in the transaction of its last slice). */
  unstage(firstSeq: number): void {
    this.s.unstage.run(firstSeq);
  }

  /**
   * Deletes what was written of the submission starting at `firstSeq`, or of every staged one when
   * omitted (at start, before anything is loaded); returns how many task rows went.
   */
  discard(firstSeq?: number): number {
    return this.discardAll(firstSeq);
  }

  private drop(firstSeq: number | undefined): number {
    const all = this.s.all.all() as Array<{ firstSeq: number; lastSeq: number }>;
    let tasks = 0;
    for (const { firstSeq: first, lastSeq: last } of all) {
      if (firstSeq !== undefined && first !== firstSeq) continue;
      tasks += this.s.dropTasks.run(first, last).changes;
      this.s.dropParams.run(first, last);
      this.s.dropSpill.run(first, last);
      this.s.unstage.run(first);
    }
    return tasks;
  }
}
