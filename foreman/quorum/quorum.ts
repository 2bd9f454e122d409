/**
 * Redundant execution: a task with `quorum` runs as several replica tasks on
 * distinct workers, and its one accepted result is the answer `agree` of them
 * gave. The task itself (the "parent", the id the client holds) is held — queued
 * but never dispatched — until this room settles it with the canonical answer,
 * or with NO_CONSENSUS once `maxReplicas` replicas have not agreed.
 *
 * Replicas are ordinary tasks (no job, same type and params): fencing, retries,
 * losses and durability are the ledger's, unchanged. The room hears of them
 * through narrow hooks: submission (`submit`), a claim on a shared store
 * (`claimed`, to learn which claimed tasks are replicas), assignment (`assigned`,
 * to keep sibling replicas off that worker) and settlement (`settled`). Each
 * replica's ending is a vote: the store records it and judges the group in one
 * transaction (tally.ts decides), so with several foremen exactly one of them
 * decides a group, ends the parent with `ledger.settleHeld` and scores each answer
 * once. Late replicas (still running when the others agreed) are judged when
 * they finish, so a liar cannot hide by being slow.
 *
 * In memory, per foreman: which replicas live here belong to which group, and the
 * workers (and addresses) each group has used, which the dispatcher asks about
 * (`LiveTask.excludeWorkers`); on a shared store a claim reads them from the database.
 */
import { newTimeOrderedId } from '../../shared/ids.js';
import type { NewJob, SettledTask, StoreReads, TaskLedger, HeldOutcome } from '../ledger.js';
import { mergeJobParams } from '../job-params.js';
import type { LiveTask, TaskInput } from '../task-types.js';
import type { Answer } from './compare.js';
import { parseQuorum, type QuorumSpec } from './quorum-spec.js';
import type { Ballot, GroupRow, NewGroup, QuorumStore, ReplicaTemplate, WorkerScore } from './quorum-store.js';
import type { ReputationRule } from './reputation.js';
import { outcomeOfDecided, tally } from './tally.js';

export { NO_CONSENSUS } from './tally.js';

/** How often the rows of quorum tasks that retention removed are deleted, in ms. */
const ORPHAN_SWEEP_MS = 10 * 60 * 1000;

/** The workers (and addresses) a group's replicas used, for the dispatcher. */
interface Exclusion {
  distinct: QuorumSpec['distinct'];
  workers: Set<string>;
  addresses: Set<string>;
  /** Replicas of the group held in this foreman's memory. */
  replicas: Set<string>;
  /** What the dispatcher asks about each replica of this group. */
  exclude: { has(workerId: string): boolean };
}

export interface QuorumDeps {
  store: QuorumStore;
  /**
   * Shared store: how often to look for groups a dead foreman left stranded, and how old (ms) a
   * settlement with no vote must be to count as stranded (a live foreman votes within moments).
   */
  strandedSweep?: { everyMs: number; afterMs: number };
  tasks: TaskLedger;
  reads: StoreReads;
  rule: ReputationRule;
  /** The address a worker connects from, for `distinct: 'address'`. */
  addressOf(workerId: string): string | null;
  random?: () => number;
  log?: { warn(obj: object, msg: string): void };
}

/** A submission problem, naming the field. */
export class QuorumInputError extends Error {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

export class Quorum {
  readonly store: QuorumStore;
  /** Groups with a replica in this foreman's memory, by parent id. */
  private readonly groups = new Map<string, Exclusion>();
  private readonly parentOf = new Map<string, string>();
  private quarantined = new Set<string>();
  private readonly random: () => number;
  private sweepTimer: NodeJS.Timeout | null = null;
  private strandedTimer: NodeJS.Timeout | null = null;
  private sweeping = false;
  /** Settled tasks this foreman cannot place yet (a replica it did not submit or claim, a cancelled parent). */
  private unplaced: SettledTask[] = [];
  private topShown: Array<WorkerScore & { quarantined: boolean }> = [];
  private topLoading = false;

  constructor(private readonly deps: QuorumDeps) {
    this.store = deps.store;
    this.random = deps.random ?? Math.random;
  }

