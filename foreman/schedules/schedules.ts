/**
 * Recurring schedules (issue 12.2): `{name, cron, timezone?, task, catchUp?}` submits `task` at every
 * tick of `cron` (parsed by croner; 5 fields, or 6 with seconds). Exactly once per tick, across
 * restarts and across foremen sharing a PostgreSQL store: the store holds the tick while its task is
 * submitted under the idempotency key `schedule:<name>:<tick ms>`, then advances `next_run_at` by
 * compare-and-set (schedule-store.ts), so a firing repeated after a crash (submitted, not yet
 * advanced) names the same task instead of making a second one. Ticks missed while no foreman ran fire
 * once on start (`catchUp: 'once'`, the default: the first missed tick) or not at all (`'skip'`).
 *
 * The API reads the store; the timers follow a copy of each schedule's next tick, re-read after every
 * write here and, on PostgreSQL, whenever another foreman announces one.
 */
import { Cron } from 'croner';
import { LedgerError } from '../ledger-error.js';
import type { TaskLedger } from '../ledger.js';
import type { ScheduleSpec, ScheduleStore, ScheduleView } from './schedule-store.js';

export type { CatchUp, ScheduleSpec, ScheduleView } from './schedule-store.js';

/** After a firing failed (the store is unreachable or closing), its tick stays due and is tried again this much later, in ms. */
const RETRY_AFTER_FAILURE_MS = 1000;

export interface SchedulesDeps {
  store: ScheduleStore;
  tasks: TaskLedger;
  /** A schedule fired (its task is durable), for metrics. */
  onFired?(name: string): void;
  log?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

/** Parses `cron` in `timezone`; throws LedgerError INVALID_REQUEST naming the field. */
function parse(cron: string, timezone: string | null): Cron {
  let job: Cron;
  try {
    job = cronOf(cron, timezone);
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

const cronOf = (cron: string, timezone: string | null): Cron => new Cron(cron, { paused: true, ...(timezone ? { timezone } : {}) });

const nextAfter = (job: Cron, at: number): number | null => job.nextRun(new Date(at))?.getTime() ?? null;

export class Schedules {
  /** Each schedule's next tick (null: none), as last read from the store: what the timer is set for. */
  private readonly timed = new Map<string, number | null>();
  private timer: NodeJS.Timeout | null = null;
  private firing = false;
  /** The last pass could not fire a due tick: the store is failing (reported once, until a pass succeeds). */
  private failing = false;
  private stopped = false;
  /** Re-reads of the store, one at a time and in order, so an older read never lands after a newer one. */
  private reading: Promise<void> = Promise.resolve();

  constructor(private readonly deps: SchedulesDeps) {}

  /** Reads the schedules and fires (or skips) the ticks missed while no foreman was running. */
  async start(now = Date.now()): Promise<void> {
    this.deps.store.watch((name) => void this.follow(name));
    for (const s of await this.deps.store.list()) {
      if (s.nextRunAt === null || s.nextRunAt > now) continue;
      const next = nextAfter(cronOf(s.cron, s.timezone), now);
      if (s.catchUp === 'once') {
        this.deps.log?.info({ schedule: s.name, missedFrom: s.nextRunAt, next }, 'firing the first schedule tick missed while down, skipping the rest');
      } else if (await this.deps.store.skip(s.name, s.nextRunAt, next)) {
        // Compare-and-set: another foreman may have fired or skipped it meanwhile.
        this.deps.log?.info({ schedule: s.name, missedFrom: s.nextRunAt, next }, 'skipping schedule ticks missed while down');
      }
    }
    await this.follow(null);
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
    const out = await this.deps.store.put(spec, nextAfter(job, now), now);
    await this.follow(spec.name);
    return out;
  }

  async remove(name: string): Promise<boolean> {
    const removed = await this.deps.store.remove(name);
    await this.follow(name);
    return removed;
  }

  get(name: string): Promise<ScheduleView | null> {
    return this.deps.store.get(name);
  }

  list(): Promise<ScheduleView[]> {
    return this.deps.store.list();
  }

  /** Re-reads one schedule (or all, for null) into the timers, after every read queued before it. */
  private follow(name: string | null): Promise<void> {
    this.reading = this.reading
      .then(() => this.read(name))
      .catch((err) => this.deps.log?.warn({ err, schedule: name }, 'schedules could not be read; the timers keep what they had'));
    return this.reading;
  }

  private async read(name: string | null): Promise<void> {
    const found = name === null ? await this.deps.store.list() : [await this.deps.store.get(name)].filter((s): s is ScheduleView => s !== null);
    if (name === null) this.timed.clear();
    else this.timed.delete(name);
    for (const s of found) this.timed.set(s.name, s.nextRunAt);
    this.arm(0);
  }

  /** Fires every schedule whose tick has come, one at a time, then sets the timer for the next tick. */
  private async fireDue(): Promise<void> {
    if (this.firing || this.stopped) return;
    this.firing = true;
    let failed = false;
    try {
      for (const [name, tick] of [...this.timed]) {
        if (tick === null || tick > Date.now() || this.stopped) continue;
        let submitted = false;
        try {
          const fired = await this.deps.store.fire(
            name,
            tick,
            async (current) => {
              submitted = await this.submit(current, tick);
            },
            (current, now) => nextAfter(cronOf(current.cron, current.timezone), Math.max(now, tick)),
          );
          if (fired && submitted) this.deps.onFired?.(name);
          // Fired here, fired elsewhere, or replaced meanwhile: the store says what the next tick is.
          await this.follow(name);
        } catch (err) {
          failed = true;
          // Once per episode: the tick is tried again every RETRY_AFTER_FAILURE_MS until the store takes it.
          if (!this.failing) this.deps.log?.warn({ err, schedule: name, tick }, 'schedule could not fire (the store is failing or closing); the tick stays due and is tried again');
        }
      }
    } finally {
      this.firing = false;
    }
    if (this.failing && !failed) this.deps.log?.info({}, 'schedules firing again');
    this.failing = failed;
    this.arm(failed ? RETRY_AFTER_FAILURE_MS : 0);
  }

  /**
   * Submits the tick's task; the key makes it one task however often this runs for the tick.
   * A task the ledger refuses (a 4xx: invalid, or the key names another task) is logged and the tick
   * passes; anything else (the store failing) is thrown, so the tick stays due.
   */
  private async submit(s: ScheduleView, tick: number): Promise<boolean> {
    try {
      await this.deps.tasks.submit([{ ...s.task, key: `schedule:${s.name}:${tick}` }], null);
      return true;
    } catch (err) {
      if (!(err instanceof LedgerError) || err.statusCode >= 500) throw err;
      this.deps.log?.warn({ err, schedule: s.name, tick }, 'schedule task refused; moving on to the next tick');
      return false;
    }
  }

  /** One timer, for the earliest next tick but not before `minDelayMs` (at most ~24 days ahead: setTimeout's limit). */
  private arm(minDelayMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    let earliest = Infinity;
    for (const tick of this.timed.values()) if (tick !== null && tick < earliest) earliest = tick;
    if (earliest === Infinity) return;
    this.timer = setTimeout(
      () => void this.fireDue().catch((err) => this.deps.log?.warn({ err }, 'schedules could not fire; the ticks stay due')),
      Math.min(2_000_000_000, Math.max(minDelayMs, earliest - Date.now())),
    );
    this.timer.unref();
  }
}
