/**
 * The task ledger: every task transition goes through here, in memory first
 * (so fencing is decided at once) and into the store through group commit
 * (so nothing is acknowledged before it is durable).
 */
import type { Assignment, TaskRef, TaskResult } from '../shared/protocol.js';
import { CANCELLED_QUEUED, decideLoss, decideRelease, decideResult, type Decision } from './task-outcome.js';
import type { ForemanOptions } from './options.js';
import type { GroupCommit } from './store/group-commit.js';
import type { TaskFilter, TaskStore } from './store/task-store.js';
import { JobControl } from './job-control.js';
import { TaskSubmission } from './task-submission.js';
import { Spill } from './spill.js';
import { TaskQueues } from './task-queues.js';
import { DelayTimer } from './delay-timer.js';
import { TaskTally, type JobState } from './task-tally.js';
import { mergeJobParams } from './job-params.js';
import { isHeld, type LiveTask, type TaskError, type TaskInput, type TaskSlices, type TaskState } from './task-types.js';
import type { HeldOutcome, NewJob, RejectReason, SettledTask, TaskLedger, TaskManagerHooks } from './ledger.js';

export type { JobState };

export type { RejectReason, SettledTask, TaskManagerHooks };

type Options = Pick<ForemanOptions, 'maxAttempts' | 'maxLosses' | 'retryBackoffMs' | 'retryBackoffMaxMs' | 'hotQueueMax'>;

const noop = (): void => {};


const cancellingOf = (t: LiveTask) => ({ cancelling: t.state === 'cancelling', failures: t.failures, losses: t.losses, maxAttempts: t.maxAttempts });

export class TaskManager implements TaskLedger {
  /** Everything is in memory: the dispatcher need not report free slots. */
  readonly claims = false;
  readonly live = new Map<string, LiveTask>();
  readonly queues = new TaskQueues();
  private readonly tally = new TaskTally();
  /** Tasks by state, in all. */
  readonly counts = this.tally.counts;
  /** Jobs with their counters. */
  readonly jobs = this.tally.jobs;
  /** The last seq handed out; the submission room takes the next. */
  private readonly seq = { next: 0 };
  private readonly delays = new DelayTimer(
    () => this.queues.nextDueAt(),
    (now) => {
      if (this.queues.promoteDue(now) > 0) this.hooks.onReady();
    },
  );
  /**
   * Results taken but not durable yet, by task id. A resend of the same attempt (the worker
   * reconnected meanwhile) is acknowledged with the same commit, not refused as settled.
   */
  private readonly unacked = new Map<string, { attempt: number; workerId: string; acks: Array<() => void> }>();
  private readonly spill: Spill;
  private readonly control: JobControl;
  private readonly submission: TaskSubmission;

  constructor(
    private readonly store: TaskStore,
    private readonly commit: GroupCommit,
    private readonly options: Options,
    private readonly hooks: TaskManagerHooks,
  ) {
    this.spill = new Spill(store, this.queues, (task, now) => this.hold(task, now), options.hotQueueMax);
    this.control = new JobControl({
      store, commit, tally: this.tally, queues: this.queues, live: this.live, hotQueueMax: options.hotQueueMax,
      cancelLive: (tasks, now) => this.cancelLive(tasks, now),
      onSettled: (t) => hooks.onSettled(t),
      onReady: () => hooks.onReady(),
    });
    this.submission = new TaskSubmission({
      store, commit, spill: this.spill, tally: this.tally, queues: this.queues, live: this.live,
      maxAttempts: options.maxAttempts, seq: this.seq, onReady: () => {
        // Delayed tasks among them (foreman/start-at.ts) wait on the delay timer.
        this.delays.arm();
        hooks.onReady(true);
      },
    });
  }

