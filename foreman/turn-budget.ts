/**
 * How long one piece of a big submission may hold the event loop, and the two ways it is kept to it:
 * parsing yields once a turn has used its budget (TurnBudget), and the import sizes its slices from how
 * long the last one took to write (SliceSizer). Budgets in time rather than in characters or tasks hold
 * on any machine and while the code is still cold: traced, the first 64 KiB of a body took 10-20 ms to
 * parse before the JIT had compiled the parser, against 2-4 ms afterwards.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';

/** Milliseconds of work in one turn of the event loop before a big submission lets everyone else in. */
export const TURN_BUDGET_MS = 2;

/** Yields to the event loop once TURN_BUDGET_MS have passed since the last yield. */
export class TurnBudget {
  private since = performance.now();

  /** Resolves at once while the turn has budget left; otherwise in a later turn, with a fresh budget. */
  async pace(): Promise<void> {
    if (performance.now() - this.since < TURN_BUDGET_MS) return;
    await yieldToLoop();
    this.since = performance.now();
  }
}

/** Tasks in an import's first slice: written while the code is still cold, so few. */
const FIRST_SLICE_TASKS = 50;
const MIN_SLICE_TASKS = 25;

/**
 * The size of each slice of an import: the first small, each next one what the last one's write
 * suggests fits in TURN_BUDGET_MS, at most twice the last (the write's cost per task settles as the code
 * warms up) and at most `maxTasks`.
 */
export class SliceSizer {
  size = FIRST_SLICE_TASKS;

  constructor(private readonly maxTasks: number) {}

  /** The last slice, of `tasks` tasks, took `ms` to write. */
  wrote(tasks: number, ms: number): void {
    const fits = ms > 0 ? Math.floor((tasks * TURN_BUDGET_MS) / ms) : this.maxTasks;
    this.size = Math.max(MIN_SLICE_TASKS, Math.min(fits, 2 * this.size, this.maxTasks));
  }
}