  /** Starts the sweeps: rows of quorum tasks retention removed; on a shared store, groups a dead foreman left stranded. */
  start(): void {
    this.sweepTimer ??= setInterval(() => void this.store.purgeOrphans().catch(() => {}), ORPHAN_SWEEP_MS);
    this.sweepTimer.unref();
    const stranded = this.deps.strandedSweep;
    if (stranded && this.store.stranded && !this.strandedTimer) {
      this.strandedTimer = setInterval(() => void this.sweepStranded(stranded.afterMs), stranded.everyMs);
      this.strandedTimer.unref();
    }
  }

  /** Stops the sweeps. Idempotent. */
  stop(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.strandedTimer) clearInterval(this.strandedTimer);
    this.sweepTimer = null;
    this.strandedTimer = null;
  }

  /**
   * Finishes what a foreman that died left undone (a settled replica it never voted, replicas it
   * never submitted, a parent it never settled). Votes and settlements are compare-and-set, so a
   * foreman that was only slow loses nothing when this gets there too.
   */
  private async sweepStranded(afterMs: number): Promise<void> {
    if (this.sweeping || !this.store.stranded) return;
    this.sweeping = true;
    // Replicas claimed here and handed back unrun (idle claims) left this foreman without settling:
    // forget them (one that settles after all is still found, by `place`).
    for (const [replicaId, parentId] of this.parentOf) if (!this.deps.tasks.live.has(replicaId)) this.untrack(parentId, replicaId);
    try {
      for (const row of await this.store.stranded(Date.now() - afterMs)) await this.recover(row);
    } catch (err) {
      this.deps.log?.warn({ err }, 'could not look for stranded quorum tasks; looking again at the next sweep');
    } finally {
      this.sweeping = false;
    }
  }

  /** Picks up what a previous run (or a foreman that stopped) left open: replicas not created, answers not judged, parents not settled. */
  async load(): Promise<void> {
    this.quarantined = new Set(await this.store.quarantined());
    for (const row of await this.store.openGroups()) {
      try {
        await this.recover(row);
      } catch (err) {
        this.deps.log?.warn({ err, taskId: row.parentId }, 'could not pick up a quorum task; it is picked up again at the next start');
      }
    }
  }

  private async recover(row: GroupRow): Promise<void> {
    const parent = await this.deps.reads.getTask(row.parentId);
    if (!parent) {
      // The parent never made it to the store (a crash between the two writes): nothing to finish. On a
      // shared store another foreman may be between those writes right now: its rows are left alone.
      if (!this.store.shared) await this.store.deleteGroups([row.parentId]);
      return;
    }
    const replicas = await this.store.replicasOf(row.parentId);
    const missing: string[] = [];
    const live: LiveTask[] = [];
    for (const r of replicas) {
      if (r.verdict !== null || r.answer !== null) continue;
      const held = this.deps.tasks.live.get(r.replicaId);
      if (held) live.push(held);
      else {
        const task = await this.deps.reads.getTask(r.replicaId);
        if (!task) missing.push(r.replicaId);
        else if (task.state === 'succeeded' || task.state === 'failed' || task.state === 'cancelled') {
          await this.vote({ ...task, state: task.state, finishedAt: task.finishedAt ?? Date.now() } as SettledTask);
        }
      }
    }
    if (live.length > 0) await this.adopt(row.parentId, live);
    if (missing.length > 0) await this.submitReplicas([{ group: row, ids: missing }]);
    if (row.decidedAt !== null && parent.state === 'queued') {
      // Decided, but the foreman stopped before the parent's own settlement was written.
      const outcome = outcomeOfDecided(row, replicas);
      if (outcome) await this.settleParent(row.parentId, outcome);
    }
  }

