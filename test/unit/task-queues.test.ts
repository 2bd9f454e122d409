/** The foreman's waiting queues: priority then FIFO per type, lazy removal, and delayed tasks promoted at their runAt. */
import { describe, expect, it } from 'vitest';
import { BinaryHeap } from '../../foreman/binary-heap.js';
import { TaskQueues } from '../../foreman/task-queues.js';
import type { LiveTask } from '../../foreman/task-types.js';

let seq = 0;
function task(fields: Partial<LiveTask> = {}): LiveTask {
  seq++;
  return {
    seq,
    id: `t${seq}`,
    jobId: null,
    key: null,
    type: 'echo',
    priority: 0,
    params: null,
    paramsLoaded: true,
    state: 'queued',
    attempt: 0,
    failures: 0,
    losses: 0,
    maxAttempts: 3,
    timeoutMs: null,
    workerId: null,
    runAt: 0,
    createdAt: 0,
    startedAt: null,
    progress: null,
    queued: false,
    ...fields,
  };
}

/** Takes every ready task of `type` in the order the dispatcher would. */
function drain(q: TaskQueues, type: string): string[] {
  const out: string[] = [];
  for (let t = q.peek(type); t; t = q.peek(type)) {
    q.take(t);
    out.push(t.id);
  }
  return out;
}

const NOW = 1_000_000;

describe('TaskQueues: ready order', () => {
  it('serves the highest priority first, then the oldest (FIFO) within a priority', () => {
    const q = new TaskQueues();
    const a = task({ priority: 0 });
    const b = task({ priority: 5 });
    const c = task({ priority: 0 });
    const d = task({ priority: 5 });
    const e = task({ priority: -3 });
    const f = task({ priority: 10 });
    // Added out of seq order: FIFO is by submission sequence, not by insertion into the heap.
    for (const t of [c, e, a, d, f, b]) q.add(t, NOW);
    expect(drain(q, 'echo')).toEqual([f, b, d, a, c, e].map((t) => t.id));
    expect(q.size).toBe(0);
  });

  it('keeps FIFO order among many tasks of one priority', () => {
    const q = new TaskQueues();
    const tasks = Array.from({ length: 200 }, () => task());
    for (const t of [...tasks].reverse()) q.add(t, NOW);
    expect(drain(q, 'echo')).toEqual(tasks.map((t) => t.id));
  });

  it('keeps one queue per type', () => {
    const q = new TaskQueues();
    const e1 = task({ type: 'echo' });
    const s1 = task({ type: 'sum', priority: 100 });
    const e2 = task({ type: 'echo', priority: 1 });
    for (const t of [e1, s1, e2]) q.add(t, NOW);
    expect(new Set(q.readyTypes())).toEqual(new Set(['echo', 'sum']));
    expect(q.peek('echo')).toBe(e2);
    expect(q.peek('sum')).toBe(s1);
    expect(q.peek('resize')).toBeUndefined();
    expect(q.hasReady('resize')).toBe(false);
    expect(Object.fromEntries(q.countsByType())).toEqual({ echo: 2, sum: 1 });
    expect(drain(q, 'echo')).toEqual([e2.id, e1.id]);
    expect(q.hasReady('echo')).toBe(false);
    expect(q.hasReady('sum')).toBe(true);
    expect([...q.readyTypes()]).toEqual(['sum']);
  });

  it('peek does not take; take marks the task as no longer queued', () => {
    const q = new TaskQueues();
    const t = task();
    q.add(t, NOW);
    expect(t.queued).toBe(true);
    expect(q.peek('echo')).toBe(t);
    expect(q.peek('echo')).toBe(t);
    expect(q.size).toBe(1);
    q.take(t);
    expect(t.queued).toBe(false);
    expect(q.size).toBe(0);
    expect(q.peek('echo')).toBeUndefined();
  });
});

