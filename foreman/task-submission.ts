/**
 * Submission: new tasks (and jobs) into the ledger, durable before they are acknowledged.
 * Idempotency keys are decided here: a key names one task; the same key with the same type and
 * params is that task, with another type or params a KEY_CONFLICT; two submissions racing with
 * one key get one task, and one whose commit fails leaves the key to the other (which then creates
 * the task itself rather than failing after its own tasks are durable). Additions to an existing
 * job are tracked until they are in the ledger, so a close or cancel acknowledged later covers them.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { encodeValue } from '../shared/codec.js';
import { newTimeOrderedId } from '../shared/ids.js';
import type { NewJob } from './ledger.js';
import { LedgerError } from './ledger-error.js';
import { startAtOf } from './start-at.js';
import type { Spill, SpillDecision } from './spill.js';
import type { GroupCommit } from './store/group-commit.js';
import type { TaskStore } from './store/task-store.js';
import type { TaskQueues } from './task-queues.js';
import type { TaskTally } from './task-tally.js';
import { HELD_RUN_AT, isHeld, isSettled, type LiveTask, type TaskInput, type TaskSlices, type TaskState } from './task-types.js';
import { SliceSizer } from './turn-budget.js';

/** Largest params (encoded) kept in memory while a task waits; 10 KB params for 60,000 queued tasks would be 600 MB. */
const RETAINED_PARAMS_MAX_BYTES = 1024;

/**
 * Tasks per transaction of a big submission (store/staged-submissions.ts): a few ms of inserts each.
 * A submission of at most this many is one transaction, as before.
 */
const SLICE_TASKS = 500;

/** Names input i's key in a bulk submission. */
const itemKeyField = (i: number): string => `body/${i}/key`;

/** Refuses `input` under `key` when the key already names a task of another type or params. */
function sameAsKeyed(key: string, type: string, params: Buffer, input: TaskInput, field: string): void {
  if (type === input.type && params.equals(encodeValue(input.params ?? null))) return;
  throw new LedgerError(409, 'KEY_CONFLICT', `key ${JSON.stringify(key)} already names a task with a different type or params`, field);
}

/** A submission's fresh tasks, as `insert` numbered them, for `writeSlice`. */
interface FreshSlices {
  inputs: TaskInput[];
  /** The input index of each fresh task; fresh task k has seq `firstSeq + k`. */
  fresh: number[];
  /** Task ids by input index. */
  ids: string[];
  /** Whether fresh task k spills (Spill.decide). */
  cold: boolean[];
  firstSeq: number;
  jobId: string | null;
  now: number;
  /** Where the tasks that wait in memory are collected as their slices become durable. */
  kept: LiveTask[];
}

/** Fresh tasks `start`.. made for one write. */
interface FreshSlice {
  tasks: LiveTask[];
  encoded: Buffer[];
  cold: boolean[];
  start: number;
  jobId: string | null;
  now: number;
}

/** What of the ledger a submission uses. */
export interface SubmissionParts {
  store: TaskStore;
  commit: GroupCommit;
  spill: Spill;
  tally: TaskTally;
  queues: TaskQueues;
  live: Map<string, LiveTask>;
  maxAttempts: number;
  /** The last seq handed out (set from the store at load). */
  seq: { next: number };
  /** New tasks are queued and their submission is about to be acknowledged. */
  onReady(): void;
}

export class TaskSubmission {
  /** Idempotency keys submitted but not committed yet (with what they were submitted with), so two racing requests get one task. */
  private readonly pendingKeys = new Map<string, { type: string; params: Buffer; id: Promise<string> }>();

  /** Durable submissions whose tasks are still being put in the queues, a slice at a time. */
  private readonly queueing = new Set<Promise<void>>();

  constructor(private readonly l: SubmissionParts) {}

  /**
   * The task an idempotency key names (submissions not yet committed included), or null.
   * @param input when given, what is submitted now under the key.
   * @throws LedgerError KEY_CONFLICT (409, naming `field`) when the key names a task of another type or params:
   *   the new submission would otherwise be dropped silently.
   */
  findTaskByKey(key: string, input?: TaskInput, field = 'body/key'): Promise<string> | string | null {
    const pending = this.pendingKeys.get(key);
    if (pending) {
      if (input) sameAsKeyed(key, pending.type, pending.params, input, field);
      return pending.id;
    }
    const row = this.l.store.getTaskByKey(key);
    if (!row) return null;
    if (input) sameAsKeyed(key, row.type, encodeValue(row.params), input, field);
    return row.id;
  }

