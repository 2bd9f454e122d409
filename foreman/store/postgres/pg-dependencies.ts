/**
 * Dependency edges on PostgreSQL, shared by every foreman (`task_deps`, PG migration 6). A child is
 * judged by whichever foreman settles one of its parents, right after that settlement commits, on
 * what these statements read then; the release or failure of the child is itself a compare-and-set
 * (pg-held-sql.ts), so two foremen judging one child never both act. The claim that takes a released
 * child reads its parents' results with it (pg-tasks-sql.ts), so `parentResults` answers from memory.
 */
import type { DependencyRows, ParentState } from '../../dependencies/dependency-rows.js';
import { DECIDABLE_SQL, HELD_CHILD } from '../../dependencies/dependency-rows.js';
import type { LiveTask, TaskState } from '../../task-types.js';
import type { PgDb } from './pg-db.js';

export class PgDependencyRows implements DependencyRows {
  readonly shared = true;
  /**
   * Whether any edge exists, as far as this foreman knows: until one does, a settlement costs no query
   * (a fleet that never uses dependsOn pays nothing per turn). Set by its own submissions, by the
   * `gaffer_deps` notification every edge write sends at its commit, and by the sweep (at start, then
   * every poll interval). Only a parent settled here in the milliseconds between another foreman's
   * first edges and their notification, after that foreman's own judgement of the child, is left to
   * the sweep; from then on every settlement looks.
   */
  private any = false;

  constructor(private readonly db: PgDb) {
    db.on('notification', (channel) => {
      if (channel === 'gaffer_deps') this.any = true;
    });
  }

  async add(edges: ReadonlyArray<{ child: string; parents: readonly string[] }>): Promise<void> {
    this.any = true;
    const children = edges.flatMap((e) => e.parents.map(() => e.child));
    const parents = edges.flatMap((e) => e.parents);
    // One statement: the notification goes out when the edges commit.
    await this.db.query(
      `WITH added AS (
         INSERT INTO task_deps (child_id, parent_id) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING
       )
       SELECT pg_notify('gaffer_deps', '')`,
      [children, parents],
    );
  }

  async remove(children: readonly string[]): Promise<void> {
    await this.db.query('DELETE FROM task_deps WHERE child_id = ANY($1::text[])', [children]);
  }

  async waitingOn(parents: readonly string[]): Promise<string[]> {
    if (!this.any) return [];
    const { rows } = await this.db.query<{ child_id: string }>(
      `SELECT DISTINCT d.child_id FROM task_deps d JOIN tasks c ON c.id = d.child_id WHERE d.parent_id = ANY($1::text[]) AND ${HELD_CHILD}`,
      [parents],
    );
    return rows.map((r) => r.child_id);
  }

  async decidable(limit: number): Promise<string[]> {
    if (!this.any) this.any = (await this.db.query<{ any: boolean }>('SELECT EXISTS (SELECT 1 FROM task_deps) AS any')).rows[0].any;
    if (!this.any) return [];
    const { rows } = await this.db.query<{ id: string }>(`${DECIDABLE_SQL} LIMIT $1`, [limit]);
    return rows.map((r) => r.id);
  }

  async parentStates(child: string): Promise<ParentState[]> {
    const { rows } = await this.db.query<{ id: string; state: string | null }>(
      'SELECT d.parent_id AS id, p.state FROM task_deps d LEFT JOIN tasks p ON p.id = d.parent_id WHERE d.child_id = $1',
      [child],
    );
    // A claimed parent is queued as far as its children are concerned.
    return rows.map((r) => ({ id: r.id, state: r.state === 'claimed' ? 'queued' : (r.state as TaskState | null) }));
  }

  async parentsOf(ids: readonly string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (ids.length === 0) return out;
    const { rows } = await this.db.query<{ child_id: string; parent_id: string }>(
      'SELECT child_id, parent_id FROM task_deps WHERE child_id = ANY($1::text[])',
      [ids],
    );
    for (const r of rows) out.set(r.child_id, [...(out.get(r.child_id) ?? []), r.parent_id]);
    return out;
  }

  /** Carried by the claim. */
  parentResults(task: LiveTask): Record<string, unknown> | undefined {
    return task.parentResults ?? undefined;
  }
}
