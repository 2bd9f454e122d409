/**
 * The task ledger over PostgreSQL, for one of several foremen sharing the database (see
 * foreman/ledger.ts for the seam). The database is the truth. This foreman holds in memory only:
 * - the tasks it claimed and has not handed out yet (`claimed` in the store, queued here), and
 * - the running tasks of the workers connected to it.
 * Memory answers the fast rejections (a result for an attempt this foreman does not hold); every
 * transition that counts is a compare-and-set in the store, and the store's answer decides.
 *
 * Work flows in by claims: after each dispatch pass the dispatcher reports free slots by type, and a
 * claim (one statement) fetches that many ready tasks, best first. A type found empty is not asked
 * for again until a submission, a retry or a requeue announces work of that type (LISTEN/NOTIFY), or
 * the slow fallback poll comes round. What a result, failure or loss does is decided in task-outcome.ts.
 */
import type { Assignment, TaskRef, TaskResult } from '../../../shared/protocol.js';
import type { ForemanEvents } from '../../events.js';
import type { HeldOutcome, NewJob, RejectReason, SettledTask, TaskLedger, TaskManagerHooks } from '../../ledger.js';
import type { ForemanOptions } from '../../options.js';
import { decideLoss, decideRelease, decideResult, type Decision } from '../../task-outcome.js';
import { TaskQueues } from '../../task-queues.js';
import type { JobState } from '../../task-tally.js';
import type { LiveTask, TaskInput, TaskSlices, TaskState } from '../../task-types.js';
import { blob, errorText, parseError, type JobRow } from '../task-rows.js';
import { payloads, type PgDb } from './pg-db.js';
import { pushCancels, routeNotice, SettledNotices } from './pg-notices.js';
import { letGoOfWorker, takeOverWorker } from './pg-worker-handover.js';
import { getJob, getJobHead, recentJobs } from './pg-jobs.js';
import { PgTotals } from './pg-totals.js';
import { fitsOneStatement, submitInOneStatement } from './pg-submit-one.js';
import type { PgReads } from './pg-reads.js';
import { cancelQueued, closeJobRow, jobExists, markCancelling, purgeSettled, requeueSettled, requeueTask, stateOf, type Cancelling } from './pg-control-sql.js';
import type { TaskFilter } from '../task-search.js';
import { adoptWorkerTasks, runningOf, submitTasks, taskByKey, unclaimAll } from './pg-tasks-sql.js';
import { PgClaims, type ClaimLimits } from './pg-claims.js';
import { releaseHeldTask, settleHeldTask } from './pg-held-sql.js';
import { startAtOf } from '../../start-at.js';
import { mergeJobParams } from '../../job-params.js';
import type { PgTurn } from './pg-turn.js';

type Options = Pick<ForemanOptions, 'maxAttempts' | 'maxLosses' | 'retryBackoffMs' | 'retryBackoffMaxMs' | 'pollIntervalMs'>;

const cancellingOf = (t: LiveTask) => ({ cancelling: t.state === 'cancelling', failures: t.failures, losses: t.losses, maxAttempts: t.maxAttempts });

export class PgLedger implements TaskLedger {
  readonly live = new Map<string, LiveTask>();
  readonly queues = new TaskQueues();
  readonly claims = true;
  /** Tasks by state and jobs in the whole store, counted while someone reads them. */
  private readonly totals: PgTotals;
  private readonly claimer: PgClaims;
  private readonly settledNotices: SettledNotices;
  /** Results taken and being written, by task: a worker that reconnects meanwhile resends them. */
  private readonly pendingResults = new Map<string, { attempt: number; workerId: string; waiters: Array<[() => void, ((reason: RejectReason) => void) | undefined]> }>();
  private readonly timers: NodeJS.Timeout[] = [];
  private closed = false;

