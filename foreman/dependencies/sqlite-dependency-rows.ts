/** Dependency edges in the foreman's SQLite file (migration 13), written by group commit; see dependency-rows.ts. */
import type { StoreReads } from '../ledger.js';
import type { Db } from '../store/database.js';
import type { GroupCommit } from '../store/group-commit.js';
import type { LiveTask, TaskState } from '../task-types.js';
import { DECIDABLE_SQL, HELD_CHILD, type DependencyRows, type ParentState } from './dependency-rows.js';

/** Edges in this SQLite file; one writer, so what it reads is all there is. */
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