  /**
   * Loads the unsettled tasks and job counters from the store. Returns the
   * tasks that were running when the foreman stopped, by worker id: they wait
   * for their workers to re-attach.
   */
  load(now: number): Map<string, LiveTask[]> {
    // What a crash left of a big submission that was still being written: never acknowledged, so gone.
    this.store.staged.discard();
    this.seq.next = this.store.maxSeq();
    for (const job of this.store.allJobs()) this.tally.addJob(job);
    // Settled tasks are counted from their index; live ones as they are loaded below.
    for (const { jobId, state, n } of this.store.settledCounts()) this.tally.addLoaded(jobId, state, n, true);
    // Tasks submitted again by key into other jobs count there too (the job's own count comes with the task).
    for (const l of this.store.allLinks()) {
      this.tally.addToJob(l.jobId, l.state, 1, l.settled === 1);
      if (l.settled !== 1) this.tally.links.set(l.id, [...(this.tally.links.get(l.id) ?? []), l.jobId]);
    }
    const spill = this.store.spill.counts();
    for (const { type, priority, n } of spill.byType) this.queues.addCold(type, priority, n);
    this.tally.addLoaded(null, 'queued', spill.byType.reduce((sum, t) => sum + t.n, 0), false);
    for (const { jobId, n } of spill.byJob) this.tally.addToJob(jobId, 'queued', n, false);
    const orphans = new Map<string, LiveTask[]>();
    for (const task of this.store.loadLive()) {
      this.tally.move(task.jobId, null, task.state as TaskState, task.id);
      this.live.set(task.id, task);
      if (task.state === 'queued') {
        // A held task waits outside the queues until settleHeld ends it.
        if (!isHeld(task)) this.queues.add(task, now);
      } else {
        const list = orphans.get(task.workerId ?? '') ?? [];
        list.push(task);
        orphans.set(task.workerId ?? '', list);
      }
    }
    this.delays.arm();
    return orphans;
  }

  /** See TaskSubmission.findTaskByKey. */
  findTaskByKey(key: string, input?: TaskInput, field?: string): Promise<string> | string | null {
    return this.submission.findTaskByKey(key, input, field);
  }

  /** See TaskSubmission.submit. */
  submit(inputs: TaskInput[], jobId: string | null, newJob?: NewJob, keyField?: (i: number) => string): Promise<string[]> {
    return this.submission.submit(inputs, jobId, newJob, keyField);
  }

  /** See TaskSubmission.importJob. */
  importJob(source: TaskSlices, jobId: string, newJob: NewJob): Promise<number> {
    return this.submission.importJob(source, jobId, newJob);
  }

  /**
   * Starts a new attempt of a ready task on `workerId` (the dispatcher has taken it from the queue).
   * `send` runs once the write that records this very attempt is committed, never before and never
   * for another write's sake. If the store refuses that write, the attempt is undone (the task waits
   * `retryBackoffMs` in the queue) and `undone` runs instead, so the caller can free the slot.
   */
  assign(task: LiveTask, workerId: string, now: number, send: (a: Assignment) => void = noop, undone: () => void = noop): Assignment {
    this.queues.take(task);
    task.state = 'running';
    task.attempt++;
    task.workerId = workerId;
    task.startedAt = now;
    task.progress = null;
    this.tally.move(task.jobId, 'queued', 'running', task.id);
    // The write runs at the next flush, when the task may have moved on: it takes the values of now.
    const { seq, attempt } = task;
    const own = task.paramsLoaded ? task.params : this.store.getParams(task.seq);
    const params = task.jobId === null ? own : mergeJobParams(this.jobs.get(task.jobId)?.params, own);
    // Running tasks do not keep their params in memory; a retry reloads them.
    task.params = undefined;
    task.paramsLoaded = false;
    const assignment: Assignment = { taskId: task.id, jobId: task.jobId, type: task.type, attempt, priority: task.priority, params, timeoutMs: task.timeoutMs };
    this.commit.enqueue(
      () => this.store.markRunning(seq, attempt, workerId, now),
      () => send(assignment),
      () => {
        if (this.undoAssign(task, attempt, workerId)) undone();
      },
    );
    return assignment;
  }

  /** The write of a new attempt was refused: back to queued as if it never started. */
  private undoAssign(task: LiveTask, attempt: number, workerId: string): boolean {
    if (task.attempt !== attempt || task.workerId !== workerId || task.state !== 'running') return false;
    const now = Date.now();
    task.state = 'queued';
    task.attempt--;
    task.workerId = null;
    task.startedAt = null;
    task.runAt = now + this.options.retryBackoffMs;
    this.tally.move(task.jobId, 'running', 'queued', task.id);
    this.queues.add(task, now);
    this.delays.arm();
    return true;
  }

  /** Whether `ref` names the current attempt of a task that `workerId` runs. */
  owns(workerId: string, ref: TaskRef): boolean {
    const task = this.live.get(ref.taskId);
    return !!task && task.workerId === workerId && task.attempt === ref.attempt && (task.state === 'running' || task.state === 'cancelling');
  }

