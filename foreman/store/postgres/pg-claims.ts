/**
 * How work reaches a foreman over PostgreSQL: claims. After each dispatch pass the dispatcher reports
 * free slots by type; one claim (one statement) fetches that many ready tasks, best first, into this
 * foreman's queues, and never more than its free slots in all, so that claimed tasks wait for nobody
 * else. A type found empty is not asked for again until work of the type is announced (NOTIFY on
 * submission, retry or requeue) or the slow fallback poll comes round. Claims that no worker took
 * within a poll interval go back to the shared queue.
 */
import type { TaskQueues } from '../../task-queues.js';
import type { LiveTask } from '../../task-types.js';
import type { PgDb } from './pg-db.js';
import { claimReady, jobParamsOf, unclaim } from './pg-tasks-sql.js';

/** What a claim under fleet-wide type limits got, and when each type it held back may have room again (ms). */
export interface LimitedClaim {
  tasks: LiveTask[];
  wakeInMs: Map<string, number>;
}

/** Claims of the types with fleet-wide limits or a pause (pg-limited-claim.ts). */
export interface ClaimLimits {
  covers(type: string): boolean;
  /** `workers`: as for claimReady (quorum replicas none of them may run are skipped). */
  claim(want: Map<string, number>, total: number, now: number, workers: readonly string[] | null): Promise<LimitedClaim>;
}

export class PgClaims {
  /** Types with nothing claimable as of the last claim, until work of the type is announced. */
  private readonly drained = new Set<string>();
  /** When each task held here was claimed. */
  private readonly claimedAt = new Map<LiveTask, number>();
  /** Shared params of the jobs whose tasks were claimed (they never change). */
  readonly jobParams = new Map<string, Record<string, unknown> | null>();
  /** Readies claimed quorum replicas (their exclusions) before any is dispatched; set by the quorum room. */
  prepare: ((tasks: LiveTask[]) => Promise<void>) | null = null;
  /** This foreman's workers, so that a claim skips quorum replicas none of them may run; set by the quorum room. */
  workers: (() => string[]) | null = null;
  private claiming = false;
  /** Types announced while a claim was in flight: that claim may have looked before their work committed. */
  private readonly announcedMidClaim = new Set<string>();
  /** Seqs of idle claims whose hand-back failed (database away): tried again at the next poll. */
  private handBack: number[] = [];
  private again: { free: Map<string, number>; slots: number } | null = null;
  /** Set when fleet-wide type limits are in use: a claim wanting a type they cover goes through them. */
  limits: ClaimLimits | null = null;

  constructor(
    private readonly db: PgDb,
    private readonly foremanId: string,
    private readonly live: Map<string, LiveTask>,
    private readonly queues: TaskQueues,
    private readonly pollIntervalMs: number,
    private readonly onClaimed: () => void,
    private readonly onFailed: (err: unknown) => void,
  ) {}

  /** Claims for free slots (one claim in flight at a time; a pass meanwhile is served when it returns). */
  refill(freeByType: Map<string, number>, freeSlots: number): void {
    if (this.claiming) {
      this.again = { free: freeByType, slots: freeSlots };
      return;
    }
    const total = freeSlots - this.queues.size;
    if (total <= 0) return;
    const want = new Map<string, number>();
    for (const [type, free] of freeByType) {
      const n = Math.min(total, free - this.queues.hotCount(type));
      if (n > 0 && !this.drained.has(type)) want.set(type, n);
    }
    if (want.size === 0) return;
    this.claiming = true;
    const now = Date.now();
    this.claim(want, total, now).then(
      (tasks) => {
        this.claiming = false;
        const got = new Map<string, number>();
        for (const t of tasks) {
          got.set(t.type, (got.get(t.type) ?? 0) + 1);
          this.live.set(t.id, t);
          this.queues.add(t, now);
          this.claimedAt.set(t, now);
        }
        for (const [type, n] of want) {
          if ((got.get(type) ?? 0) < n && !this.announcedMidClaim.has(type)) this.drained.add(type);
        }
        const fresh = this.announcedMidClaim.size > 0;
        this.announcedMidClaim.clear();
        const again = this.again;
        this.again = null;
        if (tasks.length > 0 || fresh) this.onClaimed();
        else if (again) this.refill(again.free, again.slots);
      },
      (err) => {
        this.claiming = false;
        this.again = null;
        this.announcedMidClaim.clear();
        this.onFailed(err);
      },
    );
  }

  /** Claims, then reads the shared params of jobs not seen yet (assignments merge them in) and readies replicas. */
  private async claim(want: Map<string, number>, total: number, now: number): Promise<LiveTask[]> {
    const limits = this.limits;
    let tasks: LiveTask[];
    if (limits && [...want.keys()].some((type) => limits.covers(type))) {
      const limited = await limits.claim(want, total, now, this.workers?.() ?? null);
      tasks = limited.tasks;
      // At least 1 ms: the type is marked drained after this returns, and the wake must come after that.
      for (const [type, ms] of limited.wakeInMs) this.announced([type], Math.max(1, ms));
    } else {
      tasks = await claimReady(this.db, this.foremanId, want, total, now, this.workers?.() ?? null);
    }
    const jobs = [...new Set(tasks.map((t) => t.jobId).filter((j): j is string => j !== null && !this.jobParams.has(j)))];
    try {
      if (jobs.length > 0) for (const [id, p] of await jobParamsOf(this.db, jobs)) this.jobParams.set(id, p);
      if (this.prepare && tasks.some((t) => t.quorumParent)) await this.prepare(tasks);
    } catch (err) {
      // Claimed but not assignable without their job's params (or a replica without its exclusion): back they go.
      await unclaim(this.db, this.foremanId, tasks.map((t) => t.seq)).catch(() => {});
      throw err;
    }
    return tasks;
  }

  /** A claimed task was handed out. */
  handedOut(task: LiveTask): void {
    this.claimedAt.delete(task);
  }

  /** Work of these types may be claimable (now, or in `delayMs`); `wake` false when the caller dispatches itself. */
  announced(types: Iterable<string>, delayMs = 0, wake = true): void {
    const list = [...types];
    if (delayMs > 0) {
      setTimeout(() => this.announced(list), delayMs).unref();
      return;
    }
    let any = false;
    for (const type of list) {
      if (this.claiming) this.announcedMidClaim.add(type);
      any = this.drained.delete(type) || any;
    }
    if (any && wake) this.onClaimed();
  }

  /** Forgets what was found empty and looks again (fallback poll; after a missed notification). */
  wake(): void {
    this.drained.clear();
    this.onClaimed();
  }

  /** Gives claims held longer than a poll interval, that no worker took, back to the shared queue. */
  async returnIdle(): Promise<void> {
    const cutoff = Date.now() - this.pollIntervalMs;
    for (const [task, at] of this.claimedAt) {
      if (at >= cutoff || task.state !== 'queued') continue;
      this.claimedAt.delete(task);
      this.queues.remove(task);
      this.live.delete(task.id);
      task.state = 'settled';
      this.handBack.push(task.seq);
    }
    if (this.handBack.length === 0) return;
    const seqs = this.handBack;
    this.handBack = [];
    try {
      const types = await unclaim(this.db, this.foremanId, seqs);
      if (types.length > 0) await this.db.notify('gaffer_work', JSON.stringify([...new Set(types)]));
    } catch {
      // Still claimed by us in the store, and held by nobody here: try again at the next poll.
      this.handBack.push(...seqs);
    }
  }

  clear(): void {
    this.claimedAt.clear();
    this.drained.clear();
  }
}
