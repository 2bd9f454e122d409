/**
 * Job-wide and settled-task operations of the ledger: closing and cancelling a job, and retrying
 * settled tasks. Each reads and then acts across a commit, so each is written to hold whatever
 * lands in between:
 * - a close or cancel first stops the job taking tasks, then waits for the additions already past
 *   that check, so its 2xx covers every task the job has; the job reads closed/cancelled only once
 *   that is durable (a result stream never ends on a close a crash would undo);
 * - spilled tasks of a cancelled job are cancelled in the store, in bounded batches, never read
 *   into memory;
 * - a retry requeues only rows the store still holds as failed or cancelled when its write runs
 *   (a purge or another retry may come first), reads no params or results, and keeps the
 *   in-memory backlog within `hotQueueMax` (the rest waits spilled).
 */
import { errorText } from './store/task-rows.js';
import type { GroupCommit } from './store/group-commit.js';
import type { RetryCandidate, TaskFilter, TaskStore } from './store/task-store.js';
import { CANCELLED_QUEUED } from './task-outcome.js';
import type { TaskQueues } from './task-queues.js';
import type { JobState, TaskTally } from './task-tally.js';
import { isHeld, type LiveTask, type TaskState } from './task-types.js';
import type { SettledTask } from './task-manager.js';

/** Rows per store batch: bounds the memory and the event-loop time of one step of a large job. */
const BATCH = 1000;

/** What of the ledger these operations use. */
export interface LedgerParts {
  store: TaskStore;
  commit: GroupCommit;
  tally: TaskTally;
  queues: TaskQueues;
  live: Map<string, LiveTask>;
  hotQueueMax: number;
  /** Cancels tasks held in memory (queued: at once; running: by a pushed cancel); resolves when durable. */
  cancelLive(tasks: LiveTask[], now: number): Promise<unknown>;
  onSettled(task: SettledTask): void;
  onReady(): void;
}

export class JobControl {
  constructor(private readonly l: LedgerParts) {}

  /** Stops a job from taking more tasks; it completes when its tasks settle. Null for an unknown job. */
  async closeJob(jobId: string): Promise<JobState | null> {
    const job = this.l.tally.jobs.get(jobId);
    if (!job) return null;
    await this.stopAdding(job);
    if (job.closedAt === null) {
      const now = Date.now();
      await this.l.commit.write(() => this.l.store.closeJob(jobId, now));
      job.closedAt ??= now;
    }
    return job;
  }

  /** Cancels every unsettled task of a job and marks it cancelled. Returns how many tasks were affected, or null. */
  async cancelJob(jobId: string): Promise<number | null> {
    const job = this.l.tally.jobs.get(jobId);
    if (!job) return null;
    await this.stopAdding(job);
    const now = Date.now();
    let n = 0;
    for (let batch = BATCH; batch === BATCH; ) {
      const gone = await this.cancelSpilledBatch(jobId, now);
      batch = gone;
      n += gone;
    }
    // Last, so it also covers tasks paged in from the spill while the batches ran.
    const tasks: LiveTask[] = [];
    for (const t of this.l.live.values()) if (t.jobId === jobId) tasks.push(t);
    n += tasks.length;
    await Promise.all([
      this.l.cancelLive(tasks, now),
      this.l.commit.write(() => {
        this.l.store.cancelJob(jobId, now);
        this.l.store.closeJob(jobId, now);
      }),
    ]);
    job.cancelledAt ??= now;
    job.closedAt ??= now;
    return n;
  }

  /** Requeues a failed or cancelled task with a fresh failure budget. Returns the state after, or null if unknown. */
  async retry(id: string): Promise<TaskState | null> {
    // Its outcome may be decided but not yet written: read the row after every write queued before this request.
    await this.l.commit.write(() => {});
    const row = this.l.store.retryCandidate(id);
    if (!row) return null;
    if (this.l.live.has(id) || (row.state !== 'failed' && row.state !== 'cancelled')) return row.state;
    const requeued = await this.requeue([row]);
    return requeued > 0 ? 'queued' : (this.l.store.retryCandidate(id)?.state ?? null);
  }

  /** Requeues every failed task of a job, in batches; returns how many, or null for an unknown job. */
  async retryFailed(jobId: string): Promise<number | null> {
    if (!this.l.tally.jobs.has(jobId)) return null;
    let n = 0;
    for (let after = 0; ; ) {
      const rows = this.l.store.retryCandidates(jobId, after, BATCH);
      if (rows.length === 0) break;
      after = rows[rows.length - 1].seq;
      n += await this.requeue(rows.filter((r) => !this.l.live.has(r.id)));
      if (rows.length < BATCH) break;
    }
    return n;
  }