  constructor(
    private readonly db: PgDb,
    private readonly turn: PgTurn,
    private readonly reads: PgReads,
    readonly foremanId: string,
    private readonly options: Options,
    private readonly hooks: TaskManagerHooks,
    private readonly events: ForemanEvents,
    private readonly log: { warn(obj: object, msg: string): void },
  ) {
    this.settledNotices = new SettledNotices(db, foremanId);
    this.totals = new PgTotals(db, reads);
    this.claimer = new PgClaims(db, foremanId, this.live, this.queues, options.pollIntervalMs, () => hooks.onReady(), (err) => {
      log.warn({ err }, 'claim failed');
      turn.failed(err);
    });
    db.on('notification', (channel, payload) => {
      if (this.closed) return;
      routeNotice(channel, payload, {
        work: (types) => this.claimer.announced(types),
        cancels: (notices) => this.onCancels(notices.filter((n) => n.foremanId === this.foremanId)),
        settled: (foremanId, ids) => {
          if (foremanId === this.foremanId || !this.wantsRemoteSettled()) return;
          void this.reads.settledByIds(ids).then((tasks) => {
            for (const t of tasks) this.events.emit('settled', t);
          }, noop);
        },
        job: (jobId) => this.events.emit('job', jobId),
        workerMoved: (workerId, foremanId) => this.onWorkerMoved(workerId, foremanId),
      });
    });
    // Notifications sent while the listener was down are lost: look for work, re-check streams.
    db.on('relisten', () => this.claimer.wake());
  }

  /**
   * Quorum replicas in claims: `prepare` readies the claimed ones before any is dispatched (the quorum
   * room's `claimed`); `workers` lists this foreman's workers, so a claim skips replicas none may run.
   */
  claimReplicas(prepare: (tasks: LiveTask[]) => Promise<void>, workers: () => string[]): void {
    this.claimer.prepare = prepare;
    this.claimer.workers = workers;
  }

  /** Starts the background work: counters, the fallback poll, returning idle claims. */
  start(): Promise<void> {
    const every = (ms: number, fn: () => void) => {
      const t = setInterval(fn, ms);
      t.unref();
      this.timers.push(t);
    };
    every(1000, () => this.totals.tick());
    every(this.options.pollIntervalMs, () => {
      this.claimer.wake();
      void this.claimer.returnIdle();
    });
    return this.totals.refresh();
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
  }

  // ---- dispatch side -------------------------------------------------------------------------

  peekReady(type: string): LiveTask | undefined {
    return this.queues.peek(type);
  }

  assign(task: LiveTask, workerId: string, now: number, send: (a: Assignment) => void = noop, undone: () => void = noop): Assignment {
    this.queues.take(task);
    this.claimer.handedOut(task);
    task.state = 'running';
    const attempt = ++task.attempt;
    task.workerId = workerId;
    task.startedAt = now;
    task.progress = null;
    const params = task.jobId === null ? task.params : mergeJobParams(this.claimer.jobParams.get(task.jobId), task.params);
    task.params = undefined;
    task.paramsLoaded = false;
    const assignment: Assignment = { taskId: task.id, jobId: task.jobId, type: task.type, attempt, priority: task.priority, params, timeoutMs: task.timeoutMs };
    this.turn.start({
      seq: task.seq,
      attempt,
      workerId,
      startedAt: now,
      done: (applied) => {
        if (applied) return send(assignment);
        // Cancelled by another foreman, or our claim was taken back (this foreman looked dead): not ours.
        if (this.live.get(task.id) === task && task.attempt === attempt) {
          this.live.delete(task.id);
          task.state = 'settled';
        }
        undone();
      },
    });
    return assignment;
  }

  owns(workerId: string, ref: TaskRef): boolean {
    const task = this.live.get(ref.taskId);
    return !!task && task.workerId === workerId && task.attempt === ref.attempt && (task.state === 'running' || task.state === 'cancelling');
  }

  resultPending(workerId: string, ref: TaskRef): boolean {
    const held = this.pendingResults.get(ref.taskId);
    return !!held && held.attempt === ref.attempt && held.workerId === workerId;
  }

