import { describe, expect, it } from 'vitest';
import { ReadyQueue } from '../../foreman/ready-queue.js';
import { openDatabase } from '../../foreman/store/database.js';
import type { LiveTask } from '../../foreman/task-types.js';
import { canonical, classify, sameAnswer } from '../../foreman/quorum/compare.js';
import { parseQuorum } from '../../foreman/quorum/quorum-spec.js';
import type { Judge } from '../../foreman/quorum/quorum-store.js';
import { SqliteQuorumStore } from '../../foreman/quorum/sqlite-quorum-store.js';
import { tally } from '../../foreman/quorum/tally.js';
import { GroupCommit } from '../../foreman/store/group-commit.js';
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

describe('SqliteQuorumStore with tally', () => {
  it('decides a group once, scores each answer once, counts one vote per worker, and purges groups whose task is gone', async () => {
    const db = openDatabase(':memory:', 'normal');
    const commit = new GroupCommit(db);
    const store = new SqliteQuorumStore(db, commit);
    const spec = parseQuorum(3, 2);
    if (typeof spec === 'string') throw new Error(spec);
    await store.insertGroups([{ parentId: 't_gone', spec, template: { type: 'echo', params: 1 }, replicaIds: ['r1', 'r2', 'r3', 'r4'] }], 1);
    await store.insertGroups([{ parentId: 't_open', spec, template: { type: 'echo', params: 2 }, replicaIds: ['o1'] }], 1);
    let n = 0;
    const judge: Judge = (g, r, s) => tally(g, r, s, { rule: RULE, random: () => 0.5, newId: () => `new${++n}`, now: 2 });
    const answer = (value: unknown) => ({ ok: true as const, value });
    // The same worker twice: its second answer is a duplicate and counts for nothing, so no decision yet.
    expect((await store.vote('r1', { workerId: 'w1', answer: answer(1) }, judge, 2))?.judgment.decided).toBeNull();
    expect((await store.vote('r2', { workerId: 'w1', answer: answer(1) }, judge, 2))?.judgment).toMatchObject({ decided: null, verdicts: [{ replicaId: 'r2', verdict: 'duplicate' }] });
    // A second report of a recorded answer is no vote at all.
    expect(await store.vote('r2', { workerId: 'w1', answer: answer(1) }, judge, 2)).toBeNull();
    const liar = await store.vote('r3', { workerId: 'w2', answer: answer(7) }, judge, 2);
    expect(liar?.judgment).toMatchObject({ decided: null, more: [] });
    const decided = await store.vote('r4', { workerId: 'w3', answer: answer(1) }, judge, 2);
    expect(decided?.judgment.decided?.outcome).toEqual({ state: 'succeeded', result: 1, error: null });
    expect(Object.fromEntries((await store.replicasOf('t_gone')).map((r) => [r.replicaId, r.verdict]))).toEqual({ r1: 'valid', r2: 'duplicate', r3: 'invalid', r4: 'valid' });
    const board = await store.leaderboard('points', 'desc', 2, 0);
    expect(board).toMatchObject({ total: 3, workers: [{ workerId: 'w1', points: 2, valid: 1 }, { workerId: 'w3', points: 2 }] });
    expect((await store.leaderboard('points', 'desc', 2, 2)).workers).toMatchObject([{ workerId: 'w2', invalid: 1, reputation: 0.5 }]);
    expect((await store.openGroups()).map((g) => g.parentId)).toEqual(['t_open']);
    expect(await store.purgeOrphans()).toBe(1);
    expect(await store.group('t_gone')).toBeNull();
    expect(await store.replicasOf('t_gone')).toEqual([]);
    expect((await store.group('t_open'))?.template).toEqual({ type: 'echo', params: 2 });
    commit.close();
    db.close();
  });

  it('asks for more replicas while no answer has enough votes, then fails with NO_CONSENSUS listing each answer', async () => {
    const db = openDatabase(':memory:', 'normal');
    const commit = new GroupCommit(db);
    const store = new SqliteQuorumStore(db, commit);
    const spec = parseQuorum({ replicas: 2, agree: 2, maxReplicas: 3 }, undefined);
    if (typeof spec === 'string') throw new Error(spec);
    await store.insertGroups([{ parentId: 'p', spec, template: { type: 'coin', params: null }, replicaIds: ['a', 'b'] }], 1);
    const judge: Judge = (g, r, s) => tally(g, r, s, { rule: RULE, random: () => 0.5, newId: () => 'c', now: 2 });
    await store.vote('a', { workerId: 'w1', answer: { ok: true, value: 'heads' } }, judge, 2);
    expect((await store.vote('b', { workerId: 'w2', answer: { ok: true, value: 'tails' } }, judge, 2))?.judgment.more).toEqual(['c']);
    const last = await store.vote('c', { workerId: 'w3', answer: { ok: false, code: 'HANDLER_ERROR', message: 'x' } }, judge, 2);
    expect(last?.judgment.decided?.outcome.error).toMatchObject({ code: 'NO_CONSENSUS', answers: [{ value: 'heads', workers: ['w1'] }, { value: 'tails', workers: ['w2'] }, { error: { code: 'HANDLER_ERROR' }, workers: ['w3'] }] });
    expect((await store.replicasOf('p')).map((r) => r.verdict)).toEqual(['inconclusive', 'inconclusive', 'inconclusive']);
    expect((await store.leaderboard('points', 'desc', 10, 0)).total).toBe(0);
    commit.close();
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
