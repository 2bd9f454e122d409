/**
 * Counters of tasks by state, in all and per job, kept in step with every
 * transition so /stats, jobs and the dashboard never count rows.
 */
import type { JobRow } from './store/task-store.js';
import { TASK_STATES, type TaskState } from './task-types.js';

/** A job's live counters. */
export interface JobState extends JobRow {
  total: number;
  counts: Record<TaskState, number>;
  /** Settled tasks whose outcome is committed (counts may run one commit ahead of this). */
  settledDurable: number;
  /**
   * Set the moment a close or cancel is asked for: no task may be added from then on. `closedAt`
   * and `cancelledAt` are set only once that is durable.
   */
  closing: boolean;
  /** Additions to this job accepted but not yet in the ledger: a close or cancel waits for them. */
  adding: Set<Promise<unknown>>;
}

export const emptyCounts = (): Record<TaskState, number> =>
  Object.fromEntries(TASK_STATES.map((s) => [s, 0])) as Record<TaskState, number>;

export class TaskTally {
  readonly counts = emptyCounts();
  readonly jobs = new Map<string, JobState>();

  /** Registers a job with no tasks yet. */
  addJob(job: JobRow): JobState {
    const state: JobState = { ...job, total: 0, counts: emptyCounts(), settledDurable: 0, closing: job.closedAt !== null, adding: new Set() };
    this.jobs.set(job.id, state);
    return state;
  }

  /** Moves one task from `from` (null: a new task) to `to`, in all and in its job. */
  move(jobId: string | null, from: TaskState | null, to: TaskState): void {
    if (from) this.counts[from]--;
    this.counts[to]++;
    const job = jobId === null ? undefined : this.jobs.get(jobId);
    if (!job) return;
    if (from) job.counts[from]--;
    else job.total++;
    job.counts[to]++;
  }

  /** Adds `n` tasks already in `state` (loaded from the store); `durable` when they are settled. */
  addLoaded(jobId: string | null, state: TaskState, n: number, durable: boolean): void {
    this.counts[state] += n;
    this.addToJob(jobId, state, n, durable);
  }

  /** Adds `n` tasks in `state` to a job's counters only (they are already counted in all). */
  addToJob(jobId: string | null, state: TaskState, n: number, durable: boolean): void {
    const job = jobId === null ? undefined : this.jobs.get(jobId);
    if (!job) return;
    job.counts[state] += n;
    job.total += n;
    if (durable) job.settledDurable += n;
  }

  /** A task's settled outcome (+1) was committed, or a settled task was requeued (-1). */
  durable(jobId: string | null, delta: 1 | -1): void {
    const job = jobId === null ? undefined : this.jobs.get(jobId);
    if (job) job.settledDurable += delta;
  }

  /** A settled task was purged. */
  purged(jobId: string | null, state: TaskState): void {
    this.counts[state]--;
    const job = jobId === null ? undefined : this.jobs.get(jobId);
    if (!job) return;
    job.counts[state]--;
    job.total--;
    job.settledDurable--;
  }

  /** Whether the job takes no more tasks and every task's outcome is durable. */
  isJobComplete(job: JobState): boolean {
    return job.closedAt !== null && job.settledDurable === job.total;
  }

  clear(): void {
    this.jobs.clear();
    for (const s of TASK_STATES) this.counts[s] = 0;
  }
}
