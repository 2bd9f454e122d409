/**
 * Dependent tasks (issue 12.2): a task submitted with `dependsOn: [taskId, …]` is held (queued, never
 * dispatched; TaskInput.hold) until every parent has succeeded, then queued like any task, and its
 * handler gets the parents' results in `ctx.parents`. A parent that fails or is cancelled settles the
 * child as failed with DEPENDENCY_FAILED, without running it (and that failure reaches the child's
 * own children the same way). Parents must exist when the child is submitted, so a cycle cannot be
 * made: a task can only depend on tasks older than itself. A task of a job may also name parents by
 * key within the job (`dependsOnKeys`; parent-plan.ts).
 *
 * The store is the truth (dependency-rows.ts): the edges are written before the child, so any
 * foreman finds every waiting child's parents. A child is judged on the parents' states the store
 * shows: right after one of its parents settles (by the foreman that settled it), right after its own
 * submission (a parent may have settled while it was being written), at start, and, where several
 * foremen share the store, by a sweep every poll interval (a foreman may die between a parent's
 * settlement and the judgement). Releasing or failing a child is a compare-and-set on the held task,
 * so judging one twice, or on two foremen at once, acts once.
 */
import type { Assignment } from '../../shared/protocol.js';
import type { SettledTask, StoreReads, TaskLedger } from '../ledger.js';
import type { LiveTask, TaskError, TaskInput } from '../task-types.js';
import type { DependencyRows } from './dependency-rows.js';
import { isDependent, planParents } from './parent-plan.js';

/** Most waiting children one sweep decides. */
const SWEEP_LIMIT = 1000;

export interface DependenciesDeps {
  rows: DependencyRows;
  tasks: Pick<TaskLedger, 'releaseHeld' | 'settleHeld' | 'findTaskByKey'>;
  reads: Pick<StoreReads, 'getTask'>;
  /** How often to sweep for children nobody judged (shared stores only), ms. */
  sweepMs: number;
  log?: { warn(obj: object, msg: string): void };
}

/** What GET /tasks/:id shows of a dependent task. */
export interface DependencyView {
  dependsOn: string[];
}

