/**
 * The foreman's queues of waiting tasks: one ready queue per task type
 * (highest priority first, then oldest first; see ReadyQueue) and one heap of
 * tasks delayed until their `runAt` (retry backoff). Removal is lazy: a task
 * that leaves the `queued` state stays in its queue and is skipped when it
 * reaches the front.
 *
 * Spilled ("cold") tasks are only counted here, by type and priority: they
 * are in the store alone until the TaskManager pages them in (`warm`).
 * Counts, `size` and the stats include them.
 */
import { BinaryHeap } from './binary-heap.js';
import { ReadyQueue } from './ready-queue.js';
import type { LiveTask } from './task-types.js';

const delayOrder = (a: LiveTask, b: LiveTask): boolean => a.runAt < b.runAt || (a.runAt === b.runAt && a.seq < b.seq);

/** Dropped entries tolerated before a compaction is considered. */
const COMPACT_MIN = 1024;

export class TaskQueues {
  private readonly ready = new Map<string, ReadyQueue>();
  private readonly delayed = new BinaryHeap<LiveTask>(delayOrder);
  /** Live queued tasks per type (ready or delayed), kept exact for stats. */
  private readonly counts = new Map<string, number>();
  /** Live queued tasks per priority, so stats need not scan the queued rows. */
  private readonly priorities = new Map<number, number>();
  private total = 0;
  /** Spilled tasks per type and priority. */
  private readonly cold = new Map<string, Map<number, number>>();
  private coldTotal = 0;
  /** Tasks removed (not taken) since the last compaction: their entries may still sit in the heaps. */
  private dropped = 0;

  /** Adds a queued task: ready now, or delayed until `task.runAt`. */
  add(task: LiveTask, now: number): void {
    task.queued = true;
    this.bump(task.type, task.priority, 1);
    this.push(task, now);
  }

  /**
   * Forgets a task that left the queued state other than by being taken (cancelled). Its heap entry
   * is dropped lazily; once such entries outnumber the queued tasks, the heaps are compacted, so a
   * large cancelled backlog that no worker would ever reach is not kept in memory.
   */
  remove(task: LiveTask): void {
    if (!task.queued) return;
    this.unqueue(task);
    if (++this.dropped > COMPACT_MIN && this.dropped > this.total - this.coldTotal) this.compact();
  }

  /** Heap and FIFO entries held, including dropped ones not yet compacted away. */
  get entries(): number {
    let n = this.delayed.size;
    for (const q of this.ready.values()) n += q.entries;
    return n;
  }

  private unqueue(task: LiveTask): void {
    task.queued = false;
    this.bump(task.type, task.priority, -1);
  }

  private compact(): void {
    for (const q of this.ready.values()) q.compact();
    this.delayed.retain((t) => t.queued);
    this.dropped = 0;
  }

  /** Counts `n` spilled tasks of a type and priority. */
  addCold(type: string, priority: number, n = 1): void {
    this.bump(type, priority, n);
    this.coldTotal += n;
    let byPriority = this.cold.get(type);
    if (!byPriority) this.cold.set(type, (byPriority = new Map()));
    byPriority.set(priority, (byPriority.get(priority) ?? 0) + n);
  }

  /** A spilled task was paged in (or is about to be cancelled): it joins the in-memory queues, counted once. */
  warm(task: LiveTask, now: number): void {
    this.uncold(task.type, task.priority);
    task.queued = true;
    this.push(task, now);
  }

  /** One spilled task of this type and priority left the queue in the store (cancelled there). */
  dropColdOne(type: string, priority: number): void {
    this.uncold(type, priority);
    this.bump(type, priority, -1);
  }

  /** Forgets every spilled task of `type` without warming any (the store holds none: the counts had drifted). */
  dropCold(type: string): void {
    for (const [priority, n] of this.cold.get(type) ?? []) {
      this.coldTotal -= n;
      this.bump(type, priority, -n);
    }
    this.cold.delete(type);
  }

  /** Spilled tasks in all. */
  get coldSize(): number {
    return this.coldTotal;
  }

