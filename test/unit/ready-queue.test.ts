/** The per-type ready queue: priority, then seq, whatever order tasks come back in; lazy removal; FIFO compaction. */
import { describe, expect, it } from 'vitest';
import { ReadyQueue } from '../../foreman/ready-queue.js';
import type { LiveTask } from '../../foreman/task-types.js';

function task(seq: number, priority = 0): LiveTask {
  return {
    seq, id: `t${seq}`, jobId: null, key: null, type: 'echo', priority, params: null, paramsLoaded: true, state: 'queued',
    attempt: 0, failures: 0, losses: 0, maxAttempts: 3, timeoutMs: null, workerId: null, runAt: 0, createdAt: 0,
    startedAt: null, progress: null, queued: true,
  };
}

function drain(q: ReadyQueue): number[] {
  const out: number[] = [];
  for (let t = q.peek(); t; t = q.peek()) {
    q.take(t);
    t.queued = false;
    out.push(t.seq);
  }
  return out;
}

/** A small deterministic PRNG, so a failure can be replayed. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

describe('ReadyQueue', () => {
  it('serves higher priority first, then lower seq, for tasks that come back out of order', () => {
    const q = new ReadyQueue();
    for (const t of [task(5), task(6), task(2), task(7, 3), task(1), task(8), task(3, 3)]) q.push(t);
    expect(drain(q)).toEqual([3, 7, 1, 2, 5, 6, 8]);
  });

  it('skips entries whose task left the queue, at the front of the FIFO and of the late heap', () => {
    const q = new ReadyQueue();
    const tasks = [task(10), task(11), task(4), task(12)];
    for (const t of tasks) q.push(t);
    tasks[2].queued = false; // a late (requeued) task cancelled while waiting
    tasks[0].queued = false;
    expect(drain(q)).toEqual([11, 12]);
    expect(q.peek()).toBeUndefined();
  });

  it('matches a full sort over random pushes, takes and removals (with FIFO compaction)', () => {
    const random = prng(42);
    const q = new ReadyQueue();
    const waiting = new Map<number, LiveTask>();
    let next = 1;
    for (let step = 0; step < 30_000; step++) {
      const r = random();
      if (r < 0.6) {
        const t = task(next++, random() < 0.1 ? 1 : 0);
        q.push(t);
        waiting.set(t.seq, t);
      } else if (r < 0.65 && waiting.size > 0) {
        // Requeue an older task: a new entry for a task that was taken earlier.
        const t = task(Math.max(1, next - 1 - Math.floor(random() * 5000)), 0);
        if (waiting.has(t.seq)) continue;
        q.push(t);
        waiting.set(t.seq, t);
      } else if (r < 0.7 && waiting.size > 0) {
        const victim = [...waiting.values()][Math.floor(random() * waiting.size)];
        victim.queued = false;
        waiting.delete(victim.seq);
      } else {
        const expected = [...waiting.values()].sort((a, b) => b.priority - a.priority || a.seq - b.seq)[0];
        const top = q.peek();
        expect(top?.seq).toBe(expected?.seq);
        if (top) {
          q.take(top);
          top.queued = false;
          waiting.delete(top.seq);
        }
      }
    }
    const rest = [...waiting.values()].sort((a, b) => b.priority - a.priority || a.seq - b.seq).map((t) => t.seq);
    expect(drain(q)).toEqual(rest);
  });
});
