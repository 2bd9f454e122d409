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
  /**
   * Jobs an unsettled task belongs to besides its own (it was submitted again by key into them), by
   * task id: their counters follow the task's moves given its id. Dropped once its outcome is durable.
   */
  readonly links = new Map<string, string[]>();

  /** Registers a job with no tasks yet. */
  addJob(job: JobRow): JobState {
    const state: JobState = { ...job, total: 0, counts: emptyCounts(), settledDurable: 0, closing: job.closedAt !== null, adding: new Set() };
    this.jobs.set(job.id, state);
    return state;
  }

  /** Moves one task from `from` (null: a new task) to `to`, in all and in its job (and jobs it is linked to, given `taskId`). */
  move(jobId: string | null, from: TaskState | null, to: TaskState, taskId?: string): void {
    if (from) this.counts[from]--;
    this.counts[to]++;
    this.moveInJob(jobId, from, to);
    if (taskId !== undefined && this.links.size > 0) for (const linked of this.links.get(taskId) ?? []) this.moveInJob(linked, from, to);
  }

  /** Moves one task from `from` (null: one more task) to `to` in a job's counters only. */
  moveInJob(jobId: string | null, from: TaskState | null, to: TaskState): void {
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
  durable(jobId: string | null, delta: 1 | -1, taskId?: string): void {
    const job = jobId === null ? undefined : this.jobs.get(jobId);
    if (job) job.settledDurable += delta;
    const linked = taskId === undefined || this.links.size === 0 ? undefined : this.links.get(taskId);
    if (!linked) return;
    for (const id of linked) {
      const j = this.jobs.get(id);
      if (j) j.settledDurable += delta;
    }
    if (delta === 1) this.links.delete(taskId as string);
  }

  /** A settled task was purged (from its job and the jobs it was linked to). */
  purged(jobId: string | null, state: TaskState, linked: readonly string[] = []): void {
    this.counts[state]--;
    for (const id of [jobId, ...linked]) {
      const job = id === null ? undefined : this.jobs.get(id);
      if (!job) continue;
      job.counts[state]--;
      job.total--;
      job.settledDurable--;
    }
  }

  /** Whether the job takes no more tasks and every task's outcome is durable. */
  isJobComplete(job: JobState): boolean {
    return job.closedAt !== null && job.settledDurable === job.total;
  }

  clear(): void {
    this.jobs.clear();
    this.links.clear();
    for (const s of TASK_STATES) this.counts[s] = 0;
  }
}