  acceptResult(workerId: string, r: TaskResult, now: number, onDurable: () => void, onRejected?: (reason: RejectReason) => void): RejectReason | null {
    const task = this.live.get(r.taskId);
    if (!task) {
      // A resend of a result still being written (the worker reconnected meanwhile): answered with that write.
      const held = this.pendingResults.get(r.taskId);
      if (!held || held.attempt !== r.attempt || held.workerId !== workerId) return 'unknown task';
      held.waiters.push([onDurable, onRejected]);
      return null;
    }
    if (task.attempt !== r.attempt) return 'stale attempt';
    if (task.workerId !== workerId || (task.state !== 'running' && task.state !== 'cancelling')) return 'not your task';
    const held = { attempt: r.attempt, workerId, waiters: [[onDurable, onRejected]] as Array<[() => void, ((reason: RejectReason) => void) | undefined]> };
    this.pendingResults.set(r.taskId, held);
    this.apply(
      task,
      decideResult(cancellingOf(task), r, this.options),
      now,
      null,
      () => {
        if (this.pendingResults.get(r.taskId) === held) this.pendingResults.delete(r.taskId);
        for (const [ok] of held.waiters) ok();
      },
      (reason) => {
        if (this.pendingResults.get(r.taskId) === held) this.pendingResults.delete(r.taskId);
        for (const [, refused] of held.waiters) refused?.(reason);
      },
    );
    return null;
  }

  progress(workerId: string, ref: TaskRef, fraction: number, message: string | undefined): boolean {
    if (!this.owns(workerId, ref)) return false;
    const task = this.live.get(ref.taskId) as LiveTask;
    task.progress = message === undefined ? { fraction } : { fraction, message };
    this.hooks.onProgress?.(task.id);
    return true;
  }

  release(workerId: string, refs: TaskRef[], now: number): LiveTask[] {
    const out: LiveTask[] = [];
    for (const ref of refs) {
      if (!this.owns(workerId, ref)) continue;
      const task = this.live.get(ref.taskId) as LiveTask;
      this.apply(task, decideRelease(cancellingOf(task)), now, null);
      out.push(task);
    }
    return out;
  }

  lose(tasks: Iterable<LiveTask>, now: number): void {
    for (const task of tasks) {
      if (task.state !== 'running' && task.state !== 'cancelling') continue;
      // Fenced by owner as well: if the worker has moved to another foreman, that foreman holds the task now.
      this.apply(task, decideLoss(cancellingOf(task), this.options), now, this.foremanId);
    }
  }

  /**
   * Writes the decision on an ended attempt as one compare-and-set row of this turn's batch. The
   * task leaves this foreman's memory at once either way: requeued tasks go back to the shared queue.
   */
  private apply(
    task: LiveTask,
    d: Decision,
    now: number,
    ownerFence: string | null,
    onDurable: (() => void) | null = null,
    onRejected?: (reason: RejectReason) => void,
  ): void {
    const o = d.outcome;
    const { seq, attempt, workerId, startedAt } = task;
    this.live.delete(task.id);
    task.state = 'settled';
    const runAt = o.kind === 'requeue' ? now + o.delayMs : now;
    this.turn.finish({
      seq,
      attempt,
      workerId: workerId as string,
      ownerFence,
      state: o.kind === 'settle' ? o.state : 'queued',
      runAt,
      status: o.kind === 'settle' ? o.status : null,
      result: o.kind === 'settle' && o.state === 'succeeded' ? blob(o.result) : null,
      error: errorText(o.error),
      failures: d.failures,
      losses: d.losses,
      at: now,
      startedAt,
      attemptOutcome: o.attempt === 'succeeded' ? null : o.attempt,
      done: (applied, finalState) => {
        if (!applied) {
          onRejected?.('stale attempt');
          return;
        }
        this.hooks.onAttemptEnded?.(task.type, finalState === 'cancelled' ? 'cancelled' : o.attempt, finalState === 'cancelled' ? null : o.error);
        if (finalState === 'queued') {
          this.claimer.announced([task.type], runAt - now);
          void this.db.notify('gaffer_work', JSON.stringify([task.type])).catch(() => {});
        } else {
          const cancelledMeanwhile = finalState === 'cancelled' && (o.kind !== 'settle' || o.state !== 'cancelled');
          this.settled({
            id: task.id, jobId: task.jobId, key: task.key, type: task.type, state: finalState as SettledTask['state'],
            status: cancelledMeanwhile || o.kind !== 'settle' ? null : o.status,
            result: cancelledMeanwhile || o.kind !== 'settle' ? null : o.result,
            error: cancelledMeanwhile ? parseError('{"code":"CANCELLED","message":"cancelled","retryable":false}') : o.error,
            attempt, workerId, startedAt, finishedAt: now,
          });
        }
        onDurable?.();
      },
    });
  }

