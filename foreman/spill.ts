/**
 * Spilling keeps the foreman's memory flat under any backlog. A queued task
 * held in memory costs ~350 bytes (its object, id, params, map entries), so a
 * million of them would not fit the budget. Past `hotQueueMax` queued tasks,
 * new submissions spill: they are stored with an entry in the `spill` table
 * and only counted in memory. They are paged back in by type, best first
 * (priority, then oldest), a batch at a time, when that type's in-memory
 * queue runs low or a spilled task outranks the best one held.
 *
 * Order is kept per class (type and priority): once a task of a class has
 * spilled, later ones of that class spill too, so memory always holds the
 * oldest tasks of each class.
 */
import type { TaskStore } from './store/task-store.js';
import type { TaskQueues } from './task-queues.js';
import type { LiveTask, TaskInput } from './task-types.js';

const PAGE_IN_BATCH = 2000;
const PAGE_IN_LOW_WATER = 500;

const classOf = (type: string, priority: number): string => `${type}\0${priority}`;

/** Spilled tasks of one class (type and priority). */
interface SpilledClass {
  type: string;
  priority: number;
  n: number;
}

/** Which of a submission's fresh tasks spill (`cold[k]`), and how many of each class (by `classOf`) did. */
export interface SpillDecision {
  cold: boolean[];
  spilled: Map<string, SpilledClass>;
}

export class Spill {
  /** Spilled submissions not committed yet, by class: later ones in the same class spill too. */
  private readonly pending = new Map<string, number>();

  /**
   * @param hold makes a task read back from the spill a queued task held in memory.
   * @param hotQueueMax queued tasks held in memory before new ones spill.
   */
  constructor(
    private readonly store: TaskStore,
    private readonly queues: TaskQueues,
    private readonly hold: (task: LiveTask, now: number) => void,
    private readonly hotQueueMax: number,
  ) {}

  /**
   * Decides, for `count` fresh tasks about to be stored (the k-th as `at(k)` describes it), which spill
   * (`cold`); call `settled` with the decision once their commit is done.
   * @param allCold every task spills (held ones excepted): a big import, paged in as workers take it.
   */
  decide(count: number, at: (k: number) => TaskInput, allCold = false): SpillDecision {
    const cold: boolean[] = new Array(count);
    let hot = this.queues.size - this.queues.coldSize;
    // Counted here and added to `pending` once: a big submission is mostly of one class, and a string
    // and two map writes per task cost hundreds of ms in one turn for 200,000 tasks.
    const spilled = new Map<string, SpilledClass>();
    let last: { type: string; priority: number; cls: string; spilled: boolean } | null = null;
    for (let k = 0; k < count; k++) {
      const t = at(k);
      // A held task never joins a queue (see TaskInput.hold), so it is never spilled either.
      if (t.hold) {
        cold[k] = false;
        continue;
      }
      const priority = t.priority ?? 0;
      if (last === null || last.type !== t.type || last.priority !== priority) {
        const cls = classOf(t.type, priority);
        last = { type: t.type, priority, cls, spilled: spilled.has(cls) || this.pending.has(cls) || this.queues.hasCold(t.type, priority) };
      }
      // Once a class spills, the rest of it does too: the spill is paged in in order.
      cold[k] = allCold || last.spilled || hot >= this.hotQueueMax;
      if (cold[k]) {
        last.spilled = true;
        const c = spilled.get(last.cls);
        if (c) c.n++;
        else spilled.set(last.cls, { type: t.type, priority, n: 1 });
      } else {
        hot++;
      }
    }
    for (const [cls, { n }] of spilled) this.pending.set(cls, (this.pending.get(cls) ?? 0) + n);
    return { cold, spilled };
  }

  /**
   * The commit of tasks `decide` judged is over (done or failed). By the counts `decide` kept: a pass
   * with a string per spilled task held the loop for ~15 ms after a 200,000-task import.
   */
  settled(decision: SpillDecision): void {
    for (const [cls, { n: spilled }] of decision.spilled) {
      const n = (this.pending.get(cls) ?? spilled) - spilled;
      if (n > 0) this.pending.set(cls, n);
      else this.pending.delete(cls);
    }
  }

  /** The best ready task of `type`, paging spilled ones in first when they are due. */
  peekReady(type: string): LiveTask | undefined {
    const best = this.queues.peek(type);
    const coldTop = this.queues.coldTopPriority(type);
    if (coldTop === null) return best;
    if (best && coldTop <= best.priority && this.queues.hotCount(type) >= PAGE_IN_LOW_WATER) return best;
    this.pageIn(type);
    return this.queues.peek(type);
  }

  /** Brings one spilled task into memory (to cancel it); undefined when `id` is not a spilled task. */
  warmById(id: string): LiveTask | undefined {
    const row = this.store.getTask(id);
    if (!row || row.state !== 'queued' || !this.store.spill.has(row.seq)) return undefined;
    this.store.spill.remove([row.seq]);
    const task: LiveTask = {
      seq: row.seq, id: row.id, jobId: row.jobId, key: row.key, type: row.type, priority: row.priority,
      params: row.params, paramsLoaded: true, state: 'queued', attempt: row.attempt, failures: row.failures, losses: row.losses,
      maxAttempts: row.maxAttempts, timeoutMs: row.timeoutMs, workerId: null, runAt: row.runAt, createdAt: row.createdAt,
      startedAt: null, progress: null, queued: false,
    };
    this.hold(task, Date.now());
    return task;
  }

  /** Brings the next batch of spilled tasks of `type` into memory, best first. */
  private pageIn(type: string): void {
    const tasks = this.store.spill.ofType(type, PAGE_IN_BATCH);
    if (tasks.length === 0) {
      // The counts said some were spilled, the store has none: believe the store.
      this.queues.dropCold(type);
      return;
    }
    this.store.spill.remove(tasks.map((t) => t.seq));
    const now = Date.now();
    for (const t of tasks) this.hold(t, now);
  }
}