  /**
   * Fences and records a result; `onDurable` runs once it is committed (acknowledge it then).
   * Returns the reason when the result is rejected, null when it is taken.
   */
  acceptResult(workerId: string, r: TaskResult, now: number, onDurable: () => void): RejectReason | null {
    const held = this.unacked.get(r.taskId);
    if (held && held.attempt === r.attempt && held.workerId === workerId) {
      held.acks.push(onDurable);
      return null;
    }
    const task = this.live.get(r.taskId);
    if (!task) return this.store.getTask(r.taskId) ? 'already settled' : 'unknown task';
    if (task.attempt !== r.attempt) return 'stale attempt';
    if (task.workerId !== workerId || (task.state !== 'running' && task.state !== 'cancelling')) return 'not your task';
    const taken = { attempt: r.attempt, workerId, acks: [onDurable] };
    this.unacked.set(task.id, taken);
    this.apply(task, decideResult(cancellingOf(task), r, this.options), now, () => {
      if (this.unacked.get(task.id) === taken) this.unacked.delete(task.id);
      for (const ack of taken.acks) ack();
    });
    return null;
  }

  /** Whether `workerId`'s result for `ref` was taken and is being written (a reconnecting worker still holds it). */
  resultPending(workerId: string, ref: TaskRef): boolean {
    const held = this.unacked.get(ref.taskId);
    return !!held && held.attempt === ref.attempt && held.workerId === workerId;
  }

  /** Records progress of the current attempt; false when the attempt is not current. */
  progress(workerId: string, ref: TaskRef, fraction: number, message: string | undefined): boolean {
    if (!this.owns(workerId, ref)) return false;
    const task = this.live.get(ref.taskId) as LiveTask;
    task.progress = message === undefined ? { fraction } : { fraction, message };
    this.hooks.onProgress?.(task.id);
    return true;
  }

  /** The worker handed these attempts back (drain): requeue at once, counting nothing against them. */
  release(workerId: string, refs: TaskRef[], now: number): LiveTask[] {
    const released: LiveTask[] = [];
    for (const ref of refs) {
      if (!this.owns(workerId, ref)) continue;
      const task = this.live.get(ref.taskId) as LiveTask;
      this.apply(task, decideRelease(cancellingOf(task)), now);
      released.push(task);
    }
    return released;
  }

  /** The worker running these tasks is gone: requeue them as lost (or fail a task lost too often). */
  lose(tasks: Iterable<LiveTask>, now: number): void {
    for (const task of tasks) {
      if (task.state !== 'running' && task.state !== 'cancelling') continue;
      this.apply(task, decideLoss(cancellingOf(task), this.options), now);
    }
  }

  /** Applies the decision on an ended attempt (see task-outcome.ts) to the task in memory and the store. */
  private apply(task: LiveTask, d: Decision, now: number, onDurable: (() => void) | null = null): void {
    task.failures = d.failures;
    task.losses = d.losses;
    const o = d.outcome;
    if (o.kind === 'settle') this.settle(task, o.state, o.status, o.result, o.error, now, o.attempt, onDurable);
    else this.requeue(task, o.attempt, o.error, now + o.delayMs, now, onDurable);
  }

  /** Cancels a task: at once when queued, by a pushed cancel when running. Returns the state after, or null if unknown. */
  /**
   * Settles a held task (submitted with `hold`) with an outcome decided elsewhere (a quorum).
   * Resolves once durable: true, or false when the task is not held and queued (settled already, unknown).
   */
  async settleHeld(id: string, outcome: HeldOutcome): Promise<boolean> {
    // A quorum's replicas may finish before a big submission has queued their parent.
    if (!this.live.has(id)) await this.submission.queued();
    const task = this.live.get(id);
    if (!task || task.state !== 'queued' || !isHeld(task)) return false;
    return new Promise((resolve, reject) => this.settle(task, outcome.state, null, outcome.result, outcome.error, Date.now(), null, () => resolve(true), reject));
  }

  /** Puts a held task (TaskInput.hold) in the queue, ready now; false when it is not a held, queued task. */
  async releaseHeld(id: string): Promise<boolean> {
    if (!this.live.has(id)) await this.submission.queued();
    const task = this.live.get(id);
    if (!task || task.state !== 'queued' || !isHeld(task)) return false;
    const now = Date.now();
    task.runAt = now;
    // Queued at once: an assignment's own write follows this one in the same group commit.
    this.commit.enqueue(() => this.store.markQueued(task.seq, now, task.failures, task.losses, null));
    this.queues.add(task, now);
    this.hooks.onReady();
    return true;
  }