  /**
   * Creates a job (optionally) and its tasks; resolves once they are durable.
   * Inputs whose `key` already names a task (of the same type and params) return that task's id instead.
   * @param jobId the job the tasks belong to, or null.
   * @param newJob set when `jobId` is a job to create with these tasks; unset to add to an existing job.
   * @param keyField names input i's key in a KEY_CONFLICT error.
   * @throws LedgerError JOB_NOT_FOUND, JOB_CLOSED (a close or cancel was asked for), KEY_CONFLICT.
   */
  submit(inputs: TaskInput[], jobId: string | null, newJob?: NewJob, keyField = itemKeyField): Promise<string[]> {
    if (jobId === null || newJob) return this.insert(inputs, jobId, newJob, keyField);
    const job = this.l.tally.jobs.get(jobId);
    if (!job) return Promise.reject(new LedgerError(404, 'JOB_NOT_FOUND', `no job ${jobId}`, 'id'));
    if (job.closing) return Promise.reject(new LedgerError(409, 'JOB_CLOSED', 'job is closed and takes no more tasks', 'id'));
    // Tracked until its tasks are in the ledger, so that a close or cancel acknowledged later covers them.
    const adding = this.insert(inputs, jobId, undefined, keyField);
    job.adding.add(adding);
    const done = () => void job.adding.delete(adding);
    adding.then(done, done);
    return adding;
  }

  private async insert(inputs: TaskInput[], jobId: string | null, newJob: NewJob | undefined, keyField: (i: number) => string): Promise<string[]> {
    const now = Date.now();
    const ids: string[] = new Array(inputs.length);
    /** The input index of each fresh task, in seq order: fresh task k has seq `firstSeq + k`. */
    const fresh: number[] = [];
    const waits: Array<Promise<void>> = [];
    /** Inputs whose key named a submission whose commit then failed: this one creates them after all. */
    const orphaned: number[] = [];
    const keysHere = new Map<string, { id: string; type: string; params: Buffer }>();
    /** Existing tasks (of other submissions) that inputs named by key: they join this job too. */
    const known: string[] = [];
    // A big submission is numbered from a block of seqs taken now (it yields while numbering, and its
    // staged range must hold no one else's task); the rest take the next seq one by one, as always.
    const sliced = inputs.length > SLICE_TASKS;
    const firstSeq = this.l.seq.next + 1;
    const seqs = sliced ? { next: this.l.seq.next } : this.l.seq;
    if (sliced) this.l.seq.next += inputs.length;
    // Keys are claimed as their tasks are numbered (a racing submission then waits for this one), and
    // given up once this submission is durable or has failed.
    let settle!: (ok: boolean) => void;
    const durable = new Promise<void>((resolve, reject) => (settle = (ok) => (ok ? resolve() : reject(new Error('submission failed')))));
    durable.catch(() => {});
    const keyed: string[] = [];
    let decision: SpillDecision | null = null;
    /** The fresh tasks that wait in memory once durable (ready or held): spilled ones are only counted. */
    const kept: LiveTask[] = [];
    try {
      for (let i = 0; i < inputs.length; i++) {
        if (sliced && i > 0 && i % SLICE_TASKS === 0) await yieldToLoop();
        const input = inputs[i];
        if (input.key !== undefined) {
          // The same key twice in one submission is one task, like the same key in two submissions.
          const here = keysHere.get(input.key);
          if (here) sameAsKeyed(input.key, here.type, here.params, input, keyField(i));
          if (here) {
            ids[i] = here.id;
            continue;
          }
          const existing = this.findTaskByKey(input.key, input, keyField(i));
          if (typeof existing === 'string') {
            ids[i] = existing;
            known.push(existing);
            continue;
          }
          if (existing) {
            waits.push(existing.then((id) => void known.push((ids[i] = id)), () => void orphaned.push(i)));
            continue;
          }
        }
        // Numbered now (seq firstSeq + k), made into a task only when its slice is written.
        seqs.next++;
        const id = input.id ?? newTimeOrderedId('t_');
        ids[i] = id;
        fresh.push(i);
        if (input.key !== undefined) {
          const params = encodeValue(input.params ?? null);
          keysHere.set(input.key, { id, type: input.type, params });
          const keyedId = durable.then(() => id);
          // A racing submission awaits this; if nobody does, a failed commit must not become an unhandled rejection.
          keyedId.catch(() => {});
          this.pendingKeys.set(input.key, { type: input.type, params, id: keyedId });
          keyed.push(input.key);
        }
      }
      decision = this.l.spill.decide(fresh.length, (k) => inputs[fresh[k]]);
      const slices: FreshSlices = { inputs, fresh, ids, cold: decision.cold, firstSeq, jobId, now, kept };
      await (sliced
        ? this.writeSliced(slices, firstSeq + inputs.length - 1, newJob)
        : this.writeSlice(slices, 0, fresh.length, (slice) => this.l.commit.write(() => this.writeTasks(slice, newJob))));
      settle(true);
    } catch (err) {
      settle(false);
      throw err;
    } finally {
      for (const key of keyed) this.pendingKeys.delete(key);
      if (decision) this.l.spill.settled(decision);
    }
    await this.enter(jobId, newJob, now, fresh.length, [decision as SpillDecision], kept, sliced);
    await Promise.all(waits);
    if (orphaned.length > 0) {
      // Our own tasks are durable: answering with an error now would make the client resend (and duplicate) them.
      const again = await this.insert(orphaned.map((i) => inputs[i]), jobId, undefined, (k) => keyField(orphaned[k]));
      orphaned.forEach((i, k) => (ids[i] = again[k]));
    }
    if (jobId !== null) {
      if (known.length > 0) await this.link(jobId, [...new Set(known)]);
    }
    if (fresh.length > 0) this.l.onReady();
    return ids;
  }

