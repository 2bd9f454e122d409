/**
 * The PostgreSQL quorum store against a real database: votes cast at once on one group (as two
 * foremen would) decide it exactly once, and the sweep finds what a dead foreman left stranded.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PgQuorumStore } from '../../foreman/quorum/pg-quorum-store.js';
import type { Judge } from '../../foreman/quorum/quorum-store.js';
import { parseQuorum } from '../../foreman/quorum/quorum-spec.js';
import { tally } from '../../foreman/quorum/tally.js';
import { PgDb } from '../../foreman/store/postgres/pg-db.js';
import { migratePostgres } from '../../foreman/store/postgres/schema.js';
import { HELD_RUN_AT } from '../../foreman/task-types.js';
import { createTestDatabase, postgresAvailable } from '../helpers/postgres.js';

const RULE = { quorumQuarantineBelow: 0.5, quorumTrustAfter: 10, quorumSpotCheck: 0.1 };
const dbs: PgDb[] = [];
afterEach(async () => {
  await Promise.all(dbs.splice(0).map((db) => db.close()));
});

async function openStore(): Promise<{ db: PgDb; store: PgQuorumStore }> {
  const db = new PgDb(await createTestDatabase(), 4, 5000);
  dbs.push(db);
  const client = await db.pool.connect();
  try {
    await migratePostgres(client);
  } finally {
    client.release();
  }
  return { db, store: new PgQuorumStore(db) };
}

async function insertTask(db: PgDb, id: string, state: string, runAt: number, finishedAt: number | null): Promise<void> {
  await db.query(
    `INSERT INTO tasks (id, type, priority, state, max_attempts, run_at, created_at, finished_at) VALUES ($1, 'square', 0, $2, 3, $3, 1, $4)`,
    [id, state, runAt, finishedAt],
  );
}

describe.runIf(postgresAvailable())('PgQuorumStore', () => {
  it('decides a group once when its last two answers are voted at the same moment, and scores each answer once', async () => {
    const { store } = await openStore();
    const spec = parseQuorum({ replicas: 3, agree: 2 }, undefined);
    if (typeof spec === 'string') throw new Error(spec);
    for (let round = 0; round < 5; round++) {
      const parentId = `p${round}`;
      await store.insertGroups([{ parentId, spec, template: { type: 'square', params: null }, replicaIds: [`${parentId}-a`, `${parentId}-b`, `${parentId}-c`] }], 1);
      const judge: Judge = (g, r, s) => tally(g, r, s, { rule: RULE, random: () => 0.5, newId: () => 'unused', now: 2 });
      await store.vote(`${parentId}-a`, { workerId: 'w1', answer: { ok: true, value: 7 } }, judge, 2);
      const votes = await Promise.all([
        store.vote(`${parentId}-b`, { workerId: 'w2', answer: { ok: true, value: 9 } }, judge, 2),
        store.vote(`${parentId}-c`, { workerId: 'w3', answer: { ok: true, value: 9 } }, judge, 2),
      ]);
      expect(votes.filter((v) => v?.judgment.decided).map((v) => v?.judgment.decided?.outcome.result)).toEqual([9]);
    }
    const { workers } = await store.leaderboard('points', 'desc', 10, 0);
    expect(workers.map((w) => [w.workerId, w.valid, w.invalid])).toEqual([['w2', 5, 0], ['w3', 5, 0], ['w1', 0, 5]]);
  });

  it('finds the groups a dead foreman left stranded: a settled replica with no vote, a decided group whose task still waits', async () => {
    const { db, store } = await openStore();
    const spec = parseQuorum(3, undefined);
    if (typeof spec === 'string') throw new Error(spec);
    await store.insertGroups([{ parentId: 'p', spec, template: { type: 'square', params: null }, replicaIds: ['r1', 'r2', 'r3'] }], 1);
    await insertTask(db, 'p', 'queued', HELD_RUN_AT, null);
    await insertTask(db, 'r1', 'succeeded', 1, 5);
    await insertTask(db, 'r2', 'running', 1, null);
    await insertTask(db, 'r3', 'succeeded', 1, 6);
    // Settled at 5 with no vote: stranded once that is older than the cutoff, not before.
    expect(await store.stranded(4)).toEqual([]);
    expect((await store.stranded(10)).map((g) => g.parentId)).toEqual(['p']);
    const judge: Judge = (g, r, s) => tally(g, r, s, { rule: RULE, random: () => 0.5, newId: () => 'unused', now: 20 });
    await store.vote('r1', { workerId: 'w1', answer: { ok: true, value: 1 } }, judge, 20);
    expect((await store.vote('r3', { workerId: 'w3', answer: { ok: true, value: 1 } }, judge, 20))?.judgment.decided).not.toBeNull();
    // Voted and decided at 20, the task still held: stranded only once the decision is older than the cutoff.
    expect(await store.stranded(10)).toEqual([]);
    expect((await store.stranded(30)).map((g) => g.parentId)).toEqual(['p']);
  });
});