  /** Requeues every task matching `filter` (failed or cancelled ones), a page at a time; returns how many. */
  async retryWhere(filter: TaskFilter & { state: 'failed' | 'cancelled' }): Promise<number> {
    let n = 0;
    // A requeued task leaves the filter's state, and the seq cursor moves past it anyway.
    for (let after = 0; ; ) {
      const rows = this.l.store.searchRetryCandidates(filter, after, BATCH);
      if (rows.length === 0) break;
      after = rows[rows.length - 1].seq;
      n += await this.requeue(rows.filter((r) => !this.l.live.has(r.id)));
      if (rows.length < BATCH) break;
    }
    return n;
  }

  /** Refuses new tasks for the job from now on and waits for the additions already accepted to be in the ledger. */
  private async stopAdding(job: JobState): Promise<void> {
    job.closing = true;
    while (job.adding.size > 0) await Promise.allSettled([...job.adding]);
  }

  /** Cancels one batch of a job's spilled tasks in the store; resolves with how many. */
  private async cancelSpilledBatch(jobId: string, now: number): Promise<number> {
    const error = CANCELLED_QUEUED;
    let gone: ReturnType<TaskStore['spill']['cancelOfJob']> = [];
    await this.l.commit.write(() => {
      gone = this.l.store.spill.cancelOfJob(jobId, BATCH, now, errorText(error) as string);
    });
    for (const t of gone) {
      this.l.queues.dropColdOne(t.type, t.priority);
      this.l.tally.move(jobId, 'queued', 'cancelled', t.id);
      const alsoJobs = this.l.tally.links.get(t.id);
      this.l.tally.durable(jobId, 1, t.id);
      this.l.onSettled({
        id: t.id, jobId, key: t.key, type: t.type, state: 'cancelled', status: null, result: null, error,
        attempt: t.attempt, workerId: null, startedAt: null, finishedAt: now, ...(alsoJobs ? { alsoJobs } : {}),
      });
    }
    return gone.length;
  }

  /**
   * Requeues settled rows that are still failed or cancelled when the write runs; returns how many.
   * Rows beyond the in-memory bound (or behind spilled ones of their class) are spilled, not held.
   */
  private async requeue(candidates: RetryCandidate[]): Promise<number> {
    // A held task (a quorum task) ends only through its room: requeued, it would run once, as a plain task, unchecked.
    const rows = candidates.filter((r) => !isHeld(r));
    if (rows.length === 0) return 0;
    const now = Date.now();
    let hot = this.l.queues.size - this.l.queues.coldSize;
    const cold = rows.map((r) => {
      const spill = hot >= this.l.hotQueueMax || this.l.queues.hasCold(r.type, r.priority);
      if (!spill) hot++;
      return spill;
    });
    const requeued: boolean[] = [];
    await this.l.commit.write(() => {
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i];
        requeued[i] = this.l.store.requeueSettled(r.seq, now);
        if (requeued[i] && cold[i]) this.l.store.spill.add(r.seq, r.type, r.priority, r.jobId);
      }
    });
    let n = 0;
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      if (!requeued[i] || this.l.live.has(r.id)) continue;
      n++;
      // Jobs it was submitted into by key follow it again while it is unsettled.
      const linked = this.l.store.linksOf(r.seq);
      if (linked.length > 0) this.l.tally.links.set(r.id, linked);
      this.l.tally.durable(r.jobId, -1, r.id);
      this.l.tally.move(r.jobId, r.state, 'queued', r.id);
      if (cold[i]) {
        this.l.queues.addCold(r.type, r.priority);
        continue;
      }
      const task: LiveTask = {
        seq: r.seq, id: r.id, jobId: r.jobId, key: r.key, type: r.type, priority: r.priority,
        params: undefined, paramsLoaded: false, state: 'queued', attempt: r.attempt, failures: 0, losses: 0,
        maxAttempts: r.maxAttempts, timeoutMs: r.timeoutMs, workerId: null, runAt: now, createdAt: r.createdAt,
        startedAt: null, progress: null, queued: false,
      };
      this.l.live.set(task.id, task);
      this.l.queues.add(task, now);
    }
    if (n > 0) this.l.onReady();
    return n;
  }
}
