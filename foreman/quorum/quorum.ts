/**
 * Redundant execution: a task with `quorum` runs as several replica tasks on
 * distinct workers, and its one accepted result is the answer `agree` of them
 * gave. The task itself (the "parent", the id the client holds) is held — queued
 * but never dispatched — until this room settles it with the canonical answer,
 * or with NO_CONSENSUS once `maxReplicas` replicas have not agreed.
 *
 * Replicas are ordinary tasks (no job, same type and params): fencing, retries,
 * losses and durability are the ledger's, unchanged. The room hears of them
 * through three narrow hooks: submission (`submit`), assignment (`assigned`, to
 * keep sibling replicas off that worker) and settlement (`settled`), and ends
 * the parent with `ledger.settleHeld`. Late replicas (still running when the
 * others agreed) are judged when they finish, so a liar cannot hide by being slow.
 */
import type { TASK_ERROR_CODES } from '../../shared/errors.js';
import { newTimeOrderedId } from '../../shared/ids.js';
import type { GroupCommit } from '../store/group-commit.js';
import type { Db } from '../store/database.js';
import type { NewJob, SettledTask, StoreReads, TaskLedger } from '../ledger.js';
import { mergeJobParams } from '../job-params.js';
import type { LiveTask, TaskError, TaskInput } from '../task-types.js';
import { classify, type Answer } from './compare.js';
import { parseQuorum, type QuorumSpec } from './quorum-spec.js';
import { QuorumStore, type GroupRow, type ReplicaTemplate, type Verdict, type WorkerScore } from './quorum-store.js';
import { freshScore, scoreAfter, trusted, type ReputationRule } from './reputation.js';

/** How often the rows of quorum tasks that retention removed are deleted, in ms. */
const ORPHAN_SWEEP_MS = 10 * 60 * 1000;

/** The code a quorum task fails with when its replicas never agreed; `error.answers` lists every distinct answer. */
export const NO_CONSENSUS = 'NO_CONSENSUS' satisfies keyof typeof TASK_ERROR_CODES;

interface Replica {
  id: string;
  workerId: string | null;
  answer: Answer | null;
  verdict: Verdict | null;
}

interface Group {
  parentId: string;
  spec: QuorumSpec;
  template: ReplicaTemplate;
  replicas: Map<string, Replica>;
  /** Workers (and, with `distinct: 'address'`, addresses) that ran or run a replica. */
  usedWorkers: Set<string>;
  usedAddresses: Set<string>;
  canonical: Answer | null;
  decided: boolean;
  /** More replicas are being created: no second batch until they exist. */
  growing: boolean;
  /** What the dispatcher asks about each replica of this group. */
  exclude: { has(workerId: string): boolean };
}