  /**
   * Makes a durable submission's tasks known: its new job, its counts, its spilled classes, and its kept
   * tasks queued. Runs in the turn its last commit ended in.
   * @param fresh how many tasks it created.
   */
  private async enter(jobId: string | null, newJob: NewJob | undefined, now: number, fresh: number, decisions: SpillDecision[], kept: LiveTask[], sliced: boolean): Promise<void> {
    if (jobId && newJob) {
      const closedAt = newJob.open ? null : now;
      this.l.tally.addJob({ id: jobId, key: newJob.key, createdAt: now, closedAt, cancelledAt: null, params: newJob.params ?? null });
    }
    // Counted at once, so that the job never looks complete while some of its tasks are still being queued.
    this.l.tally.addLoaded(jobId, 'queued', fresh, false);
    // Spilled tasks are counted in one step, in the same turn as the end of `decide`'s pending count.
    for (const decision of decisions) for (const { type, priority, n } of decision.spilled.values()) this.l.queues.addCold(type, priority, n);
    if (!sliced) {
      this.queueSlice(kept, 0, kept.length, Date.now());
      return;
    }
    // Queued in slices too (one turn for 200,000 tasks held the loop for hundreds of ms). Until the
    // last slice, a close or cancel of the job waits for it (job.adding), and so does a cancel by id.
    const queueing = this.queue(kept);
    const job = jobId === null ? undefined : this.l.tally.jobs.get(jobId);
    job?.adding.add(queueing);
    this.queueing.add(queueing);
    try {
      await queueing;
    } finally {
      job?.adding.delete(queueing);
      this.queueing.delete(queueing);
    }
  }