  /** Claims of types with fleet-wide limits go through these (foreman/type-limits/, pg-limited-claim.ts). */
  set claimLimits(limits: ClaimLimits) {
    this.claimer.limits = limits;
  }

  refill(freeByType: Map<string, number>, freeSlots: number): void {
    if (this.closed || this.turn.state !== 'writable') return;
    this.claimer.refill(freeByType, freeSlots);
  }

  /**
   * A worker said hello here: take over its running tasks from whichever foreman held them, and
   * forget the ones this foreman held for it that the store no longer shows under it.
   */
  async adoptWorker(workerId: string): Promise<LiveTask[]> {
    return takeOverWorker(this.live, workerId, await adoptWorkerTasks(this.db, this.foremanId, workerId));
  }

  /** Another foreman adopted `workerId`: drop what this foreman held for it (without writing; the store moved on). */
  forgetWorker(workerId: string): LiveTask[] {
    return letGoOfWorker(this.live, workerId);
  }

  /**
   * A foreman stopped heartbeating: its claims go back to the queue at once; its running tasks,
   * once its workers have had `graceOver` time to fail over (their hello adopts them), are lost
   * like a dead worker's, fenced on the dead foreman still owning them. Returns how many tasks it still holds.
   */
  async reapForeman(deadId: string, graceOver: boolean, now: number): Promise<number> {
    const freed = await unclaimAll(this.db, deadId);
    if (freed.length > 0) await this.announceWork(freed);
    if (!graceOver) return -1;
    const orphans = await runningOf(this.db, deadId);
    for (const t of orphans) this.apply(t, decideLoss(cancellingOf(t), this.options), now, deadId);
    return orphans.length;
  }

  // ---- API side ------------------------------------------------------------------------------

  findTaskByKey(key: string, input?: TaskInput, field = 'body/key'): Promise<string | null> {
    return taskByKey(this.db, key, input, field);
  }

  async submit(inputs: TaskInput[], jobId: string | null, newJob?: NewJob, keyField = (i: number) => `body/${i}/key`): Promise<string[]> {
    const { ids, types } = fitsOneStatement(inputs)
      ? await submitInOneStatement(this.db, inputs, jobId, newJob, this.options.maxAttempts, Date.now())
      : await submitTasks(this.db, inputs, jobId, newJob, keyField, this.options.maxAttempts, Date.now());
    // The notification reaches this foreman too; claiming now saves its round trip.
    this.claimer.announced(types, 0, false);
    // Delayed tasks (foreman/start-at.ts) become claimable later: look again then (other foremen's fallback poll finds them too).
    const now = Date.now();
    for (const input of inputs) {
      const wait = startAtOf(input, now) - now;
      if (wait > 0) this.claimer.announced([input.type], wait);
    }
    if (types.size > 0) this.hooks.onReady(true);
    return ids;
  }

  /** A big submission is one transaction here (pg-tasks-sql.ts), of every task at once: the slices are read into one list. */
  async importJob(source: TaskSlices, jobId: string, newJob: NewJob): Promise<number> {
    const inputs: TaskInput[] = [];
    for await (const slice of source.slices(() => 1000)) inputs.push(...slice);
    return (await this.submit(inputs, jobId, newJob)).length;
  }

  /** Makes a held task claimable (pg-held-sql.ts); every foreman hears of it, this one looks at once. */
  async releaseHeld(id: string): Promise<boolean> {
    const type = await releaseHeldTask(this.db, id, Date.now());
    if (type === null) return false;
    this.claimer.announced([type]);
    return true;
  }

  /** Settles a held task once durable (a compare-and-set: of several foremen, one settles it); announced like any settlement. */
  async settleHeld(id: string, outcome: HeldOutcome): Promise<boolean> {
    const task = await settleHeldTask(this.db, id, outcome, Date.now());
    if (task === null) return false;
    this.settled(task);
    return true;
  }