export interface QuorumDeps {
  db: Db;
  commit: GroupCommit;
  tasks: TaskLedger;
  reads: StoreReads;
  rule: ReputationRule;
  /** False on a store that cannot hold tasks yet (PostgreSQL): quorum tasks are refused with a 400. */
  supported?: boolean;
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
  private readonly groups = new Map<string, Group>();
  private readonly parentOf = new Map<string, string>();
  private readonly scores = new Map<string, WorkerScore>();
  private readonly random: () => number;
  private sweepTimer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: QuorumDeps) {
    this.store = new QuorumStore(deps.db);
    this.random = deps.random ?? Math.random;
  }

  /** Starts the sweep that deletes the rows of quorum tasks retention removed. */
  start(): void {
    this.sweepTimer ??= setInterval(() => void this.deps.commit.write(() => this.store.purgeOrphans()), ORPHAN_SWEEP_MS);
    this.sweepTimer.unref();
  }

  /** Stops the sweep. Idempotent. */
  stop(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
  }

  /** Picks up what a previous run left open: replicas not yet created, answers not yet judged, parents not yet settled. */
  async load(): Promise<void> {
    for (const s of this.store.allScores()) this.scores.set(s.workerId, s);
    for (const row of this.store.openGroups()) {
      if (!(await this.deps.reads.getTask(row.parentId))) {
        // The parent never made it to the store (a crash between the two writes): nothing to finish.
        await this.deps.commit.write(() => this.store.deleteGroup(row.parentId));
        continue;
      }
      const group = this.track(row);
      const missing: string[] = [];
      for (const r of this.store.replicasOf(row.parentId)) {
        group.replicas.set(r.replicaId, { id: r.replicaId, workerId: r.workerId, answer: r.answer, verdict: r.verdict });
        this.parentOf.set(r.replicaId, row.parentId);
        if (r.workerId) this.markUsed(group, r.workerId);
        const live = this.deps.tasks.live.get(r.replicaId);
        if (live) {
          live.excludeWorkers = group.exclude;
          if (live.workerId) this.markUsed(group, live.workerId);
        } else if (r.verdict === null) {
          const task = await this.deps.reads.getTask(r.replicaId);
          if (!task) missing.push(r.replicaId);
          else if (task.state === 'succeeded' || task.state === 'failed' || task.state === 'cancelled') {
            this.settled({ ...task, state: task.state, finishedAt: task.finishedAt ?? Date.now() } as SettledTask);
          }
        }
      }
      if (missing.length > 0) await this.submitReplicas(group, missing);
      else if (!group.decided) this.evaluate(group);
      else if (this.deps.tasks.live.get(row.parentId)?.state === 'queued') {
        // Decided, but the foreman stopped before the parent's own settlement was written.
        if (group.canonical) await this.decide(group, group.canonical);
        else {
          group.decided = false;
          this.evaluate(group);
        }
      }
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
    const now = Date.now();
    const planned: Array<{ index: number; group: Group; replicaIds: string[] }> = [];
    const ledgerInputs = inputs.map((input, index) => {
      const raw = input.quorum ?? jobQuorum;
      if (raw === undefined) return input;
      if (this.deps.supported === false) throw new QuorumInputError('quorum tasks need the SQLite store for now (not yet --store postgres)', `${fieldPrefix}/${index}/quorum`);
      const spec = parseQuorum(raw, input.points);
      if (typeof spec === 'string') throw new QuorumInputError(spec, `${fieldPrefix}/${index}/quorum`);
      const parentId = newTimeOrderedId('t_');
      const { quorum: _q, points: _p, ...rest } = input;
      const template: ReplicaTemplate = { type: input.type, params: mergeJobParams(jobParams, input.params ?? null) ?? null, priority: input.priority, maxAttempts: input.maxAttempts, timeoutMs: input.timeoutMs };
      const group = this.newGroup(parentId, spec, template);
      const first = spec.adaptive ? 1 : spec.replicas;
      planned.push({ index, group, replicaIds: Array.from({ length: first }, () => newTimeOrderedId('t_')) });
      return { ...rest, id: parentId, hold: true };
    });
    // The group first: a restarted foreman finds a group whose parent is missing and drops it, never the reverse.
    await this.deps.commit.write(() => {
      for (const p of planned) {
        this.store.insertGroup(p.group.parentId, p.group.spec, p.group.template, now);
        for (const id of p.replicaIds) this.store.insertReplica(id, p.group.parentId, now);
      }
    });
    let ids: string[];
    try {
      ids = await this.deps.tasks.submit(ledgerInputs, jobId, newJob, keyField);
    } catch (err) {
      // Refused (a key conflict, the store): the groups have no parents and never will.
      await this.deps.commit.write(() => {
        for (const p of planned) this.store.deleteGroup(p.group.parentId);
      });
      throw err;
    }
    for (const p of planned) {
      if (ids[p.index] !== p.group.parentId) {
        // An idempotency key named an existing task: that one stands, this group was never needed.
        await this.deps.commit.write(() => this.store.deleteGroup(p.group.parentId));
        continue;
      }
      this.groups.set(p.group.parentId, p.group);
      await this.submitReplicas(p.group, p.replicaIds);
    }
    return ids;
  }

  /** The dispatcher assigned a task: if it is a replica, its siblings stay off this worker (and address). */
  assigned(task: LiveTask): void {
    const parentId = this.parentOf.get(task.id);
    const group = parentId === undefined ? undefined : this.groups.get(parentId);
    if (group && task.workerId) this.markUsed(group, task.workerId);
  }

  /** A task settled (durable): a replica's answer is judged; a parent cancelled takes its replicas with it. */
  settled(t: SettledTask): void {
    const parentId = this.parentOf.get(t.id);
    if (parentId === undefined) {
      const group = this.groups.get(t.id);
      if (group && t.state === 'cancelled') void this.cancelReplicas(group);
      return;
    }
    const group = this.groups.get(parentId);
    const replica = group?.replicas.get(t.id);
    if (!group || !replica || replica.verdict !== null) return;
    replica.workerId = t.workerId;
    if (t.state === 'cancelled') {
      replica.verdict = 'cancelled';
      void this.deps.commit.write(() => this.store.judgeReplica(t.id, t.workerId, null, 'cancelled'));
      this.forget(group);
      if (!group.decided) this.evaluate(group);
      return;
    }
    replica.answer = t.state === 'succeeded' ? { ok: true, value: t.result } : { ok: false, code: t.error?.code ?? 'HANDLER_ERROR', message: t.error?.message ?? '' };
    if (group.decided) this.judgeLate(group, replica);
    else this.evaluate(group);
  }

  /** Whether `taskId` is a quorum task's parent (retrying one as a plain task is refused). */
  isParent(taskId: string): boolean {
    return this.groups.has(taskId) || this.store.group(taskId) !== null;
  }

  /** What GET /tasks/:id shows of a quorum task: its spec, and each replica's worker, answer and verdict. */
  describe(taskId: string): object | null {
    const row = this.store.group(taskId);
    if (!row) return null;
    const live = this.groups.get(taskId);
    const replicas = live ? [...live.replicas.values()] : this.store.replicasOf(taskId).map((r) => ({ id: r.replicaId, workerId: r.workerId, answer: r.answer, verdict: r.verdict }));
    return {
      ...row.spec,
      decided: row.decidedAt !== null || (live?.decided ?? false),
      replicas: replicas.map((r) => ({ taskId: r.id, workerId: r.workerId, answer: r.answer, verdict: r.verdict })),
    };
  }

  /** A worker's score now (null when it never ran a judged replica). */
  score(workerId: string): WorkerScore | null {
    return this.scores.get(workerId) ?? null;
  }

  /** The `limit` workers with the most points (then reputation), as the dashboard shows them. */
  top(limit: number): Array<WorkerScore & { quarantined: boolean }> {
    return [...this.scores.values()]
      .sort((a, b) => b.points - a.points || b.reputation - a.reputation || a.workerId.localeCompare(b.workerId))
      .slice(0, limit)
      .map((s) => ({ ...s, quarantined: s.quarantinedAt !== null }));
  }


  private newGroup(parentId: string, spec: QuorumSpec, template: ReplicaTemplate): Group {
    const group: Group = {
      parentId, spec, template, replicas: new Map(), usedWorkers: new Set(), usedAddresses: new Set(), canonical: null, decided: false, growing: false,
      exclude: {
        has: (workerId) => {
          if (group.usedWorkers.has(workerId)) return true;
          if (this.scores.get(workerId)?.quarantinedAt != null) return true;
          if (group.spec.distinct !== 'address') return false;
          const address = this.deps.addressOf(workerId);
          return address !== null && group.usedAddresses.has(address);
        },
      },
    };
    return group;
  }

  private track(row: GroupRow): Group {
    const group = this.newGroup(row.parentId, row.spec, row.template);
    group.canonical = row.canonical;
    group.decided = row.decidedAt !== null;
    this.groups.set(row.parentId, group);
    return group;
  }

  private markUsed(group: Group, workerId: string): void {
    group.usedWorkers.add(workerId);
    const address = this.deps.addressOf(workerId);
    if (address !== null) group.usedAddresses.add(address);
  }

  private async submitReplicas(group: Group, ids: string[]): Promise<void> {
    const t = group.template;
    for (const id of ids) {
      group.replicas.set(id, { id, workerId: null, answer: null, verdict: null });
      this.parentOf.set(id, group.parentId);
    }
    const inputs: TaskInput[] = ids.map((id) => ({ id, type: t.type, params: t.params, priority: t.priority, maxAttempts: t.maxAttempts, timeoutMs: t.timeoutMs, excludeWorkers: group.exclude }));
    await this.deps.tasks.submit(inputs, null);
  }

  /** Adds `n` replicas to an undecided group (no agreement yet, or an adaptive task being checked). */
  private async addReplicas(group: Group, n: number): Promise<void> {
    if (group.growing) return;
    group.growing = true;
    try {
      const ids = Array.from({ length: n }, () => newTimeOrderedId('t_'));
      const now = Date.now();
      await this.deps.commit.write(() => {
        for (const id of ids) this.store.insertReplica(id, group.parentId, now);
      });
      await this.submitReplicas(group, ids);
    } finally {
      group.growing = false;
    }
  }

  /** Decides the group if it can, or sends more replicas, or gives up with NO_CONSENSUS. */
  private evaluate(group: Group): void {
    if (group.decided || group.growing) return;
    const all = [...group.replicas.values()].filter((r) => r.verdict !== 'cancelled');
    const answered = all.filter((r) => r.answer !== null);
    const pending = all.length - answered.length;
    const classes = classify(answered.map((r) => ({ replicaId: r.id, answer: r.answer as Answer })), group.spec.tolerance);
    const winner = classes.find((c) => c.replicaIds.length >= group.spec.agree);
    if (winner) return void this.decide(group, winner.answer);
    if (group.spec.adaptive && all.length === 1 && answered.length === 1) {
      const only = answered[0];
      if (only.answer?.ok && trusted(this.scores.get(only.workerId ?? '') ?? null, this.deps.rule) && this.random() >= this.deps.rule.quorumSpotCheck) {
        return void this.decide(group, only.answer);
      }
      return void this.addReplicas(group, group.spec.replicas - 1);
    }
    if (pending > 0) return;
    const best = Math.max(0, ...classes.map((c) => c.replicaIds.length));
    const room = group.spec.maxReplicas - all.length;
    if (room > 0) return void this.addReplicas(group, Math.min(room, group.spec.agree - best));
    void this.noConsensus(group, classes.map((c) => ({ answer: c.answer, workers: c.replicaIds.map((id) => group.replicas.get(id)?.workerId ?? null) })));
  }

  private async decide(group: Group, canonical: Answer): Promise<void> {
    group.decided = true;
    group.canonical = canonical;
    const now = Date.now();
    const judged = [...group.replicas.values()].filter((r) => r.answer !== null && r.verdict === null);
    await this.deps.commit.write(() => {
      this.store.decideGroup(group.parentId, canonical, now);
      for (const r of judged) this.judge(group, r, now);
    });
    const outcome = canonical.ok
      ? { state: 'succeeded' as const, result: canonical.value, error: null }
      : { state: 'failed' as const, result: null, error: { code: canonical.code, message: canonical.message, retryable: false } };
    await this.settleParent(group, outcome);
  }

  private async noConsensus(group: Group, answers: Array<{ answer: Answer; workers: Array<string | null> }>): Promise<void> {
    group.decided = true;
    const now = Date.now();
    const error = {
      code: NO_CONSENSUS,
      message: `no ${group.spec.agree} of ${group.replicas.size} replicas agreed (${answers.length} distinct answers)`,
      retryable: false,
      answers: answers.map((a) => (a.answer.ok ? { value: a.answer.value, workers: a.workers } : { error: { code: a.answer.code, message: a.answer.message }, workers: a.workers })),
    } as TaskError;
    await this.deps.commit.write(() => {
      this.store.decideGroup(group.parentId, null, now);
      for (const r of group.replicas.values()) {
        if (r.answer === null || r.verdict !== null) continue;
        r.verdict = 'inconclusive';
        this.store.judgeReplica(r.id, r.workerId, r.answer, 'inconclusive');
      }
    });
    await this.settleParent(group, { state: 'failed', result: null, error });
  }

  private async settleParent(group: Group, outcome: { state: 'succeeded' | 'failed'; result: unknown; error: TaskError | null }): Promise<void> {
    try {
      await this.deps.tasks.settleHeld(group.parentId, outcome);
    } catch (err) {
      this.deps.log?.warn({ err, taskId: group.parentId }, 'could not settle a quorum task; it is settled again at the next start');
    }
    this.forget(group);
  }

  /** A replica that answered after the group was decided. */
  private judgeLate(group: Group, replica: Replica): void {
    const now = Date.now();
    void this.deps.commit.write(() => this.judge(group, replica, now)).then(() => this.forget(group));
  }

  /** Judges one answered replica against the canonical answer and scores its worker; call inside a commit write. */
  private judge(group: Group, r: Replica, now: number): void {
    const answer = r.answer as Answer;
    let verdict: Verdict;
    if (group.canonical === null) verdict = 'inconclusive';
    else if (!answer.ok) verdict = 'error';
    else verdict = classify([{ replicaId: 'c', answer: group.canonical }, { replicaId: r.id, answer }], group.spec.tolerance).length === 1 ? 'valid' : 'invalid';
    r.verdict = verdict;
    this.store.judgeReplica(r.id, r.workerId, answer, verdict);
    if (r.workerId === null || (verdict !== 'valid' && verdict !== 'invalid' && verdict !== 'error')) return;
    const before = this.scores.get(r.workerId) ?? freshScore(r.workerId, now);
    const after = scoreAfter(before, verdict, group.spec.points, this.deps.rule, now);
    if (before.quarantinedAt === null && after.quarantinedAt !== null) {
      this.deps.log?.warn({ workerId: r.workerId, reputation: after.reputation, invalid: after.invalid }, 'worker quarantined from quorum tasks');
    }
    this.scores.set(r.workerId, after);
    this.store.saveScore(after);
  }

  private async cancelReplicas(group: Group): Promise<void> {
    group.decided = true;
    for (const r of group.replicas.values()) if (r.verdict === null && r.answer === null) await this.deps.tasks.cancel(r.id);
  }

  /** Drops a group from memory once it is decided and every replica is judged. */
  private forget(group: Group): void {
    if (!group.decided) return;
    for (const r of group.replicas.values()) if (r.verdict === null) return;
    this.groups.delete(group.parentId);
    for (const id of group.replicas.keys()) this.parentOf.delete(id);
  }
}
