/**
 * Hot-model routing: send a task where its model is already loaded.
 *
 * Workers report their hot task types (every dependency loaded; see
 * worker/hot-cache.ts) in hello and heartbeats. While any worker reports
 * one, each dispatch pass ranks a worker's candidate tasks by, in order:
 * priority; then hot on this worker, before types no worker is hot for,
 * before types hot only elsewhere; then age. And a task whose type is hot on
 * another (connected, active) worker is left for that worker until it has
 * waited `coldStartWaitMs` since it became ready; after that a cold worker
 * with nothing better takes it rather than idle. With no hot worker for a
 * type anywhere, its tasks go at once, as with plain routing.
 *
 * So a busy hot worker keeps its model while a backlog of its type lasts;
 * free slots stay idle at most `coldStartWaitMs` for a hot slot to open. A
 * timer wakes dispatch when the first deferred task's wait is up.
 */
import type { WorkerEntry } from '../fleet.js';
import type { LiveTask } from '../task-types.js';

/** How a task ranks on one worker: lower is better; `SKIP` leaves it for a hot worker for now. */
export const HOT_HERE = 0;
export const NOBODY_HOT = 1;
export const HOT_ELSEWHERE = 2;
export const SKIP = -1;
export type HotRank = typeof HOT_HERE | typeof NOBODY_HOT | typeof HOT_ELSEWHERE | typeof SKIP;

export class HotRouting {
  /** Task types with at least one hot worker that can take work, as of the start of the pass. */
  private readonly hotTypes = new Set<string>();
  private wakeAt = Infinity;
  private timer: NodeJS.Timeout | null = null;

  /**
   * @param coldStartWaitMs longest a task waits for a hot worker while a cold one is free, in ms.
   * @param wake asks for a dispatch pass (when a deferred task's wait is up).
   */
  constructor(
    private readonly coldStartWaitMs: number,
    private readonly wake: () => void,
  ) {}

  /** Start of a dispatch pass: notes which types are hot somewhere. Returns false when none is (plain routing, no ranking cost). */
  beginPass(workers: Iterable<WorkerEntry>): boolean {
    this.hotTypes.clear();
    for (const w of workers) {
      if (w.hotSkills.length === 0 || !w.session || w.state !== 'active' || w.draining) continue;
      for (const type of w.hotSkills) this.hotTypes.add(type);
    }
    return this.hotTypes.size > 0;
  }

  /** How `task` ranks for `worker` now (see the module comment). */
  rank(worker: WorkerEntry, task: LiveTask, now: number): HotRank {
    if (!this.hotTypes.has(task.type)) return NOBODY_HOT;
    if (worker.hotSkills.includes(task.type)) return HOT_HERE;
    const due = task.runAt + this.coldStartWaitMs;
    if (now >= due) return HOT_ELSEWHERE;
    if (due < this.wakeAt) this.wakeAt = due;
    return SKIP;
  }

  /** End of a pass: wakes dispatch when the earliest task left for a hot worker may go to a cold one. */
  endPass(now: number): void {
    if (this.wakeAt === Infinity) return;
    const at = this.wakeAt;
    this.wakeAt = Infinity;
    if (this.timer) clearTimeout(this.timer);
    // One millisecond late rather than early: a pass at `due - ε` would defer the task again.
    this.timer = setTimeout(() => {
      this.timer = null;
      this.wake();
    }, Math.max(0, at - now) + 1);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