  /**
   * Submits tasks, some with a quorum (their own, or the job's). Those become a held parent plus
   * replicas; the rest go to the ledger as they are. Resolves with the ids, as `ledger.submit` does.
   * @throws QuorumInputError naming the bad field.
   */
  async submit(inputs: TaskInput[], jobId: string | null, newJob?: NewJob & { quorum?: unknown }, fieldPrefix = 'body', keyField?: (i: number) => string): Promise<string[]> {
    const jobQuorum = newJob?.quorum;
    if (jobQuorum === undefined && !inputs.some((t) => t.quorum !== undefined)) return this.deps.tasks.submit(inputs, jobId, newJob, keyField);
    const jobParams = newJob?.params ?? (jobId ? ((await this.deps.tasks.getJob(jobId))?.params ?? null) : null);
    const planned: Array<{ index: number; group: NewGroup }> = [];
    const ledgerInputs = inputs.map((input, index) => {
      const raw = input.quorum ?? jobQuorum;
      if (raw === undefined) return input;
      const spec = parseQuorum(raw, input.points);
      if (typeof spec === 'string') throw new QuorumInputError(spec, `${fieldPrefix}/${index}/quorum`);
      const parentId = newTimeOrderedId('t_');
      const { quorum: _q, points: _p, ...rest } = input;
      const template: ReplicaTemplate = { type: input.type, params: mergeJobParams(jobParams, input.params ?? null) ?? null, priority: input.priority, maxAttempts: input.maxAttempts, timeoutMs: input.timeoutMs };
      const first = spec.adaptive ? 1 : spec.replicas;
      planned.push({ index, group: { parentId, spec, template, replicaIds: Array.from({ length: first }, () => newTimeOrderedId('t_')) } });
      return { ...rest, id: parentId, hold: true };
    });
    // The group first: a restarted foreman finds a group whose parent is missing and drops it, never the reverse.
    await this.store.insertGroups(planned.map((p) => p.group), Date.now());
    let ids: string[];
    try {
      ids = await this.deps.tasks.submit(ledgerInputs, jobId, newJob, keyField);
    } catch (err) {
      // Refused (a key conflict, the store): the groups have no parents and never will.
      await this.store.deleteGroups(planned.map((p) => p.group.parentId));
      throw err;
    }
    // An idempotency key named an existing task: that one stands, this group was never needed.
    const unneeded = planned.filter((p) => ids[p.index] !== p.group.parentId);
    if (unneeded.length > 0) await this.store.deleteGroups(unneeded.map((p) => p.group.parentId));
    await this.submitReplicas(planned.filter((p) => ids[p.index] === p.group.parentId).map((p) => ({ group: { ...p.group, decidedAt: null, canonical: null }, ids: p.group.replicaIds })), true);
    return ids;
  }

  /**
   * Tasks this foreman claimed from a shared store (before any is dispatched): the replicas among them
   * (`quorumParent`) learn the workers their siblings used, wherever they ran, and who is quarantined.
   */
  async claimed(tasks: LiveTask[]): Promise<void> {
    const byParent = new Map<string, LiveTask[]>();
    for (const t of tasks) if (t.quorumParent) byParent.set(t.quorumParent, [...(byParent.get(t.quorumParent) ?? []), t]);
    if (byParent.size === 0) return;
    const [exclusions, quarantined] = await Promise.all([this.store.exclusions([...byParent.keys()]), this.store.quarantined()]);
    this.quarantined = new Set(quarantined);
    for (const [parentId, replicas] of byParent) {
      const known = exclusions.get(parentId);
      const ex = this.exclusion(parentId, known?.distinct ?? 'worker', known?.workers ?? []);
      for (const t of replicas) this.track(ex, parentId, t);
    }
  }

  /** Of these workers, those that may run quorum replicas (not quarantined). */
  eligible(workerIds: Iterable<string>): string[] {
    return [...workerIds].filter((id) => !this.quarantined.has(id));
  }

  /** The dispatcher assigned a task: if it is a replica, its siblings stay off this worker (and address). */
  assigned(task: LiveTask): void {
    const parentId = this.parentOf.get(task.id);
    const ex = parentId === undefined ? undefined : this.groups.get(parentId);
    if (ex && task.workerId) this.markUsed(ex, task.workerId);
  }

  /** A task settled (durable): a replica's ending is a vote; a parent cancelled takes its replicas with it. */
  settled(t: SettledTask): void {
    if (this.parentOf.has(t.id)) return void this.vote(t);
    // Not a replica this foreman knows: a cancelled task may be a parent; on a shared store, a task with
    // no job and no key may be a replica another foreman submitted (adopted here with its worker).
    if (t.state !== 'cancelled' && !(this.store.shared && t.jobId === null && t.key === null)) return;
    this.unplaced.push(t);
    if (this.unplaced.length === 1) setImmediate(() => void this.place());
  }

