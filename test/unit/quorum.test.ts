import { describe, expect, it } from 'vitest';
import { ReadyQueue } from '../../foreman/ready-queue.js';
import { openDatabase } from '../../foreman/store/database.js';
import type { LiveTask } from '../../foreman/task-types.js';
import { canonical, classify, sameAnswer } from '../../foreman/quorum/compare.js';
import { parseQuorum } from '../../foreman/quorum/quorum-spec.js';
import { QuorumStore } from '../../foreman/quorum/quorum-store.js';
import { freshScore, scoreAfter, trusted } from '../../foreman/quorum/reputation.js';

const RULE = { quorumQuarantineBelow: 0.5, quorumTrustAfter: 3, quorumSpotCheck: 0.1 };

describe('parseQuorum', () => {
  it('reads the shorthand as a strict majority and fills the defaults', () => {
    expect(parseQuorum(3, undefined)).toEqual({ replicas: 3, agree: 2, maxReplicas: 5, tolerance: null, distinct: 'worker', adaptive: false, points: 1 });
    expect(parseQuorum(4, 2)).toMatchObject({ replicas: 4, agree: 3, points: 2 });
    expect(parseQuorum({ replicas: 2, agree: 2, compare: { tolerance: 1e-9 }, distinct: 'address' }, undefined)).toMatchObject({ tolerance: 1e-9, distinct: 'address', maxReplicas: 4 });
    expect(parseQuorum({ replicas: 2, agree: 3 }, undefined)).toMatch(/agree \(3\) cannot exceed/);
    expect(parseQuorum({ replicas: 3, maxReplicas: 2 }, undefined)).toMatch(/maxReplicas \(2\) cannot be below/);
  });
});

describe('compare', () => {
  it('matches exactly by canonical JSON, or numbers within a tolerance; errors by code', () => {
    expect(canonical({ b: 1, a: [2, { d: 1, c: 2 }] })).toBe('{"a":[2,{"c":2,"d":1}],"b":1}');
    const v = (value: unknown) => ({ ok: true as const, value });
    expect(sameAnswer(v({ a: 1, b: 2 }), v({ b: 2, a: 1 }), null)).toBe(true);
    expect(sameAnswer(v(0.1 + 0.2), v(0.3), null)).toBe(false);
    expect(sameAnswer(v({ x: [0.1 + 0.2] }), v({ x: [0.3] }), 1e-9)).toBe(true);
    expect(sameAnswer(v({ x: 'a' }), v({ x: 'b' }), 1)).toBe(false);
    expect(sameAnswer({ ok: false, code: 'CODE_THREW', message: 'a' }, { ok: false, code: 'CODE_THREW', message: 'b' }, null)).toBe(true);
    expect(sameAnswer({ ok: false, code: 'CODE_THREW', message: '' }, v(null), null)).toBe(false);
    const classes = classify([{ replicaId: 'r1', answer: v(1) }, { replicaId: 'r2', answer: v(2) }, { replicaId: 'r3', answer: v(1) }], null);
    expect(classes.map((c) => c.replicaIds)).toEqual([['r1', 'r3'], ['r2']]);
  });
});

describe('reputation', () => {
  it('rewards valid results, halves reputation on an invalid one, quarantines below the threshold, trusts a streak', () => {
    let s = freshScore('w', 0);
    s = scoreAfter(s, 'valid', 2, RULE, 1);
    expect(s).toMatchObject({ points: 2, valid: 1, streak: 1, reputation: 1, quarantinedAt: null });
    s = scoreAfter(s, 'error', 2, RULE, 2);
    expect(s).toMatchObject({ points: 2, errors: 1, streak: 1, reputation: 1 });
    s = scoreAfter(s, 'invalid', 2, RULE, 3);
    expect(s).toMatchObject({ invalid: 1, streak: 0, reputation: 0.5, quarantinedAt: null });
    s = scoreAfter(s, 'valid', 1, RULE, 4);
    expect(s.reputation).toBeCloseTo(0.55);
    s = scoreAfter(s, 'invalid', 1, RULE, 5);
    expect(s.quarantinedAt).toBe(5);
    // Quarantine stays, whatever follows.
    s = scoreAfter(scoreAfter(s, 'valid', 1, RULE, 6), 'valid', 1, RULE, 7);
    expect(s.quarantinedAt).toBe(5);
    expect(trusted(s, RULE)).toBe(false);
    let t = freshScore('t', 0);
    for (let i = 0; i < 3; i++) t = scoreAfter(t, 'valid', 1, RULE, i);
    expect(trusted(t, RULE)).toBe(true);
    expect(trusted(null, RULE)).toBe(false);
  });
});

describe('QuorumStore', () => {
  it('keeps scores durable, pages the leaderboard, and purges decided groups whose task is gone', () => {
    const db = openDatabase(':memory:', 'normal');
    const store = new QuorumStore(db);
    const spec = parseQuorum(3, undefined);
    if (typeof spec === 'string') throw new Error(spec);
    store.insertGroup('t_gone', spec, { type: 'echo', params: 1 }, 1);
    store.insertReplica('r1', 't_gone', 1);
    store.insertGroup('t_open', spec, { type: 'echo', params: 2 }, 1);
    store.decideGroup('t_gone', { ok: true, value: 1 }, 2);
    expect(store.openGroups().map((g) => g.parentId)).toEqual(['t_gone', 't_open']);
    store.judgeReplica('r1', 'w1', { ok: true, value: 1 }, 'valid');
    expect(store.openGroups().map((g) => g.parentId)).toEqual(['t_open']);
    expect(store.purgeOrphans()).toBe(1);
    expect(store.group('t_gone')).toBeNull();
    expect(store.replicasOf('t_gone')).toEqual([]);
    expect(store.group('t_open')?.template).toEqual({ type: 'echo', params: 2 });
    for (const [id, points] of [['a', 3], ['b', 7], ['c', 5]] as const) store.saveScore({ ...freshScore(id, 0), points });
    const page = store.leaderboard('points', 'desc', 2, 0);
    expect(page).toMatchObject({ total: 3, workers: [{ workerId: 'b' }, { workerId: 'c' }] });
    expect(store.leaderboard('points', 'desc', 2, 2).workers.map((w) => w.workerId)).toEqual(['a']);
    db.close();
  });
});

describe('ReadyQueue.find', () => {
  it('finds the best task a worker may take behind heads it must not, within the scan limit', () => {
    const q = new ReadyQueue();
    const task = (seq: number, priority: number, exclude: string[] = []) =>
      ({ seq, priority, queued: true, excludeWorkers: new Set(exclude) }) as unknown as LiveTask;
    const a = task(1, 5, ['w1']);
    const b = task(2, 5, ['w1']);
    const c = task(3, 5);
    const d = task(4, 0);
    for (const t of [a, b, c, d]) q.push(t);
    const allowedFor = (w: string) => (t: LiveTask) => !t.excludeWorkers?.has(w);
    expect(q.peek()).toBe(a);
    expect(q.find(allowedFor('w1'), 10)).toBe(c);
    expect(q.find(allowedFor('w2'), 10)).toBe(a);
    expect(q.find(allowedFor('w1'), 2)).toBe(d);
    c.queued = false;
    expect(q.find(allowedFor('w1'), 10)).toBe(d);
  });
});