  /**
   * Creates job `jobId` with the plain tasks of `source`, read a slice at a time: each slice is made into
   * tasks just before its write, so no more than a slice of inputs is alive at once (200,000 of them made
   * the young-generation GC pause for 20-30 ms at a time). Every task spills: the import waits in the
   * store and is paged in as workers take it, as a backlog past hotQueueMax does (the 60,000 tasks kept
   * in memory otherwise, promoted as they came, made scavenges of 8-14 ms all through the import).
   * Numbered from a block of seqs taken now, and written staged, as a big `insert` is (stagedWrite), in
   * slices sized to write in about a turn's budget (turn-budget.ts: 500-task slices took 3-6 ms).
   */
  async importJob(source: TaskSlices, jobId: string, newJob: NewJob): Promise<number> {
    const now = Date.now();
    const { count } = source;
    const firstSeq = this.l.seq.next + 1;
    this.l.seq.next += count;
    const lastSeq = firstSeq + count - 1;
    const decisions: SpillDecision[] = [];
    const kept: LiveTask[] = [];
    let written = 0;
    try {
      const sizer = new SliceSizer(SLICE_TASKS);
      for await (const inputs of source.slices(() => sizer.size)) {
        const start = written;
        written += inputs.length;
        if (written > count) break;
        const decision = this.l.spill.decide(inputs.length, (k) => inputs[k], true);
        decisions.push(decision);
        const slice: FreshSlices = {
          inputs,
          fresh: inputs.map((_, k) => k),
          ids: inputs.map((input) => input.id ?? newTimeOrderedId('t_')),
          cold: decision.cold,
          firstSeq: firstSeq + start,
          jobId,
          now,
          kept,
        };
        const wrote = (ms: number) => sizer.wrote(inputs.length, ms);
        await this.writeSlice(slice, 0, inputs.length, this.stagedWrite(firstSeq, lastSeq, start === 0, written === count, newJob, wrote));
        // The commit ran in this turn: the next slice is parsed and made in the next one, not on top of it.
        // After the last there is nothing left to parse: the job is entered at once.
        if (written < count) await yieldToLoop();
      }
      // The staged range and the job's count were taken from `count`: the slices must hold that many.
      if (written !== count) throw new Error(`the submission held ${written} tasks, not the ${count} it counted`);
    } catch (err) {
      if (written > 0) this.discardStaged(firstSeq);
      throw err;
    } finally {
      for (const decision of decisions) this.l.spill.settled(decision);
    }
    await this.enter(jobId, newJob, now, count, decisions, kept, true);
    if (count > 0) this.l.onReady();
    return count;
  }

  /** Queues durable kept tasks a slice at a time, letting the dispatcher at each slice as it is queued. */
  private async queue(kept: LiveTask[]): Promise<void> {
    for (let start = 0; start < kept.length; start += SLICE_TASKS) {
      if (start > 0) await yieldToLoop();
      this.queueSlice(kept, start, Math.min(start + SLICE_TASKS, kept.length), Date.now());
      this.l.onReady();
    }
  }

  /** Puts durable kept tasks `start`..`end` where they wait: the ready queues, or aside (held). */
  private queueSlice(kept: LiveTask[], start: number, end: number, enqueuedAt: number): void {
    for (let i = start; i < end; i++) {
      const t = kept[i];
      this.l.live.set(t.id, t);
      // A held task waits outside the queues until settleHeld ends it (a quorum task; see TaskInput.hold).
      if (!isHeld(t)) this.l.queues.add(t, enqueuedAt);
    }
  }

  /** Resolves once no durable submission is still being queued (a task of one is not live yet). */
  async queued(): Promise<void> {
    while (this.queueing.size > 0) await Promise.allSettled([...this.queueing]);
  }

  /**
   * Makes fresh tasks `start`..`end` and their encoded params, has `write` store them, and once that is
   * durable keeps those that wait in memory. Tasks are made a slice at a time, just before their write,
   * so that a big submission does not hold a task object and a params buffer for every line until it is
   * acknowledged (the young-generation GC copied them all, in pauses of 20-30 ms); only kept ones stay.
   */
  private async writeSlice(f: FreshSlices, start: number, end: number, write: (slice: FreshSlice) => Promise<void>): Promise<void> {
    const tasks: LiveTask[] = new Array(end - start);
    const encoded: Buffer[] = new Array(end - start);
    for (let k = start; k < end; k++) {
      const i = f.fresh[k];
      const task = this.newTask(f.inputs[i], f.ids[i], f.jobId, f.now, f.firstSeq + k);
      tasks[k - start] = task;
      encoded[k - start] = encodeValue(task.params);
    }
    const slice: FreshSlice = { tasks, encoded, cold: f.cold, start, jobId: f.jobId, now: f.now };
    await write(slice);
    for (let j = 0; j < tasks.length; j++) {
      const t = tasks[j];
      if (isHeld(t)) f.kept.push(t);
      else if (!f.cold[start + j]) {
        // Big params are not held while the task waits: the assignment reads them back from the store.
        if (encoded[j].length > RETAINED_PARAMS_MAX_BYTES) {
          t.params = undefined;
          t.paramsLoaded = false;
        }
        f.kept.push(t);
      }
    }
  }