  /** Looks up the settled tasks this foreman could not place, in one query. */
  private async place(): Promise<void> {
    const batch = this.unplaced;
    this.unplaced = [];
    try {
      const found = await this.store.lookup(batch.map((t) => t.id));
      for (const t of batch) {
        const parentId = found.replicas.get(t.id);
        if (parentId !== undefined) {
          this.parentOf.set(t.id, parentId);
          void this.vote(t);
        } else if (found.parents.has(t.id) && t.state === 'cancelled') void this.cancelReplicas(t.id);
      }
    } catch (err) {
      this.deps.log?.warn({ err }, 'could not look up settled tasks for quorum; their groups are picked up at the next start');
    }
  }

  /** Whether `taskId` is a quorum task's parent (retrying one as a plain task is refused). */
  async isParent(taskId: string): Promise<boolean> {
    return (await this.store.group(taskId)) !== null;
  }

  /** What GET /tasks/:id shows of a quorum task: its spec, and each replica's worker, answer and verdict. */
  async describe(taskId: string): Promise<object | null> {
    const row = await this.store.group(taskId);
    if (!row) return null;
    const replicas = await this.store.replicasOf(taskId);
    return {
      ...row.spec,
      decided: row.decidedAt !== null,
      replicas: replicas.map((r) => ({ taskId: r.replicaId, workerId: r.workerId, answer: r.answer, verdict: r.verdict })),
    };
  }

  /**
   * The `limit` workers with the most points (then reputation), as the dashboard shows them: read at
   * once from a local store; from a shared one, the last read (a new one starts on each call).
   */
  top(limit: number): Array<WorkerScore & { quarantined: boolean }> {
    const view = (scores: WorkerScore[]) => scores.map((s) => ({ ...s, quarantined: s.quarantinedAt !== null }));
    const read = this.store.top(limit);
    if (Array.isArray(read)) return view(read);
    if (!this.topLoading) {
      this.topLoading = true;
      void read.then((scores) => (this.topShown = view(scores)), () => {}).finally(() => (this.topLoading = false));
    } else void read.catch(() => {});
    return this.topShown;
  }

  private exclusion(parentId: string, distinct: QuorumSpec['distinct'], used: Iterable<string>): Exclusion {
    let ex = this.groups.get(parentId);
    if (!ex) {
      const made: Exclusion = {
        distinct, workers: new Set(), addresses: new Set(), replicas: new Set(),
        exclude: {
          has: (workerId) => {
            if (made.workers.has(workerId) || this.quarantined.has(workerId)) return true;
            if (made.distinct !== 'address') return false;
            const address = this.deps.addressOf(workerId);
            return address !== null && made.addresses.has(address);
          },
        },
      };
      ex = made;
      this.groups.set(parentId, ex);
    }
    for (const w of used) this.markUsed(ex, w);
    return ex;
  }

  private track(ex: Exclusion, parentId: string, task: LiveTask | TaskInput): void {
    ex.replicas.add(task.id as string);
    this.parentOf.set(task.id as string, parentId);
    task.excludeWorkers = ex.exclude;
    if ('workerId' in task && task.workerId) this.markUsed(ex, task.workerId);
  }

  private markUsed(ex: Exclusion, workerId: string): void {
    ex.workers.add(workerId);
    const address = this.deps.addressOf(workerId);
    if (address !== null) ex.addresses.add(address);
  }

  /** Replicas held in memory at a restart (a local store): their group's exclusion, as stored. */
  private async adopt(parentId: string, live: LiveTask[]): Promise<void> {
    const known = (await this.store.exclusions([parentId])).get(parentId);
    const ex = this.exclusion(parentId, known?.distinct ?? 'worker', known?.workers ?? []);
    for (const t of live) this.track(ex, parentId, t);
  }

