/**
 * The ready tasks of one type, highest priority first, then oldest (lowest
 * seq) first. New tasks arrive in seq order, so each priority level keeps
 * them in a plain FIFO array (O(1) push and pop); only tasks that come back
 * out of order (retries, lost or released attempts) go into a small heap
 * beside it, and the older of the two heads is taken.
 *
 * Removal is lazy, as in TaskQueues: an entry whose task is no longer
 * `queued` is dropped when it reaches the front.
 */
import { BinaryHeap } from './binary-heap.js';
import type { LiveTask } from './task-types.js';

const bySeq = (a: LiveTask, b: LiveTask): boolean => a.seq < b.seq;

/** Past this many consumed slots at the front (and over half the array), the FIFO is compacted. */
const COMPACT_AFTER = 4096;

class Level {
  fifo: Array<LiveTask | undefined> = [];
  head = 0;
  lastSeq = -1;
  late: BinaryHeap<LiveTask> | null = null;

  push(task: LiveTask): void {
    if (task.seq > this.lastSeq) {
      this.fifo.push(task);
      this.lastSeq = task.seq;
    } else {
      (this.late ??= new BinaryHeap(bySeq)).push(task);
    }
  }

  /** The oldest queued task of this level, dropping stale entries on the way. */
  top(): LiveTask | undefined {
    const fifo = this.fifo;
    while (this.head < fifo.length && !(fifo[this.head] as LiveTask).queued) fifo[this.head++] = undefined;
    const late = this.late;
    while (late && late.size > 0 && !(late.peek() as LiveTask).queued) late.pop();
    const a = fifo[this.head];
    const b = late?.peek();
    if (!a) return b;
    if (!b) return a;
    return a.seq < b.seq ? a : b;
  }

  /**
   * The oldest queued task `accept` takes among the first `limit` FIFO entries and the late heap's
   * head (deeper late entries are not looked at: retries out of order are few).
   */
  find(accept: (t: LiveTask) => boolean, limit: number): LiveTask | undefined {
    let found: LiveTask | undefined;
    const end = Math.min(this.fifo.length, this.head + limit);
    for (let i = this.head; i < end; i++) {
      const t = this.fifo[i];
      if (t?.queued && accept(t)) {
        found = t;
        break;
      }
    }
    const late = this.late?.peek();
    if (late?.queued && accept(late) && (!found || late.seq < found.seq)) found = late;
    return found;
  }

  /** Removes `task`, which `top()` just returned. */
  take(task: LiveTask): void {
    if (this.fifo[this.head] === task) {
      this.fifo[this.head++] = undefined;
      if (this.head === this.fifo.length) {
        this.fifo = [];
        this.head = 0;
        this.lastSeq = -1;
      } else if (this.head > COMPACT_AFTER && this.head * 2 > this.fifo.length) {
        this.fifo = this.fifo.slice(this.head);
        this.head = 0;
      }
    } else if (this.late?.peek() === task) {
      this.late.pop();
    }
  }

  get empty(): boolean {
    return this.head >= this.fifo.length && (this.late === null || this.late.size === 0);
  }

  /** Entries held, dropped ones included. */
  get entries(): number {
    return this.fifo.length - this.head + (this.late?.size ?? 0);
  }

  /** Drops every entry whose task is no longer queued. */
  compact(): void {
    const kept: LiveTask[] = [];
    for (let i = this.head; i < this.fifo.length; i++) {
      const t = this.fifo[i];
      if (t?.queued) kept.push(t);
    }
    this.fifo = kept;
    this.head = 0;
    this.late?.retain((t) => t.queued);
  }
}

export class ReadyQueue {
  private readonly levels = new Map<number, Level>();
  /** Priorities that have a level, highest first (there are few distinct ones). */
  private priorities: number[] = [];

  push(task: LiveTask): void {
    let level = this.levels.get(task.priority);
    if (!level) {
      level = new Level();
      this.levels.set(task.priority, level);
      let i = 0;
      while (i < this.priorities.length && this.priorities[i] > task.priority) i++;
      this.priorities.splice(i, 0, task.priority);
    }
    level.push(task);
  }

  /**
   * The best queued task `accept` takes, looking at most `limit` entries deep per priority: how a task
   * that must not run on some worker (a quorum replica) lets the ones behind it pass there.
   */
  find(accept: (t: LiveTask) => boolean, limit: number): LiveTask | undefined {
    for (const p of this.priorities) {
      const t = (this.levels.get(p) as Level).find(accept, limit);
      if (t) return t;
    }
    return undefined;
  }

  /** The best queued task, or undefined when none is left. */
  peek(): LiveTask | undefined {
    while (this.priorities.length > 0) {
      const p = this.priorities[0];
      const level = this.levels.get(p) as Level;
      const t = level.top();
      if (t) return t;
      this.levels.delete(p);
      this.priorities.shift();
    }
    return undefined;
  }

  /** Entries held, including those of tasks that left the queue and are not dropped yet. */
  get entries(): number {
    let n = 0;
    for (const level of this.levels.values()) n += level.entries;
    return n;
  }

  /** Drops every entry whose task is no longer queued (lazy removal would keep them until they reach the front). */
  compact(): void {
    for (const [p, level] of this.levels) {
      level.compact();
      if (level.empty) {
        this.levels.delete(p);
        this.priorities.splice(this.priorities.indexOf(p), 1);
      }
    }
  }

  /** Removes `task` if it is the one `peek()` returns. */
  take(task: LiveTask): void {
    if (this.peek() !== task) return;
    const level = this.levels.get(task.priority) as Level;
    level.take(task);
    if (level.empty) {
      this.levels.delete(task.priority);
      this.priorities.splice(this.priorities.indexOf(task.priority), 1);
    }
  }
}