  async cancel(id: string): Promise<TaskState | null> {
    if (!this.live.has(id)) await this.submission.queued();
    const task = this.live.get(id) ?? this.spill.warmById(id);
    if (!task) {
      // Its outcome may be decided but not yet written: read the row after every write queued before this request.
      await this.commit.write(noop);
      return this.store.getTask(id)?.state ?? null;
    }
    await this.cancelLive([task], Date.now());
    return task.state === 'settled' ? 'cancelled' : task.state;
  }

  private cancelLive(tasks: LiveTask[], now: number): Promise<unknown> {
    const commits: Array<Promise<unknown>> = [];
    const running: Array<{ task: LiveTask; attempt: number }> = [];
    for (const task of tasks) {
      if (task.state === 'queued') {
        this.queues.remove(task);
        commits.push(new Promise<void>((resolve, reject) => this.settle(task, 'cancelled', null, null, CANCELLED_QUEUED, now, null, resolve, reject)));
      } else if (task.state === 'running') {
        task.state = 'cancelling';
        this.tally.move(task.jobId, 'running', 'cancelling', task.id);
        running.push({ task, attempt: task.attempt });
      }
    }
    if (running.length > 0) {
      const seqs = running.map((r) => r.task.seq);
      commits.push(
        this.commit
          // The cancels are pushed from this write's own commit callback: a worker never aborts for a cancel that was not recorded.
          .write(
            () => {
              for (const seq of seqs) this.store.markCancelling(seq);
            },
            () => this.pushCancels(running),
          )
          .catch((err: unknown) => {
            // Refused: the tasks run on, as if the cancel had never been asked for.
            for (const { task, attempt } of running) {
              if (task.state !== 'cancelling' || task.attempt !== attempt) continue;
              task.state = 'running';
              this.tally.move(task.jobId, 'cancelling', 'running', task.id);
            }
            throw err;
          }),
      );
    }
    return Promise.all(commits);
  }

  /** Pushes a cancel to the workers of these attempts, those still cancelling (a result may have settled one meanwhile). */
  private pushCancels(attempts: Array<{ task: LiveTask; attempt: number }>): void {
    const pushes = new Map<string, TaskRef[]>();
    for (const { task, attempt } of attempts) {
      if (task.state !== 'cancelling' || task.attempt !== attempt || task.workerId === null) continue;
      const refs = pushes.get(task.workerId) ?? [];
      refs.push({ taskId: task.id, attempt });
      pushes.set(task.workerId, refs);
    }
    for (const [workerId, refs] of pushes) this.hooks.onCancel(workerId, refs);
  }

  /** Cancels every unsettled task of a job and marks the job cancelled. Returns how many tasks were affected, or null. */
  cancelJob(jobId: string): Promise<number | null> {
    return this.control.cancelJob(jobId);
  }

  /** Stops a job from taking more tasks; it completes when its tasks settle. */
  closeJob(jobId: string): Promise<JobState | null> {
    return this.control.closeJob(jobId);
  }

  /** Requeues a failed or cancelled task with a fresh attempt budget. Returns the state after, or null if unknown. */
  retry(id: string): Promise<TaskState | null> {
    return this.control.retry(id);
  }

  /** Requeues every failed task of a job; returns how many, or null for an unknown job. */
  retryFailed(jobId: string): Promise<number | null> {
    return this.control.retryFailed(jobId);
  }

  /** Requeues every task matching `filter` (failed or cancelled ones), a page at a time; returns how many. */
  retryWhere(filter: TaskFilter & { state: 'failed' | 'cancelled' }): Promise<number> {
    return this.control.retryWhere(filter);
  }

  /**
   * The best ready task of `type` for the dispatcher, paging spilled tasks of the type
   * in first when its in-memory queue runs low or a spilled task outranks the best one held.
   */
  peekReady(type: string): LiveTask | undefined {
    return this.spill.peekReady(type);
  }

  /** A task read back from the spill, now held in memory as a queued task. */
  private hold(task: LiveTask, now: number): void {
    this.queues.warm(task, now);
    this.live.set(task.id, task);
    // A delayed task paged in from the spill waits on the delay timer (foreman/start-at.ts).
    if (task.runAt > now) this.delays.arm();
  }

  /** Nothing to fetch: every queued task is in memory or in the spill, which `peekReady` pages in. */
  refill(): void {}

