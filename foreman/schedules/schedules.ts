/**
 * Recurring schedules (issue 12.2): `{name, cron, timezone?, task, catchUp?}` submits `task` at every
 * tick of `cron` (parsed by croner; 5 fields, or 6 with seconds). Exactly once per tick, across
 * restarts: each firing submits the task under the idempotency key `schedule:<name>:<tick ms>`, so a
 * firing repeated after a crash (submitted, but `next_run_at` not yet advanced) names the same task
 * instead of making a second one. Ticks missed while the foreman was down fire once on start
 * (`catchUp: 'once'`, the default: the first missed tick) or not at all (`'skip'`).
 */
import { Cron } from 'croner';
import { LedgerError } from '../ledger-error.js';
import type { TaskLedger } from '../ledger.js';
import type { Db } from '../store/database.js';
import type { GroupCommit } from '../store/group-commit.js';
import type { TaskInput } from '../task-types.js';

export type CatchUp = 'once' | 'skip';

export interface ScheduleSpec {
  name: string;
  cron: string;
  timezone: string | null;
  task: TaskInput;
  catchUp: CatchUp;
}

export interface ScheduleView extends ScheduleSpec {
  nextRunAt: number | null;
  lastFiredAt: number | null;
  firings: number;
  createdAt: number;
}

interface Row {
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

interface Live extends ScheduleView {
  job: Cron;
}

export interface SchedulesDeps {
  db: Db;
  commit: GroupCommit;
  tasks: TaskLedger;
  /** A schedule fired (its task is durable), for metrics. */
  onFired?(name: string): void;
  log?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

/** Parses `cron` in `timezone`; throws LedgerError INVALID_REQUEST naming the field. */
function parse(cron: string, timezone: string | null): Cron {
  let job: Cron;
  try {
    job = new Cron(cron, { paused: true, ...(timezone ? { timezone } : {}) });
  } catch (err) {
    throw new LedgerError(400, 'INVALID_REQUEST', `body/cron: ${(err as Error).message}`, 'body/cron');
  }
  try {
    job.nextRun();
  } catch (err) {
    throw new LedgerError(400, 'INVALID_REQUEST', `body/timezone: ${(err as Error).message}`, 'body/timezone');
  }
  return job;
}

const nextAfter = (job: Cron, at: number): number | null => job.nextRun(new Date(at))?.getTime() ?? null;

export class Schedules {
  private readonly live = new Map<string, Live>();
  private timer: NodeJS.Timeout | null = null;
  private firing = false;
  private stopped = false;
  private readonly upsertStmt;
  private readonly deleteStmt;
  private readonly allStmt;
  private readonly advanceStmt;

  constructor(private readonly deps: SchedulesDeps) {
    this.upsertStmt = deps.db.prepare<[string, string, string | null, string, string, number | null, number]>(
      `INSERT INTO schedules (name, cron, timezone, task, catch_up, next_run_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET cron = excluded.cron, timezone = excluded.timezone, task = excluded.task,
         catch_up = excluded.catch_up, next_run_at = excluded.next_run_at`,
    );
    this.deleteStmt = deps.db.prepare<[string]>('DELETE FROM schedules WHERE name = ?');
    this.allStmt = deps.db.prepare<[], Row>('SELECT * FROM schedules ORDER BY name');
    this.advanceStmt = deps.db.prepare<[number | null, number, string]>('UPDATE schedules SET next_run_at = ?, last_fired_at = ?, firings = firings + 1 WHERE name = ?');
  }