  /** Writes a slice of fresh tasks (and the new job, if any): runs inside a group commit. */
  private writeTasks(slice: FreshSlice, newJob: NewJob | undefined): void {
    const { tasks, encoded, cold, start, jobId, now } = slice;
    if (jobId && newJob) this.l.store.insertJob(jobId, newJob.key, now, newJob.open ? null : now, newJob.params ?? null);
    for (let j = 0; j < tasks.length; j++) {
      const t = tasks[j];
      this.l.store.insertTask(t, encoded[j]);
      if (cold[start + j]) this.l.store.spill.add(t.seq, t.type, t.priority, t.jobId);
    }
  }

  /**
   * Writes a big submission in slices of SLICE_TASKS, one group commit each (stagedWrite); resolves once
   * the last slice is durable. `f.firstSeq`..`lastSeq` is the block `insert` numbered them from.
   */
  private async writeSliced(f: FreshSlices, lastSeq: number, newJob: NewJob | undefined): Promise<void> {
    const total = f.fresh.length;
    try {
      for (let start = 0; start < total; start += SLICE_TASKS) {
        const end = Math.min(start + SLICE_TASKS, total);
        await this.writeSlice(f, start, end, this.stagedWrite(f.firstSeq, lastSeq, start === 0, end === total, newJob));
      }
    } catch (err) {
      this.discardStaged(f.firstSeq);
      throw err;
    }
  }

  /**
   * The write of one slice of a big submission, in a group commit of its own so that the foreman serves
   * everyone else between them (one transaction of 200,000 tasks held the event loop for seconds). The
   * seq range `firstSeq`..`lastSeq` is staged in the first slice and unstaged in the last, which also
   * writes the new job: until then reads leave the tasks out, nothing is queued in memory, and a
   * restart deletes them (store/staged-submissions.ts).
   */
  private stagedWrite(firstSeq: number, lastSeq: number, first: boolean, last: boolean, newJob: NewJob | undefined, wrote?: (ms: number) => void): (slice: FreshSlice) => Promise<void> {
    const { store, commit } = this.l;
    return (slice) =>
      commit.write(() => {
        const t = performance.now();
        if (first) store.staged.stage(firstSeq, lastSeq);
        this.writeTasks(slice, last ? newJob : undefined);
        if (last) store.staged.unstage(firstSeq);
        wrote?.(performance.now() - t);
      });
  }

  /** A big submission was refused part way: it was never acknowledged, so none of what its slices wrote may stay. */
  private discardStaged(firstSeq: number): void {
    // Should this write fail too, the next start deletes it.
    this.l.commit.write(() => void this.l.store.staged.discard(firstSeq)).catch(() => {});
  }

  /**
   * Tasks of other jobs that this submission named by key belong to this job too, so that the job
   * accounts for every input: they count in its progress and appear in its result stream.
   */
  private async link(jobId: string, ids: string[]): Promise<void> {
    const linked: string[] = [];
    await this.l.commit.write(
      () => {
        for (const id of ids) {
          const row = this.l.store.retryCandidate(id);
          if (row && row.jobId !== jobId && this.l.store.linkTask(jobId, row.seq)) linked.push(id);
        }
      },
      () => {
        // Right after the commit, in the same turn: memory holds every move decided so far (a settle
        // decided earlier is in this commit or an earlier one, so the row read here shows it).
        for (const id of linked) {
          const state = (this.l.live.get(id)?.state as TaskState | undefined) ?? (this.l.store.retryCandidate(id) as { state: TaskState }).state;
          const settled = isSettled(state);
          this.l.tally.addToJob(jobId, state, 1, settled);
          if (!settled) this.l.tally.links.set(id, [...(this.l.tally.links.get(id) ?? []), jobId]);
        }
      },
    );
  }

  private newTask(input: TaskInput, id: string, jobId: string | null, now: number, seq: number): LiveTask {
    return {
      seq,
      id,
      jobId,
      key: input.key ?? null,
      type: input.type,
      priority: input.priority ?? 0,
      params: input.params ?? null,
      paramsLoaded: true,
      state: 'queued',
      attempt: 0,
      failures: 0,
      losses: 0,
      maxAttempts: input.maxAttempts ?? this.l.maxAttempts,
      timeoutMs: input.timeoutMs ?? null,
      workerId: null,
      runAt: input.hold ? HELD_RUN_AT : startAtOf(input, now),
      createdAt: now,
      startedAt: null,
      progress: null,
      queued: false,
      excludeWorkers: input.excludeWorkers ?? null,
    };
  }
}