describe('TaskQueues: lazy removal', () => {
  it('skips a removed task when it reaches the top, and counts stay exact at once', () => {
    const q = new TaskQueues();
    const a = task({ priority: 9 });
    const b = task({ priority: 5 });
    const c = task({ priority: 1 });
    for (const t of [a, b, c]) q.add(t, NOW);
    q.remove(a);
    q.remove(c);
    expect(a.queued).toBe(false);
    expect(q.size).toBe(1);
    expect(q.countsByType().get('echo')).toBe(1);
    expect(q.peek('echo')).toBe(b);
    expect(drain(q, 'echo')).toEqual([b.id]);
  });

  it('remove is idempotent and never drives counts negative', () => {
    const q = new TaskQueues();
    const a = task();
    const b = task();
    q.add(a, NOW);
    q.add(b, NOW);
    q.remove(a);
    q.remove(a);
    q.take(b);
    q.remove(b);
    expect(q.size).toBe(0);
    expect(q.countsByType().has('echo')).toBe(false);
  });

  it('forgets a type once its last ready task is gone', () => {
    const q = new TaskQueues();
    const a = task({ type: 'sum' });
    q.add(a, NOW);
    q.remove(a);
    expect(q.peek('sum')).toBeUndefined();
    expect([...q.readyTypes()]).toEqual([]);
  });

  it('a requeued task (removed, then added again) is served once, in its new place', () => {
    const q = new TaskQueues();
    const a = task();
    const b = task();
    q.add(a, NOW);
    q.add(b, NOW);
    q.take(q.peek('echo') as LiveTask); // a leaves (assigned)
    a.priority = 0;
    q.add(a, NOW); // lost with its worker: back in the queue
    expect(q.size).toBe(2);
    // a is older than b, so it comes first again; it must not appear twice.
    expect(drain(q, 'echo')).toEqual([a.id, b.id]);
  });
});

describe('TaskQueues: delayed tasks', () => {
  it('holds a task with a future runAt out of the ready queue until promoteDue reaches it', () => {
    const q = new TaskQueues();
    const later = task({ runAt: NOW + 1000 });
    const sooner = task({ runAt: NOW + 500 });
    q.add(later, NOW);
    q.add(sooner, NOW);
    expect(q.size).toBe(2);
    expect(q.peek('echo')).toBeUndefined();
    expect(q.nextDueAt()).toBe(NOW + 500);

    expect(q.promoteDue(NOW + 499)).toBe(0);
    expect(q.peek('echo')).toBeUndefined();

    expect(q.promoteDue(NOW + 500)).toBe(1);
    expect(q.peek('echo')).toBe(sooner);
    expect(q.nextDueAt()).toBe(NOW + 1000);

    expect(q.promoteDue(NOW + 5000)).toBe(1);
    expect(q.nextDueAt()).toBeNull();
    // Once ready, the usual order applies: `later` is the older task.
    expect(drain(q, 'echo')).toEqual([later.id, sooner.id]);
  });

  it('a task whose runAt is now or past is ready at once', () => {
    const q = new TaskQueues();
    const t = task({ runAt: NOW });
    q.add(t, NOW);
    expect(q.peek('echo')).toBe(t);
    expect(q.nextDueAt()).toBeNull();
  });

  it('orders delayed tasks with the same runAt by sequence', () => {
    const q = new TaskQueues();
    const a = task({ runAt: NOW + 10, priority: 1 });
    const b = task({ runAt: NOW + 10, priority: 1 });
    q.add(b, NOW);
    q.add(a, NOW);
    expect(q.promoteDue(NOW + 10)).toBe(2);
    expect(drain(q, 'echo')).toEqual([a.id, b.id]);
  });

  it('drops a delayed task removed before its time: not promoted, not reported as due', () => {
    const q = new TaskQueues();
    const cancelled = task({ runAt: NOW + 100 });
    const kept = task({ runAt: NOW + 200 });
    q.add(cancelled, NOW);
    q.add(kept, NOW);
    q.remove(cancelled);
    expect(q.size).toBe(1);
    expect(q.nextDueAt()).toBe(NOW + 200);
    expect(q.promoteDue(NOW + 1000)).toBe(1);
    expect(drain(q, 'echo')).toEqual([kept.id]);
  });

  it('clear forgets everything', () => {
    const q = new TaskQueues();
    q.add(task(), NOW);
    q.add(task({ runAt: NOW + 1 }), NOW);
    q.clear();
    expect(q.size).toBe(0);
    expect(q.peek('echo')).toBeUndefined();
    expect(q.nextDueAt()).toBeNull();
    expect(q.countsByType().size).toBe(0);
  });
});

describe('BinaryHeap', () => {
  it('pops in comparator order for any input order', () => {
    const values = Array.from({ length: 500 }, (_, i) => (i * 7919) % 1009);
    const heap = new BinaryHeap<number>((a, b) => a < b);
    for (const v of values) heap.push(v);
    expect(heap.size).toBe(values.length);
    const out: number[] = [];
    for (let v = heap.pop(); v !== undefined; v = heap.pop()) out.push(v);
    expect(out).toEqual([...values].sort((a, b) => a - b));
    expect(heap.peek()).toBeUndefined();
  });
});
