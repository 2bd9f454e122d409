/**
 * Where schedules are kept: the foreman's SQLite file (sqlite-schedules.ts) or PostgreSQL shared by
 * every foreman (pg-schedules.ts). The timers and the cron arithmetic are the same for both
 * (schedules.ts); a store only keeps rows and makes each tick's firing safe: the tick is held while
 * its task is submitted, then `next_run_at` moves on by compare-and-set, so one foreman fires it.
 */
import type { TaskInput } from '../task-types.js';

/** Ticks missed while no foreman was running: fire the first of them once on start, or skip them. */
export type CatchUp = 'once' | 'skip';

/** What a client sends: the schedule itself. */
export interface ScheduleSpec {
  name: string;
  cron: string;
  timezone: string | null;
  task: TaskInput;
  catchUp: CatchUp;
}

/** A stored schedule, as the API shows it. Times are epoch ms. */
export interface ScheduleView extends ScheduleSpec {
  /** The next tick to fire; null when the expression has no more. */
  nextRunAt: number | null;
  lastFiredAt: number | null;
  /** Ticks fired over the schedule's life (kept when it is replaced). */
  firings: number;
  createdAt: number;
}

/** A row as both stores keep it (snake_case columns, the task as JSON text). */
export interface ScheduleRow {
  name: string;
  cron: string;
  timezone: string | null;
  task: string;
  catch_up: CatchUp;
  next_run_at: number | null;
  last_fired_at: number | null;
  firings: number;
  created_at: number;
}

export function viewOf(r: ScheduleRow): ScheduleView {
  return {
    name: r.name, cron: r.cron, timezone: r.timezone, task: JSON.parse(r.task) as TaskInput, catchUp: r.catch_up,
    nextRunAt: r.next_run_at, lastFiredAt: r.last_fired_at, firings: r.firings, createdAt: r.created_at,
  };
}

/** The schedules table of one store. Every write is durable before its promise resolves. */
export interface ScheduleStore {
  list(): Promise<ScheduleView[]>;
  get(name: string): Promise<ScheduleView | null>;
  /** Creates or replaces `spec` with its first tick at `nextRunAt`; a replaced schedule keeps its firings and creation time. */
  put(spec: ScheduleSpec, nextRunAt: number | null, now: number): Promise<{ created: boolean; schedule: ScheduleView }>;
  /** False when there was no such schedule. */
  remove(name: string): Promise<boolean>;
  /**
   * Fires `name`'s tick `tick`: holds it against every other foreman, runs `submit` with the stored
   * schedule (it makes the tick's task durable), then stores `next(schedule, now)` as the next tick and
   * counts the firing, in that order.
   * Resolves null without running `submit` when the tick is no longer the stored next one (another
   * foreman fired it, or the schedule was replaced or deleted). A crash after `submit` leaves the tick
   * due, so it is fired again: the tick's key makes that the same task.
   */
  fire(name: string, tick: number, submit: (s: ScheduleView) => Promise<void>, next: (s: ScheduleView, now: number) => number | null): Promise<ScheduleView | null>;
  /** Moves the next tick from `from` to `to` without firing (catchUp 'skip'); false when it was no longer `from`. */
  skip(name: string, from: number, to: number | null): Promise<boolean>;
  /**
   * Calls `changed(name)` when a schedule was written by another foreman, or `changed(null)` when
   * changes may have been missed (then every schedule is to be read again). A store no one else writes never calls it.
   */
  watch(changed: (name: string | null) => void): void;
}
