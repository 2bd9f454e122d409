/**
 * Where dependency edges are kept (one row per child and parent): this SQLite file
 * (sqlite-dependency-rows.ts, written by group commit), or PostgreSQL shared by every foreman
 * (store/postgres/pg-dependencies.ts). Both answer from the tasks table, so a child is judged on
 * what the store shows, whichever foreman settled its parent. A child waits while its row is queued
 * and held (run_at is HELD_RUN_AT; see TaskInput.hold).
 */
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