  /** The highest priority among the spilled tasks of `type`, or null when none is spilled. */
  coldTopPriority(type: string): number | null {
    const byPriority = this.cold.get(type);
    if (!byPriority) return null;
    let top: number | null = null;
    for (const p of byPriority.keys()) if (top === null || p > top) top = p;
    return top;
  }

  /** Whether some task of `type` and `priority` is spilled (new ones then spill too, to stay behind it). */
  hasCold(type: string, priority: number): boolean {
    return (this.cold.get(type)?.get(priority) ?? 0) > 0;
  }

  /** Queued tasks of `type` held in memory (ready or delayed). */
  hotCount(type: string): number {
    let cold = 0;
    for (const n of this.cold.get(type)?.values() ?? []) cold += n;
    return (this.counts.get(type) ?? 0) - cold;
  }

  /** The best ready task of `type`, without taking it. */
  peek(type: string): LiveTask | undefined {
    const queue = this.ready.get(type);
    if (!queue) return undefined;
    const top = queue.peek();
    if (!top) this.ready.delete(type);
    return top;
  }

  /** The best ready task of `type` that `accept` takes, looking at most `limit` entries deep (see ReadyQueue.find). */
  find(type: string, accept: (t: LiveTask) => boolean, limit: number): LiveTask | undefined {
    return this.ready.get(type)?.find(accept, limit);
  }

  /** Takes the task `peek(type)` or `find` returned (one behind the head is dropped lazily when it reaches the front). */
  take(task: LiveTask): void {
    this.ready.get(task.type)?.take(task);
    if (task.queued) this.unqueue(task);
  }

  /** Moves delayed tasks whose time has come into the ready heaps; returns how many moved. */
  promoteDue(now: number): number {
    let moved = 0;
    for (let t = this.delayed.peek(); t && t.runAt <= now; t = this.delayed.peek()) {
      this.delayed.pop();
      if (!t.queued) continue;
      this.queueOf(t.type).push(t);
      moved++;
    }
    return moved;
  }

  /** When the next delayed task becomes ready, or null. */
  nextDueAt(): number | null {
    for (let t = this.delayed.peek(); t; t = this.delayed.peek()) {
      if (t.queued) return t.runAt;
      this.delayed.pop();
    }
    return null;
  }

  /** Types that have (or recently had: emptied heaps are dropped at the next peek) ready tasks. */
  readyTypes(): IterableIterator<string> {
    return this.ready.keys();
  }

  /** How many types `readyTypes()` yields. */
  get readyTypeCount(): number {
    return this.ready.size;
  }

  hasReady(type: string): boolean {
    return this.peek(type) !== undefined;
  }

  /** Queued tasks, in memory or spilled. */
  get size(): number {
    return this.total;
  }

  countsByType(): Map<string, number> {
    return this.counts;
  }

  /** Live queued tasks per priority (ready or delayed). */
  countsByPriority(): Map<number, number> {
    return this.priorities;
  }

  clear(): void {
    this.ready.clear();
    this.delayed.clear();
    this.counts.clear();
    this.priorities.clear();
    this.cold.clear();
    this.coldTotal = 0;
    this.total = 0;
    this.dropped = 0;
  }

  private push(task: LiveTask, now: number): void {
    if (task.runAt > now) this.delayed.push(task);
    else this.queueOf(task.type).push(task);
  }

  private uncold(type: string, priority: number): void {
    const byPriority = this.cold.get(type);
    const n = (byPriority?.get(priority) ?? 0) - 1;
    if (!byPriority || n < 0) return;
    this.coldTotal--;
    if (n > 0) byPriority.set(priority, n);
    else {
      byPriority.delete(priority);
      if (byPriority.size === 0) this.cold.delete(type);
    }
  }

  private bump(type: string, priority: number, delta: number): void {
    const n = (this.counts.get(type) ?? 0) + delta;
    if (n <= 0) this.counts.delete(type);
    else this.counts.set(type, n);
    const p = (this.priorities.get(priority) ?? 0) + delta;
    if (p <= 0) this.priorities.delete(priority);
    else this.priorities.set(priority, p);
    this.total += delta;
  }

  private queueOf(type: string): ReadyQueue {
    let queue = this.ready.get(type);
    if (!queue) {
      queue = new ReadyQueue();
      this.ready.set(type, queue);
    }
    return queue;
  }
}