  /**
   * Submits replica tasks whose rows exist, in one submission, each group's first replica before any
   * group's second: siblings lie apart in the queue, so a claim of several tasks rarely takes two of one
   * group (which one foreman's workers might not all be allowed to run). On a local store replicas
   * carry their group's exclusion; on a shared one the foreman that claims each learns it then (`claimed`).
   * @param fresh the groups were just made: no exclusion to read back.
   */
  private async submitReplicas(batch: Array<{ group: GroupRow; ids: string[] }>, fresh = false): Promise<void> {
    const rounds: TaskInput[][] = [];
    for (const { group, ids } of batch) {
      const t = group.template;
      const inputs: TaskInput[] = ids.map((id) => ({ id, type: t.type, params: t.params, priority: t.priority, maxAttempts: t.maxAttempts, timeoutMs: t.timeoutMs }));
      if (!this.store.shared) {
        // After a restart the group's exclusion may not be in memory yet: it is read back first.
        const known = fresh || this.groups.has(group.parentId) ? undefined : (await this.store.exclusions([group.parentId])).get(group.parentId);
        const ex = this.exclusion(group.parentId, group.spec.distinct, known?.workers ?? []);
        for (const input of inputs) this.track(ex, group.parentId, input);
      }
      inputs.forEach((input, i) => (rounds[i] ??= []).push(input));
    }
    if (rounds.length === 0) return;
    try {
      await this.deps.tasks.submit(rounds.flat(), null);
    } catch (err) {
      // On a shared store, a foreman picking up open groups at its start may have submitted them first.
      this.deps.log?.warn({ err, taskIds: batch.map((b) => b.group.parentId) }, 'could not submit quorum replicas; they are submitted again at the next start');
    }
  }

  /** Records a replica's ending and judges its group (in the store, atomically), then does what was decided. */
  private async vote(t: SettledTask): Promise<void> {
    const parentId = this.parentOf.get(t.id) as string;
    this.untrack(parentId, t.id);
    const ballot: Ballot = t.state === 'cancelled'
      ? { workerId: t.workerId, cancelled: true }
      : { workerId: t.workerId, answer: t.state === 'succeeded' ? { ok: true, value: t.result } : { ok: false, code: t.error?.code ?? 'HANDLER_ERROR', message: t.error?.message ?? '' } };
    const now = Date.now();
    const ctx = { rule: this.deps.rule, random: this.random, newId: () => newTimeOrderedId('t_'), now };
    let outcome;
    try {
      outcome = await this.store.vote(t.id, ballot, (group, replicas, scores) => tally(group, replicas, scores, ctx), now);
    } catch (err) {
      this.deps.log?.warn({ err, taskId: t.id }, 'could not record a quorum replica\'s answer; it is recorded at the next start');
      return;
    }
    if (!outcome) return;
    const { group, replicas, judgment } = outcome;
    for (const s of judgment.quarantined) {
      this.quarantined.add(s.workerId);
      this.deps.log?.warn({ workerId: s.workerId, reputation: s.reputation, invalid: s.invalid }, 'worker quarantined from quorum tasks');
    }
    if (judgment.more.length > 0) await this.submitReplicas([{ group, ids: judgment.more }]);
    if (judgment.decided) await this.settleParent(group.parentId, judgment.decided.outcome);
    // Every replica judged: nothing more will come for this group.
    if ((group.decidedAt !== null || judgment.decided) && replicas.every((r) => r.verdict !== null)) this.forget(group.parentId);
  }

  private async settleParent(parentId: string, outcome: HeldOutcome): Promise<void> {
    try {
      await this.deps.tasks.settleHeld(parentId, outcome);
    } catch (err) {
      this.deps.log?.warn({ err, taskId: parentId }, 'could not settle a quorum task; it is settled again at the next start');
    }
  }

  /** The parent was cancelled: the group is decided without an answer and its unanswered replicas are cancelled. */
  private async cancelReplicas(parentId: string): Promise<void> {
    try {
      for (const id of await this.store.cancelGroup(parentId, Date.now())) await this.deps.tasks.cancel(id);
    } catch (err) {
      this.deps.log?.warn({ err, taskId: parentId }, 'could not cancel the replicas of a cancelled quorum task');
    }
  }

  private untrack(parentId: string, replicaId: string): void {
    this.parentOf.delete(replicaId);
    const ex = this.groups.get(parentId);
    ex?.replicas.delete(replicaId);
    // On a shared store the group's other replicas may live on other foremen: a claim here reads the exclusion again.
    if (ex && this.store.shared && ex.replicas.size === 0) this.groups.delete(parentId);
  }

  private forget(parentId: string): void {
    const ex = this.groups.get(parentId);
    if (!ex) return;
    for (const id of ex.replicas) this.parentOf.delete(id);
    this.groups.delete(parentId);
  }
}

export type { Answer };
