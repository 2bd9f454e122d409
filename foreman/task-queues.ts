/**
 * The foreman's queues of waiting tasks: one heap per task type (highest
 * priority first, then oldest first) and one heap of tasks delayed until
 * their `runAt` (retry backoff). Removal is lazy: a task that leaves the
 * `queued` state stays in its heap and is skipped when it reaches the top.
 */
import { BinaryHeap } from './binary-heap.js';
import type { LiveTask } from './task-types.js';

const readyOrder = (a: LiveTask, b: LiveTask): boolean =>
  a.priority !== b.priority ? a.priority > b.priority : a.seq < b.seq;
const delayOrder = (a: LiveTask, b: LiveTask): boolean => a.runAt < b.runAt || (a.runAt === b.runAt && a.seq < b.seq);

export class TaskQueues {
  private readonly ready = new Map<string, BinaryHeap<LiveTask>>();
  private readonly delayed = new BinaryHeap<LiveTask>(delayOrder);
  /** Live queued tasks per type (ready or delayed), kept exact for stats. */
  private readonly counts = new Map<string, number>();
  private total = 0;

  /** Adds a queued task: ready now, or delayed until `task.runAt`. */
  add(task: LiveTask, now: number): void {
    task.queued = true;
    this.counts.set(task.type, (this.counts.get(task.type) ?? 0) + 1);
    this.total++;
    if (task.runAt > now) this.delayed.push(task);
    else this.heapOf(task.type).push(task);
  }

  /** Forgets a task that left the queued state (its heap entry is dropped lazily). */
  remove(task: LiveTask): void {
    if (!task.queued) return;
    task.queued = false;
    const n = (this.counts.get(task.type) ?? 1) - 1;
    if (n === 0) this.counts.delete(task.type);
    else this.counts.set(task.type, n);
    this.total--;
  }

  /** The best ready task of `type`, without taking it. */
  peek(type: string): LiveTask | undefined {
    const heap = this.ready.get(type);
    if (!heap) return undefined;
    let top = heap.peek();
    while (top && !top.queued) {
      heap.pop();
      top = heap.peek();
    }
    if (!top) this.ready.delete(type);
    return top;
  }

  /** Takes the task `peek(type)` returned. */
  take(task: LiveTask): void {
    const heap = this.ready.get(task.type);
    if (heap?.peek() === task) heap.pop();
    this.remove(task);
  }

  /** Moves delayed tasks whose time has come into the ready heaps; returns how many moved. */
  promoteDue(now: number): number {
    let moved = 0;
    for (let t = this.delayed.peek(); t && t.runAt <= now; t = this.delayed.peek()) {
      this.delayed.pop();
      if (!t.queued) continue;
      this.heapOf(t.type).push(t);
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

  /** Types that have at least one ready task. */
  readyTypes(): IterableIterator<string> {
    return this.ready.keys();
  }

  hasReady(type: string): boolean {
    return this.peek(type) !== undefined;
  }

  get size(): number {
    return this.total;
  }

  countsByType(): Map<string, number> {
    return this.counts;
  }

  clear(): void {
    this.ready.clear();
    this.delayed.clear();
    this.counts.clear();
    this.total = 0;
  }

  private heapOf(type: string): BinaryHeap<LiveTask> {
    let heap = this.ready.get(type);
    if (!heap) {
      heap = new BinaryHeap(readyOrder);
      this.ready.set(type, heap);
    }
    return heap;
  }
}
