/**
 * Schedules in the foreman's SQLite file (migration 14), written by group commit. The file is locked
 * by one foreman, so nothing else writes the table: a tick is held simply by this foreman firing its
 * schedules one at a time, and the advance is still a compare-and-set so that a schedule replaced or
 * deleted while its tick's task was being submitted keeps its new state.
 */
import type { Db } from '../store/database.js';
import type { GroupCommit } from '../store/group-commit.js';
import { viewOf, type ScheduleRow, type ScheduleSpec, type ScheduleStore, type ScheduleView } from './schedule-store.js';

export class SqliteScheduleStore implements ScheduleStore {
  private readonly s;

  constructor(db: Db, private readonly commit: GroupCommit) {
    this.s = {
      upsert: db.prepare<[string, string, string | null, string, string, number | null, number]>(
        `INSERT INTO schedules (name, cron, timezone, task, catch_up, next_run_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET cron = excluded.cron, timezone = excluded.timezone, task = excluded.task,
           catch_up = excluded.catch_up, next_run_at = excluded.next_run_at`,
      ),
      delete: db.prepare<[string]>('DELETE FROM schedules WHERE name = ?'),
      all: db.prepare<[], ScheduleRow>('SELECT * FROM schedules ORDER BY name'),
      one: db.prepare<[string], ScheduleRow>('SELECT * FROM schedules WHERE name = ?'),
      advance: db.prepare<[number | null, number, string, number]>(
        'UPDATE schedules SET next_run_at = ?, last_fired_at = ?, firings = firings + 1 WHERE name = ? AND next_run_at = ?',
      ),
      skip: db.prepare<[number | null, string, number]>('UPDATE schedules SET next_run_at = ? WHERE name = ? AND next_run_at = ?'),
    };
  }

  async list(): Promise<ScheduleView[]> {
    return this.s.all.all().map(viewOf);
  }

  async get(name: string): Promise<ScheduleView | null> {
    const row = this.s.one.get(name);
    return row ? viewOf(row) : null;
  }

  async put(spec: ScheduleSpec, nextRunAt: number | null, now: number): Promise<{ created: boolean; schedule: ScheduleView }> {
    let created = false;
    await this.commit.write(() => {
      created = this.s.one.get(spec.name) === undefined;
      this.s.upsert.run(spec.name, spec.cron, spec.timezone, JSON.stringify(spec.task), spec.catchUp, nextRunAt, now);
    });
    return { created, schedule: (await this.get(spec.name)) as ScheduleView };
  }

  async remove(name: string): Promise<boolean> {
    let deleted = false;
    await this.commit.write(() => {
      deleted = this.s.delete.run(name).changes > 0;
    });
    return deleted;
  }

  async fire(name: string, tick: number, submit: (s: ScheduleView) => Promise<void>, next: (s: ScheduleView, now: number) => number | null): Promise<ScheduleView | null> {
    const row = this.s.one.get(name);
    if (!row || row.next_run_at !== tick) return null;
    const schedule = viewOf(row);
    await submit(schedule);
    const now = Date.now();
    await this.commit.write(() => this.s.advance.run(next(schedule, now), now, name, tick));
    return this.get(name);
  }

  async skip(name: string, from: number, to: number | null): Promise<boolean> {
    let moved = false;
    await this.commit.write(() => {
      moved = this.s.skip.run(to, name, from).changes > 0;
    });
    return moved;
  }

  /** Only this foreman writes the file. */
  watch(): void {}
}
