/**
 * Tasks by state and the number of jobs in the whole store (every foreman writes there), for /stats,
 * /metrics and the dashboard. Counted once a second only while someone reads them (a read within the
 * last 30 s), not kept in step with every transition, which would make one counter row the hottest
 * row in the database, and not counted on a timer regardless: counting a large table is the most
 * expensive read there is (a scan of every row; ≈ 56 ms with 50,000 rows, on the database the
 * dispatch shares), and a foreman nobody watches need not count at all. A read after a quiet spell
 * returns the last figures and starts a count at once.
 */
import { emptyCounts } from '../../task-tally.js';
import { TASK_STATES, type TaskState } from '../../task-types.js';
import type { PgDb } from './pg-db.js';
import type { PgReads } from './pg-reads.js';

/** How long after the last read the totals are still counted every second. */
const WATCHED_MS = 30_000;

interface Totals {
  counts: Record<TaskState, number>;
  jobs: number;
  oldestQueuedAt: number | null;
}

/** Tasks by state in the whole store, the number of jobs, and the oldest queued task's submission time. */
async function readTotals(db: PgDb): Promise<Totals> {
  const { rows } = await db.query<{ state: string | null; n: number; jobs: number; oldest: number | null }>(
    `SELECT s.state, s.n, (SELECT count(*) FROM jobs) AS jobs,
       (SELECT min(created_at) FROM tasks WHERE state IN ('queued', 'claimed') AND finished_at IS NULL) AS oldest
     FROM (SELECT CASE WHEN state = 'claimed' THEN 'queued' ELSE state END AS state, count(*) AS n FROM tasks GROUP BY 1) s
     RIGHT JOIN (SELECT 1) one ON true`,
  );
  const counts = emptyCounts();
  for (const r of rows) if (r.state !== null && TASK_STATES.includes(r.state as TaskState)) counts[r.state as TaskState] = Number(r.n);
  return { counts, jobs: Number(rows[0]?.jobs ?? 0), oldestQueuedAt: rows[0]?.oldest ?? null };
}

export class PgTotals {
  private readonly byState = emptyCounts();
  private jobs = 0;
  private countedAt = 0;
  private wantedAt = 0;
  private counting = false;

  /** @param reads gets the oldest queued task's time with each count. */
  constructor(
    private readonly db: PgDb,
    private readonly reads: PgReads,
  ) {}

  get counts(): Record<TaskState, number> {
    this.wanted();
    return this.byState;
  }

  get jobCount(): number {
    this.wanted();
    return this.jobs;
  }

  /** Called every second: counts again while the figures are being read. */
  tick(): void {
    if (Date.now() - this.wantedAt < WATCHED_MS) void this.refresh();
  }

  private wanted(): void {
    this.wantedAt = Date.now();
    if (Date.now() - this.countedAt >= 1000) void this.refresh();
  }

  async refresh(): Promise<void> {
    if (this.counting) return;
    this.counting = true;
    this.countedAt = Date.now();
    try {
      const totals = await readTotals(this.db);
      Object.assign(this.byState, totals.counts);
      this.jobs = totals.jobs;
      this.reads.oldest = totals.oldestQueuedAt;
    } catch {
      // The database is away; the counters keep their last values and the turn reports the outage.
    } finally {
      this.counting = false;
    }
  }
}
