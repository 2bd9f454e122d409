/**
 * Dependent tasks (issue 12.2): a task submitted with `dependsOn: [taskId, …]` is held (queued, never
 * dispatched; TaskInput.hold) until every parent has succeeded, then queued like any task, and its
 * handler gets the parents' results in `ctx.parents`. A parent that fails or is cancelled settles the
 * child as failed with DEPENDENCY_FAILED, without running it (and that failure reaches the child's
 * own children the same way). Parents must exist when the child is submitted, so a cycle cannot be
 * made: a task can only depend on tasks older than itself.
 *
 * The edges are written (table task_deps) before the child, so a restarted foreman finds every held
 * child's parents; children are (re)judged whenever a parent settles, right after their own
 * submission, and at start, so a parent settling at any moment in between is never missed.
 */
import type { Assignment } from '../../shared/protocol.js';
import { newTimeOrderedId } from '../../shared/ids.js';
import { LedgerError } from '../ledger-error.js';
import type { SettledTask, StoreReads, TaskLedger } from '../ledger.js';
import type { Db } from '../store/database.js';
import type { GroupCommit } from '../store/group-commit.js';
import type { LiveTask, TaskError, TaskInput } from '../task-types.js';

/** Most parents one task may name. */
export const MAX_PARENTS = 1000;

export interface DependenciesDeps {
  db: Db;
  commit: GroupCommit;
  tasks: TaskLedger;
  reads: StoreReads;
  /** False on a store that cannot hold tasks yet (PostgreSQL): dependsOn is refused with a 400. */
  supported: boolean;
  log?: { warn(obj: object, msg: string): void };
}

export class Dependencies {
  /** Parents of each child not yet released or failed. */
  private readonly parentsOf = new Map<string, string[]>();
  /** Children waiting on each parent. */
  private readonly childrenOf = new Map<string, Set<string>>();
  private readonly insertStmt;
  private readonly deleteStmt;
  private readonly allStmt;
  private readonly parentsStmt;
  /** Children whose own submission is still being committed. */
  private readonly submitting = new Set<string>();

  constructor(private readonly deps: DependenciesDeps) {
    this.insertStmt = deps.db.prepare<[string, string]>('INSERT OR IGNORE INTO task_deps (child_id, parent_id) VALUES (?, ?)');
    this.deleteStmt = deps.db.prepare<[string]>('DELETE FROM task_deps WHERE child_id = ?');
    this.allStmt = deps.db.prepare<[], { child_id: string; parent_id: string }>(`SELECT d.child_id, d.parent_id FROM task_deps d JOIN tasks t ON t.id = d.child_id
       WHERE t.state NOT IN ('succeeded', 'failed', 'cancelled')`);
    this.parentsStmt = deps.db.prepare<[string], { parent_id: string }>('SELECT parent_id FROM task_deps WHERE child_id = ?');
  }

  /** Reads the unsettled children (at start) and judges each: parents may have settled while it was down. */
  async load(): Promise<void> {
    for (const r of this.allStmt.all()) this.link(r.child_id, r.parent_id);
    for (const child of [...this.parentsOf.keys()]) await this.judge(child);
  }

  /**
   * Submits `inputs` through `submit`: those with `dependsOn` are checked (every parent exists), get
   * their ids now, are held, and have their edges written first; once submitted each is judged.
   * @param fieldOf names input i's field `name` in a 400.
   * @throws LedgerError INVALID_REQUEST naming the field.
   */
  async submit(inputs: TaskInput[], fieldOf: (i: number, name: string) => string, submit: (inputs: TaskInput[]) => Promise<string[]>): Promise<string[]> {
    if (!inputs.some((t) => t.dependsOn !== undefined && t.dependsOn.length > 0)) return submit(inputs);
    const planned: Array<{ index: number; id: string; parents: string[] }> = [];
    const prepared: TaskInput[] = [];
    for (let i = 0; i < inputs.length; i++) {
      const input = inputs[i];
      if (!input.dependsOn || input.dependsOn.length === 0) {
        prepared.push(input);
        continue;
      }
      if (!this.deps.supported) throw new LedgerError(400, 'INVALID_REQUEST', 'dependsOn needs the SQLite store for now (not yet --store postgres)', fieldOf(i, 'dependsOn'));
      if (input.quorum !== undefined) throw new LedgerError(400, 'INVALID_REQUEST', 'a quorum task cannot have dependsOn yet', fieldOf(i, 'dependsOn'));
      const parents = [...new Set(input.dependsOn)];
      for (let k = 0; k < input.dependsOn.length; k++) {
        // Parents must exist now: so a task only ever depends on older ones, and no cycle can form.
        if (!(await this.deps.reads.getTask(input.dependsOn[k]))) {
          throw new LedgerError(400, 'INVALID_REQUEST', `no task ${input.dependsOn[k]} (parents must exist first)`, `${fieldOf(i, 'dependsOn')}/${k}`);
        }
      }
      const id = newTimeOrderedId('t_');
      planned.push({ index: i, id, parents });
      prepared.push({ ...input, id, hold: true });
    }
    // The edges first: a restarted foreman finds edges of a child never created and drops them, never the reverse.
    await this.deps.commit.write(() => {
      for (const p of planned) for (const parent of p.parents) this.insertStmt.run(p.id, parent);
    });
    for (const p of planned) {
      for (const parent of p.parents) this.link(p.id, parent);
      this.submitting.add(p.id);
    }
    let ids: string[];
    try {
      ids = await submit(prepared);
    } catch (err) {
      await this.forget(planned.map((p) => p.id));
      throw err;
    } finally {
      for (const p of planned) this.submitting.delete(p.id);
    }
    // An idempotency key that named an existing task: that one stands, these edges were never needed.
    await this.forget(planned.filter((p) => ids[p.index] !== p.id).map((p) => p.id));
    for (const p of planned) if (ids[p.index] === p.id) await this.judge(p.id);
    return ids;
  }