  /** Reads the schedules and fires (or skips) the ticks missed while the foreman was down. */
  async start(now = Date.now()): Promise<void> {
    for (const r of this.allStmt.all()) {
      const s: Live = {
        name: r.name, cron: r.cron, timezone: r.timezone, task: JSON.parse(r.task) as TaskInput, catchUp: r.catch_up,
        nextRunAt: r.next_run_at, lastFiredAt: r.last_fired_at, firings: r.firings, createdAt: r.created_at,
        job: new Cron(r.cron, { paused: true, ...(r.timezone ? { timezone: r.timezone } : {}) }),
      };
      this.live.set(s.name, s);
      if (s.nextRunAt !== null && s.nextRunAt <= now && s.catchUp === 'skip') {
        const next = nextAfter(s.job, now);
        this.deps.log?.info({ schedule: s.name, missedFrom: s.nextRunAt, next }, 'skipping schedule ticks missed while down');
        s.nextRunAt = next;
        await this.deps.commit.write(() => this.deps.db.prepare('UPDATE schedules SET next_run_at = ? WHERE name = ?').run(next, s.name));
      }
    }
    // 'once': the first missed tick is still next_run_at, so the first pass fires it, then moves on from now.
    await this.fireDue();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Creates or replaces a schedule (durable before it resolves); its first tick is the next one from now. */
  async put(spec: ScheduleSpec): Promise<{ created: boolean; schedule: ScheduleView }> {
    const job = parse(spec.cron, spec.timezone);
    const now = Date.now();
    const next = nextAfter(job, now);
    const old = this.live.get(spec.name);
    await this.deps.commit.write(() => this.upsertStmt.run(spec.name, spec.cron, spec.timezone, JSON.stringify(spec.task), spec.catchUp, next, now));
    const s: Live = { ...spec, nextRunAt: next, lastFiredAt: old?.lastFiredAt ?? null, firings: old?.firings ?? 0, createdAt: old?.createdAt ?? now, job };
    this.live.set(spec.name, s);
    this.arm();
    return { created: !old, schedule: view(s) };
  }

  async remove(name: string): Promise<boolean> {
    if (!this.live.has(name)) return false;
    this.live.delete(name);
    await this.deps.commit.write(() => this.deleteStmt.run(name));
    this.arm();
    return true;
  }

  get(name: string): ScheduleView | null {
    const s = this.live.get(name);
    return s ? view(s) : null;
  }

  list(): ScheduleView[] {
    return [...this.live.values()].sort((a, b) => a.name.localeCompare(b.name)).map(view);
  }

  /** Fires every schedule whose tick has come, one at a time, then sets the timer for the next tick. */
  private async fireDue(): Promise<void> {
    if (this.firing || this.stopped) return;
    this.firing = true;
    try {
      for (const s of [...this.live.values()]) {
        const tick = s.nextRunAt;
        if (tick === null || tick > Date.now() || this.live.get(s.name) !== s) continue;
        let fired = false;
        try {
          // The key makes the tick's task one task, however often this runs for it (a crash before the advance below).
          await this.deps.tasks.submit([{ ...s.task, key: `schedule:${s.name}:${tick}` }], null);
          fired = true;
        } catch (err) {
          this.deps.log?.warn({ err, schedule: s.name, tick }, 'schedule could not submit its task; trying again at the next tick');
        }
        const now = Date.now();
        const next = nextAfter(s.job, Math.max(now, tick));
        await this.deps.commit.write(() => this.advanceStmt.run(next, now, s.name));
        s.nextRunAt = next;
        s.lastFiredAt = now;
        s.firings++;
        if (fired) this.deps.onFired?.(s.name);
      }
    } finally {
      this.firing = false;
    }
    this.arm();
  }

  /** One timer, for the earliest next tick (at most ~24 days ahead: setTimeout's limit). */
  private arm(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    let earliest = Infinity;
    for (const s of this.live.values()) if (s.nextRunAt !== null && s.nextRunAt < earliest) earliest = s.nextRunAt;
    if (earliest === Infinity) return;
    this.timer = setTimeout(() => this.fireDue().catch((err) => this.deps.log?.warn({ err }, 'schedules could not fire (the store is closing or failing); the ticks stay due')), Math.min(2_000_000_000, Math.max(0, earliest - Date.now())));
    this.timer.unref();
  }
}

function view(s: Live): ScheduleView {
  return { name: s.name, cron: s.cron, timezone: s.timezone, task: s.task, catchUp: s.catchUp, nextRunAt: s.nextRunAt, lastFiredAt: s.lastFiredAt, firings: s.firings, createdAt: s.createdAt };
}