  get jobCount(): number {
    return this.jobs.size;
  }

  getJob(id: string): JobState | null {
    return this.jobs.get(id) ?? null;
  }

  getJobHead(id: string): JobState | null {
    return this.getJob(id);
  }

  recentJobs(limit: number): JobState[] {
    return [...this.jobs.values()].slice(-limit).reverse();
  }

  /** Whether the job takes no more tasks and every task's outcome is durable. */
  isJobComplete(job: JobState): boolean {
    return this.tally.isJobComplete(job);
  }

  /** Settles and durably records the one accepted outcome of a task. */
  private settle(
    task: LiveTask,
    state: 'succeeded' | 'failed' | 'cancelled',
    status: string | null,
    result: unknown,
    error: TaskError | null,
    now: number,
    attemptOutcome: string | null,
    onDurable: (() => void) | null = null,
    onFailed: ((err: unknown) => void) | null = null,
  ): void {
    const from = task.state as TaskState;
    this.live.delete(task.id);
    task.state = 'settled';
    this.tally.move(task.jobId, from, state, task.id);
    const alsoJobs = this.tally.links.get(task.id);
    const settled: SettledTask = {
      id: task.id, jobId: task.jobId, key: task.key, type: task.type, state, status, result, error,
      attempt: task.attempt, workerId: task.workerId, startedAt: task.startedAt, finishedAt: now, ...(alsoJobs ? { alsoJobs: [...alsoJobs] } : {}),
    };
    const { seq, failures, losses } = task;
    if (attemptOutcome !== null && settled.attempt > 0) this.hooks.onAttemptEnded?.(task.type, attemptOutcome, error);
    // A successful attempt is read back from the task row; any other ending gets its own attempts row.
    const attemptRow = attemptOutcome !== null && attemptOutcome !== 'succeeded' && settled.attempt > 0 && settled.workerId !== null;
    this.commit.enqueue(
      () => {
        if (attemptRow) {
          this.store.recordAttempt(seq, settled.attempt, settled.workerId as string, settled.startedAt ?? now, now, attemptOutcome as string, error);
        }
        this.store.markSettled(seq, state, status, result, error, failures, losses, now);
      },
      () => {
        this.tally.durable(settled.jobId, 1, settled.id);
        this.hooks.onSettled(settled);
        onDurable?.();
      },
      onFailed,
    );
  }

  /** Puts a task back in the queue for a new attempt at `runAt`. */
  private requeue(task: LiveTask, attemptOutcome: string, error: TaskError | null, runAt: number, now: number, onDurable: (() => void) | null = null): void {
    const from = task.state as TaskState;
    const { seq, attempt, workerId, startedAt, failures, losses } = task;
    if (workerId !== null) this.hooks.onAttemptEnded?.(task.type, attemptOutcome, error);
    task.state = 'queued';
    task.workerId = null;
    task.runAt = runAt;
    task.progress = null;
    this.tally.move(task.jobId, from, 'queued', task.id);
    this.commit.enqueue(() => {
      if (workerId !== null) this.store.recordAttempt(seq, attempt, workerId, startedAt ?? now, now, attemptOutcome, error);
      this.store.markQueued(seq, runAt, failures, losses, error);
    }, onDurable);
    this.queues.add(task, now);
    if (runAt > now) this.delays.arm();
    else this.hooks.onReady();
  }

  /** Stops the delay timer. Idempotent. */
  close(): void {
    this.delays.stop();
  }

  /**
   * Deletes up to `limit` tasks settled before `cutoff` (and emptied jobs).
   * Returns how many tasks went, so the caller can continue in a later turn.
   */
  async purge(cutoff: number, limit: number): Promise<number> {
    let gone: Array<{ job_id: string | null; state: TaskState; linked: string[] }> = [];
    let jobsGone: string[] = [];
    await this.commit.write(() => {
      gone = this.store.purgeFinished(cutoff, limit);
      jobsGone = this.store.purgeEmptyJobs(cutoff);
    });
    for (const g of gone) this.tally.purged(g.job_id, g.state, g.linked);
    for (const id of jobsGone) this.jobs.delete(id);
    return gone.length;
  }

  /** Dev only: forgets every task and job. */
  async reset(): Promise<void> {
    await this.commit.write(() => this.store.resetAll());
    this.live.clear();
    this.queues.clear();
    this.tally.clear();
  }
}