  /** A task settled (durable): each child waiting on it is judged again. */
  settled(t: SettledTask): void {
    // A dependent task that settled is not held in memory any more (its edges stay, for GET /tasks/:id).
    if (this.released.delete(t.id) || this.parentsOf.has(t.id)) this.unlink(t.id);
    const children = this.childrenOf.get(t.id);
    if (!children) return;
    for (const child of [...children]) {
      // Not in the ledger yet: settling it now would miss; the judgement right after its submission sees this parent.
      if (this.submitting.has(child)) continue;
      this.judge(child).catch((err) => this.deps.log?.warn({ err, child }, 'could not judge a dependent task'));
    }
  }

  /** The dispatcher assigned a task: a dependent one carries its parents' results. */
  attach(task: LiveTask, assignment: Assignment): void {
    const parents = this.released.get(task.id);
    if (!parents) return;
    const results: Record<string, unknown> = {};
    for (const id of parents) {
      const row = this.deps.reads.getTask(id);
      // SQLite reads are synchronous; this room runs only beside SQLite.
      if (row && !(row instanceof Promise)) results[id] = row.result;
    }
    assignment.parents = results;
  }

  /** What GET /tasks/:id shows: the parents, and whether the task still waits for them. */
  describe(id: string): { dependsOn: string[]; waiting: boolean } | null {
    const waiting = this.parentsOf.get(id);
    if (waiting) return { dependsOn: waiting, waiting: true };
    const done = this.released.get(id);
    if (done) return { dependsOn: done, waiting: false };
    if (this.deps.supported) {
      const rows = this.parentsStmt.all(id);
      if (rows.length > 0) return { dependsOn: rows.map((r) => r.parent_id), waiting: false };
    }
    return null;
  }

  /** Released children's parents, until they settle (for `attach`; re-read from task_deps after a restart). */
  private readonly released = new Map<string, string[]>();

  /** Releases the child once every parent succeeded, fails it once one failed or was cancelled; else it waits. */
  private async judge(child: string): Promise<void> {
    const parents = this.parentsOf.get(child);
    if (!parents) return;
    let pending = false;
    for (const id of parents) {
      const row = await this.deps.reads.getTask(id);
      const state = row?.state;
      if (state === 'succeeded') continue;
      if (state === 'failed' || state === 'cancelled' || !row) {
        this.unlink(child);
        const error: TaskError = { code: 'DEPENDENCY_FAILED', message: `task ${id} it depends on ${row ? state : 'is gone'}`, retryable: false };
        await this.deps.tasks.settleHeld(child, { state: 'failed', result: null, error });
        return;
      }
      pending = true;
    }
    if (pending) return;
    this.unlink(child);
    // Already released before a restart, or released now: either way it runs with its parents' results.
    await this.deps.tasks.releaseHeld(child);
    this.released.set(child, parents);
  }

  private link(child: string, parent: string): void {
    const list = this.parentsOf.get(child);
    if (list) {
      if (!list.includes(parent)) list.push(parent);
    } else this.parentsOf.set(child, [parent]);
    let set = this.childrenOf.get(parent);
    if (!set) this.childrenOf.set(parent, (set = new Set()));
    set.add(child);
  }

  private unlink(child: string): void {
    for (const parent of this.parentsOf.get(child) ?? []) {
      const set = this.childrenOf.get(parent);
      set?.delete(child);
      if (set?.size === 0) this.childrenOf.delete(parent);
    }
    this.parentsOf.delete(child);
  }

  private async forget(children: string[]): Promise<void> {
    if (children.length === 0) return;
    for (const c of children) this.unlink(c);
    await this.deps.commit.write(() => {
      for (const c of children) this.deleteStmt.run(c);
    });
  }
}
