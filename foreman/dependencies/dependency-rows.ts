/**
 * Where dependency edges are kept (one row per child and parent): this SQLite file
 * (SqliteDependencyRows, written by group commit), or PostgreSQL shared by every foreman
 * (store/postgres/pg-dependencies.ts). Both answer from the tasks table, so a child is judged on
 * what the store shows, whichever foreman settled its parent. A child waits while its row is queued
 * and held (run_at is HELD_RUN_AT; see TaskInput.hold).
 */
import type { StoreReads } from '../ledger.js';
import type { Db } from '../store/database.js';
import type { GroupCommit } from '../store/group-commit.js';
import { HELD_RUN_AT, type LiveTask, type TaskState } from '../task-types.js';

type Maybe<T> = T | Promise<T>;

/** A parent of a child and its state (null: no such task any more). */
export interface ParentState {
  id: string;
  state: TaskState | null;
}

export interface DependencyRows {
  /** True when other foremen settle tasks too (PostgreSQL): the room sweeps for children a crashed foreman left waiting. */
  readonly shared: boolean;
  /** Writes edges durably, before their children exist. */
  add(edges: ReadonlyArray<{ child: string; parents: readonly string[] }>): Promise<void>;
  /** Deletes the edges of children that were never made. */
  remove(children: readonly string[]): Promise<void>;
  /** The children still waiting (held) on any of these parents. */
  waitingOn(parents: readonly string[]): Maybe<string[]>;
  /** Waiting children that can be decided now: every parent succeeded, or one failed, was cancelled or is gone. */
  decidable(limit: number): Maybe<string[]>;
  /** A child's parents with their states. */
  parentStates(child: string): Maybe<ParentState[]>;
  /** The parents of those of these tasks that have any. */
  parentsOf(ids: readonly string[]): Maybe<Map<string, string[]>>;
  /** The parents' results, by parent id, for an assignment of `task`; undefined when it has no parents. */
  parentResults(task: LiveTask): Record<string, unknown> | undefined;
}

/** The SQL both stores share: a waiting child (alias c) is queued and held. */
export const HELD_CHILD = `c.state = 'queued' AND c.run_at = ${HELD_RUN_AT}`;

/** Waiting children that can be decided now (see DependencyRows.decidable); ends before the LIMIT. */
export const DECIDABLE_SQL = `SELECT c.id FROM tasks c
  WHERE ${HELD_CHILD} AND EXISTS (SELECT 1 FROM task_deps d WHERE d.child_id = c.id)
    AND (NOT EXISTS (SELECT 1 FROM task_deps d JOIN tasks p ON p.id = d.parent_id WHERE d.child_id = c.id AND p.state <> 'succeeded')
      OR EXISTS (SELECT 1 FROM task_deps d LEFT JOIN tasks p ON p.id = d.parent_id
                 WHERE d.child_id = c.id AND (p.id IS NULL OR p.state IN ('failed', 'cancelled'))))`;

/** Edges in the foreman's SQLite file (migration 13), written by group commit. */
export class SqliteDependencyRows implements DependencyRows {
  readonly shared = false;
  /** Whether any edge exists: until one does, a settlement costs no query (one writer, so this is exact). */
  private any: boolean;
  private readonly s;

  constructor(
    db: Db,
    private readonly commit: GroupCommit,
    private readonly reads: StoreReads,
  ) {
    this.s = {
      insert: db.prepare<[string, string]>('INSERT OR IGNORE INTO task_deps (child_id, parent_id) VALUES (?, ?)'),
      remove: db.prepare<[string]>('DELETE FROM task_deps WHERE child_id = ?'),
      any: db.prepare('SELECT 1 FROM task_deps LIMIT 1').pluck(),
      waitingOn: db.prepare<[string], { child_id: string }>(
        `SELECT DISTINCT d.child_id FROM task_deps d JOIN tasks c ON c.id = d.child_id
         WHERE d.parent_id IN (SELECT value FROM json_each(?)) AND ${HELD_CHILD}`,
      ),
      decidable: db.prepare<[number], { id: string }>(`${DECIDABLE_SQL} LIMIT ?`),
      parentStates: db.prepare<[string], { id: string; state: TaskState | null }>(
        'SELECT d.parent_id AS id, p.state FROM task_deps d LEFT JOIN tasks p ON p.id = d.parent_id WHERE d.child_id = ?',
      ),
      parents: db.prepare<[string], { child_id: string; parent_id: string }>(
        'SELECT child_id, parent_id FROM task_deps WHERE child_id IN (SELECT value FROM json_each(?))',
      ),
    };
    this.any = this.s.any.get() !== undefined;
  }

  add(edges: ReadonlyArray<{ child: string; parents: readonly string[] }>): Promise<void> {
    this.any = true;
    return this.commit.write(() => {
      for (const e of edges) for (const parent of e.parents) this.s.insert.run(e.child, parent);
    });
  }

  remove(children: readonly string[]): Promise<void> {
    return this.commit.write(() => {
      for (const c of children) this.s.remove.run(c);
    });
  }

  waitingOn(parents: readonly string[]): string[] {
    if (!this.any) return [];
    return this.s.waitingOn.all(JSON.stringify(parents)).map((r) => r.child_id);
  }

  decidable(limit: number): string[] {
    if (!this.any) return [];
    return this.s.decidable.all(limit).map((r) => r.id);
  }

  parentStates(child: string): ParentState[] {
    return this.s.parentStates.all(child);
  }

  parentsOf(ids: readonly string[]): Map<string, string[]> {
    const out = new Map<string, string[]>();
    if (!this.any || ids.length === 0) return out;
    for (const r of this.s.parents.all(JSON.stringify(ids))) out.set(r.child_id, [...(out.get(r.child_id) ?? []), r.parent_id]);
    return out;
  }

  parentResults(task: LiveTask): Record<string, unknown> | undefined {
    if (!this.any) return undefined;
    const parents = this.parentsOf([task.id]).get(task.id);
    if (!parents) return undefined;
    const results: Record<string, unknown> = {};
    for (const id of parents) {
      const row = this.reads.getTask(id);
      // SQLite reads are synchronous.
      if (row && !(row instanceof Promise)) results[id] = row.result;
    }
    return results;
  }
}