export class Dependencies {
  /** Parents settled since the last look for their waiting children (looked up together). */
  private settledParents: string[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** A sweep is running: the next tick skips rather than pile up while the store is slow. */
  private sweeping = false;

  constructor(private readonly deps: DependenciesDeps) {}

  /** Judges the children that can be decided (parents may have settled while no foreman was up), then sweeps if the store is shared. */
  async load(): Promise<void> {
    await this.sweep(Number.MAX_SAFE_INTEGER);
    if (!this.deps.rows.shared) return;
    this.timer = setInterval(() => void this.sweep(SWEEP_LIMIT), this.deps.sweepMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * Submits `inputs` through `submit`: those with `dependsOn` or `dependsOnKeys` have their parents
   * resolved and checked (every one exists, or comes earlier in this submission), get their ids now,
   * are held, and have their edges written first; once submitted each is judged.
   * @param fieldOf names input i's field `name` in a 400.
   * @param jobId the job the inputs go into (`dependsOnKeys` names tasks of that job), null for none.
   * @throws LedgerError INVALID_REQUEST naming the field.
   */
  async submit(
    inputs: TaskInput[],
    fieldOf: (i: number, name: string) => string,
    submit: (inputs: TaskInput[]) => Promise<string[]>,
    jobId: string | null = null,
  ): Promise<string[]> {
    if (!inputs.some(isDependent)) return submit(inputs);
    const plan = await planParents(inputs, fieldOf, jobId, this.deps);
    const prepared = inputs.map((input, i) => {
      const id = plan.ids[i];
      if (id === undefined) return input;
      return plan.children.has(i) ? { ...input, id, hold: true } : { ...input, id };
    });
    const planned = [...plan.children].map(([index, parents]) => ({
      index,
      child: plan.ids[index] as string,
      parents: parents.map((p) => (typeof p === 'number' ? (plan.ids[p] as string) : p)),
    }));
    // The edges first: edges of a child never made are harmless (and deleted below), a child without its edges would never run.
    await this.deps.rows.add(planned);
    let ids: string[];
    try {
      ids = await submit(prepared);
    } catch (err) {
      await this.deps.rows.remove(planned.map((p) => p.child)).catch(() => {});
      throw err;
    }
    // An idempotency key that named an existing task: that one stands, these edges were never needed.
    const unused = planned.filter((p) => ids[p.index] !== p.child).map((p) => p.child);
    if (unused.length > 0) await this.deps.rows.remove(unused);
    const made = planned.filter((p) => ids[p.index] === p.child);
    // A parent named by key in this submission whose key named an existing task (or that a room gave
    // another id): its children's edges are moved to the task that stands.
    const stood = new Map<string, string>();
    plan.ids.forEach((id, i) => id !== undefined && ids[i] !== id && stood.set(id, ids[i]));
    const moved = made.filter((p) => p.parents.some((id) => stood.has(id))).map((p) => ({ ...p, parents: p.parents.map((id) => stood.get(id) ?? id) }));
    if (moved.length > 0) {
      await this.deps.rows.remove(moved.map((p) => p.child));
      await this.deps.rows.add(moved);
    }
    // A parent that settled while the child was being written did not see it: judged now, on what the store shows.
    try {
      for (const p of made) await this.judge(p.child);
    } catch (err) {
      // The children are made: failing the request now would make the client submit them again. The sweep, or the next start, judges them.
      this.deps.log?.warn({ err }, 'could not judge dependent tasks');
    }
    return ids;
  }

  /** A task settled (durable) here: the children waiting on it are judged (looked up once per turn for every parent settled in it). */
  settled(t: SettledTask): void {
    this.settledParents.push(t.id);
    if (this.settledParents.length === 1) setImmediate(() => void this.judgeChildren());
  }

  /** The dispatcher assigned a task: a dependent one carries its parents' results. */
  attach(task: LiveTask, assignment: Assignment): void {
    const results = this.deps.rows.parentResults(task);
    if (results) assignment.parents = results;
  }

  /** What GET /tasks/:id shows of each of these tasks that depends on others. */
  async describe(ids: readonly string[]): Promise<Map<string, DependencyView>> {
    const parents = await this.deps.rows.parentsOf(ids);
    return new Map([...parents].map(([id, dependsOn]) => [id, { dependsOn }]));
  }

  private async judgeChildren(): Promise<void> {
    const parents = this.settledParents;
    this.settledParents = [];
    try {
      for (const child of await this.deps.rows.waitingOn(parents)) await this.judge(child);
    } catch (err) {
      // The sweep (shared store) or the next start finds them.
      this.deps.log?.warn({ err, parents: parents.length }, 'could not judge dependent tasks');
    }
  }

  private async sweep(limit: number): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      for (const child of await this.deps.rows.decidable(limit)) await this.judge(child);
    } catch (err) {
      this.deps.log?.warn({ err }, 'could not judge dependent tasks');
    } finally {
      this.sweeping = false;
    }
  }

  /** Releases the child once every parent succeeded, fails it once one failed, was cancelled or is gone; else it waits. */
  private async judge(child: string): Promise<void> {
    const parents = await this.deps.rows.parentStates(child);
    // No edges: not a dependent task (a quorum task is held too), nothing to judge.
    if (parents.length === 0) return;
    let pending = false;
    for (const { id, state } of parents) {
      if (state === 'succeeded') continue;
      if (state === 'failed' || state === 'cancelled' || state === null) {
        const error: TaskError = { code: 'DEPENDENCY_FAILED', message: `task ${id} it depends on ${state ?? 'is gone'}`, retryable: false };
        await this.deps.tasks.settleHeld(child, { state: 'failed', result: null, error });
        return;
      }
      pending = true;
    }
    if (!pending) await this.deps.tasks.releaseHeld(child);
  }
}
