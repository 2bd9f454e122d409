/**
 * Schedules on PostgreSQL, shared by every foreman (PG migration 5). Each write sends
 * NOTIFY gaffer_schedule with the schedule's name, delivered on commit, so every foreman re-reads that
 * row and re-arms its timer; after the LISTEN connection was lost, all of them (some may have been missed).
 *
 * Every foreman's timer goes off at each tick; one fires it. `fire` locks the row with
 * `FOR UPDATE ... WHERE next_run_at = tick` in a transaction, submits the tick's task, then advances
 * `next_run_at` and commits. A foreman that comes second waits on the lock and then finds the row
 * moved on (PostgreSQL re-checks the condition on the committed row), so it submits nothing. If the
 * firing foreman dies before its commit, the lock goes with its connection and the row still holds the
 * tick: the next foreman to look fires it, and the tick's key names the task already submitted, if any.
 */
import type { PgDb } from '../store/postgres/pg-db.js';
import { viewOf, type ScheduleRow, type ScheduleSpec, type ScheduleStore, type ScheduleView } from './schedule-store.js';

const COLUMNS = 'name, cron, timezone, task, catch_up, next_run_at, last_fired_at, firings, created_at';

export class PgScheduleStore implements ScheduleStore {
  constructor(private readonly db: PgDb) {}

  async list(): Promise<ScheduleView[]> {
    const { rows } = await this.db.query<ScheduleRow>(`SELECT ${COLUMNS} FROM schedules ORDER BY name`);
    return rows.map(viewOf);
  }

  async get(name: string): Promise<ScheduleView | null> {
    const { rows } = await this.db.query<ScheduleRow>(`SELECT ${COLUMNS} FROM schedules WHERE name = $1`, [name]);
    return rows[0] ? viewOf(rows[0]) : null;
  }

  async put(spec: ScheduleSpec, nextRunAt: number | null, now: number): Promise<{ created: boolean; schedule: ScheduleView }> {
    // xmax is 0 on a row this statement inserted, and set on one it updated: created or replaced, in one statement.
    const { rows } = await this.db.query<ScheduleRow & { created: boolean }>(
      `WITH changed AS (
         INSERT INTO schedules AS s (name, cron, timezone, task, catch_up, next_run_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (name) DO UPDATE SET cron = excluded.cron, timezone = excluded.timezone, task = excluded.task,
           catch_up = excluded.catch_up, next_run_at = excluded.next_run_at
         RETURNING ${COLUMNS}, (xmax = 0) AS created
       ) SELECT c.*, pg_notify('gaffer_schedule', c.name) FROM changed c`,
      [spec.name, spec.cron, spec.timezone, JSON.stringify(spec.task), spec.catchUp, nextRunAt, now],
    );
    return { created: rows[0].created, schedule: viewOf(rows[0]) };
  }

  async remove(name: string): Promise<boolean> {
    const { rows } = await this.db.query(
      `WITH gone AS (DELETE FROM schedules WHERE name = $1 RETURNING name) SELECT pg_notify('gaffer_schedule', name) FROM gone`,
      [name],
    );
    return rows.length > 0;
  }

  async fire(name: string, tick: number, submit: (s: ScheduleView) => Promise<void>, next: (s: ScheduleView, now: number) => number | null): Promise<ScheduleView | null> {
    return this.db.transaction(async (client) => {
      const held = await client.query<ScheduleRow>(`SELECT ${COLUMNS} FROM schedules WHERE name = $1 AND next_run_at = $2 FOR UPDATE`, [name, tick]);
      if (!held.rows[0]) return null;
      const schedule = viewOf(held.rows[0]);
      // Durable (its own transaction) before the advance below commits.
      await submit(schedule);
      const now = Date.now();
      const { rows } = await client.query<ScheduleRow>(
        `UPDATE schedules SET next_run_at = $2, last_fired_at = $3, firings = firings + 1 WHERE name = $1 RETURNING ${COLUMNS}`,
        [name, next(schedule, now), now],
      );
      await client.query(`SELECT pg_notify('gaffer_schedule', $1)`, [name]);
      return viewOf(rows[0]);
    });
  }

  async skip(name: string, from: number, to: number | null): Promise<boolean> {
    const { rows } = await this.db.query(
      `WITH moved AS (UPDATE schedules SET next_run_at = $3 WHERE name = $1 AND next_run_at = $2 RETURNING name)
       SELECT pg_notify('gaffer_schedule', name) FROM moved`,
      [name, from, to],
    );
    return rows.length > 0;
  }

  watch(changed: (name: string | null) => void): void {
    this.db.on('notification', (channel, name) => {
      if (channel === 'gaffer_schedule') changed(name);
    });
    this.db.on('relisten', () => changed(null));
  }
}