  async cancel(id: string): Promise<TaskState | null> {
    const queued = await cancelQueued(this.db, { id }, Date.now());
    if (queued.length > 0) {
      for (const t of queued) this.settled(t);
      return 'cancelled';
    }
    const running = await markCancelling(this.db, { id });
    if (running.length > 0) {
      await this.announceCancels(running);
      return 'cancelling';
    }
    return stateOf(this.db, id);
  }

  async cancelJob(jobId: string): Promise<number | null> {
    const now = Date.now();
    if (!(await closeJobRow(this.db, jobId, now, true))) return null;
    const queued = await cancelQueued(this.db, { jobId }, now);
    const running = await markCancelling(this.db, { jobId });
    for (const t of queued) this.settled(t);
    await this.announceCancels(running);
    await this.db.notify('gaffer_job', jobId);
    return queued.length + running.length;
  }

  async closeJob(jobId: string): Promise<JobState | null> {
    if (!(await closeJobRow(this.db, jobId, Date.now(), false))) return null;
    await this.db.notify('gaffer_job', jobId);
    return getJob(this.db, jobId);
  }

  async retry(id: string): Promise<TaskState | null> {
    const type = await requeueTask(this.db, id, Date.now());
    if (type === null) return stateOf(this.db, id);
    await this.announceWork([type]);
    return 'queued';
  }

  async retryFailed(jobId: string): Promise<number | null> {
    if (!(await jobExists(this.db, jobId))) return null;
    return this.retryWhere({ jobId, state: 'failed' });
  }

  async retryWhere(filter: TaskFilter & { state: 'failed' | 'cancelled' }): Promise<number> {
    const types = await requeueSettled(this.db, filter, Date.now());
    await this.announceWork(types);
    return types.length;
  }

  getJob(id: string): Promise<JobState | null> {
    return getJob(this.db, id);
  }

  getJobHead(id: string): Promise<JobRow | null> {
    return getJobHead(this.db, id);
  }

  recentJobs(limit: number): Promise<JobState[]> {
    return recentJobs(this.db, limit);
  }

  isJobComplete(job: JobState): boolean {
    return job.closedAt !== null && job.settledDurable === job.total;
  }

  purge(cutoff: number, limit: number): Promise<number> {
    return purgeSettled(this.db, cutoff, limit);
  }

  async reset(): Promise<void> {
    await this.db.query('TRUNCATE tasks, jobs, attempts, task_deps');
    this.live.clear();
    this.queues.clear();
    this.claimer.clear();
  }

  // ---- cross-foreman notifications -----------------------------------------------------------

  private async announceWork(types: string[]): Promise<void> {
    if (types.length === 0) return;
    const unique = [...new Set(types)];
    this.claimer.announced(unique);
    await this.db.notify('gaffer_work', JSON.stringify(unique));
  }

  /** Tells the foreman holding each task to push its cancel (this one handles its own at once). */
  private async announceCancels(notices: Cancelling[]): Promise<void> {
    const mine = notices.filter((n) => n.foremanId === this.foremanId);
    this.onCancels(mine);
    const others = notices.filter((n) => n.foremanId !== this.foremanId).map((n) => JSON.stringify(n));
    for (const p of payloads(others, '\n')) await this.db.notify('gaffer_cancel', p);
  }

  private onCancels(notices: Cancelling[]): void {
    pushCancels(notices, this.live, (workerId, refs) => this.hooks.onCancel(workerId, refs));
  }

  /** Announces settled tasks here and to the other foremen (their result streams fetch the rows). */
  private settled(task: SettledTask): void {
    this.hooks.onSettled(task);
    this.settledNotices.add(task.id);
  }

  /** A foreman (maybe this one) took over a worker's tasks at its hello. */
  onWorkerMoved: (workerId: string, foremanId: string) => void = () => {};

  /** Whether anyone here listens for settled tasks beyond this foreman's own counters (a result stream). */
  wantsRemoteSettled: () => boolean = () => true;

  get counts(): Record<TaskState, number> {
    return this.totals.counts;
  }

  get jobCount(): number {
    return this.totals.jobCount;
  }
}

function noop(): void {}
