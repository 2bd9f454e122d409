/** Group commit over a real SQLite file: one transaction per turn, in order, failures isolated, promises after commit. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openDatabase, type Db } from '../../foreman/store/database.js';
import { GroupCommit } from '../../foreman/store/group-commit.js';
import { waitFor } from '../helpers/wait-for.js';

let dir: string;
let file: string;
let db: Db;
/** A second connection to the same file: it sees only what is committed. */
let reader: Db;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gaffer-group-commit-'));
  file = join(dir, 'store.db');
  db = openDatabase(file, 'normal');
  db.exec('CREATE TABLE log (n INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT NOT NULL UNIQUE)');
  reader = new Database(file, { readonly: true });
});

afterEach(() => {
  reader.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const insert = (v: string) => () => void db.prepare('INSERT INTO log (v) VALUES (?)').run(v);
const committedValues = () => (reader.prepare('SELECT v FROM log ORDER BY n').pluck().all() as string[]);

describe('GroupCommit', () => {
  it('commits all writes of one turn in one transaction, in the order they were queued', async () => {
    const onCommitted = vi.fn();
    const commit = new GroupCommit(db, onCommitted);
    const inTransaction: boolean[] = [];
    const writes = ['a', 'b', 'c', 'd', 'e'].map((v) =>
      commit.write(() => {
        inTransaction.push(db.inTransaction);
        insert(v)();
      }),
    );
    expect(commit.stats.queued).toBe(5);
    await Promise.all(writes);
    expect(committedValues()).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(inTransaction).toEqual([true, true, true, true, true]);
    expect(onCommitted).toHaveBeenCalledTimes(1);
    expect(onCommitted.mock.calls[0][0]).toBe(5);
    expect(commit.stats.commits).toBe(1);
    expect(commit.stats.queued).toBe(0);
  });

  it('uses one transaction per turn: writes of a later turn go in a later commit', async () => {
    const onCommitted = vi.fn();
    const commit = new GroupCommit(db, onCommitted);
    await Promise.all([commit.write(insert('a')), commit.write(insert('b'))]);
    await commit.write(insert('c'));
    expect(onCommitted.mock.calls.map((c) => c[0])).toEqual([2, 1]);
    expect(committedValues()).toEqual(['a', 'b', 'c']);
  });

  it('makes a write visible to other connections only at commit, and resolves only after that', async () => {
    const commit = new GroupCommit(db);
    const seenAtResolve: string[][] = [];
    const p = commit.write(insert('x')).then(() => seenAtResolve.push(committedValues()));
    // Queued, not yet written: no other connection can see it, and the promise has not resolved.
    expect(committedValues()).toEqual([]);
    await Promise.resolve();
    expect(seenAtResolve).toEqual([]);
    await p;
    expect(seenAtResolve).toEqual([['x']]);
  });

  it('a failing write rejects alone; its neighbours in the same turn still commit, in order', async () => {
    db.prepare('INSERT INTO log (v) VALUES (?)').run('taken');
    const onError = vi.fn();
    const commit = new GroupCommit(db, undefined, onError);
    const results = await Promise.allSettled([
      commit.write(insert('a')),
      commit.write(insert('taken')), // violates UNIQUE
      commit.write(() => {
        insert('half')();
        throw new Error('boom after a partial write');
      }),
      commit.write(insert('b')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/UNIQUE/);
    expect((results[2] as PromiseRejectedResult).reason.message).toBe('boom after a partial write');
    // The partial write of the failed one is rolled back; nothing is written twice.
    expect(committedValues()).toEqual(['taken', 'a', 'b']);
    expect(onError).toHaveBeenCalledTimes(2);
  });

  it('reports a failed fire-and-forget write through onError instead of an unhandled rejection', async () => {
    const onError = vi.fn();
    const commit = new GroupCommit(db, undefined, onError);
    void commit.write(() => {
      throw new Error('lost');
    });
    await commit.write(insert('after'));
    expect(onError).toHaveBeenCalledTimes(1);
    expect(onError.mock.calls[0][0].message).toBe('lost');
    expect(committedValues()).toEqual(['after']);
  });

  it('a store that cannot write (SQLITE_FULL) holds the batch in order, refuses nothing, and commits it once it can (issue 9.3)', async () => {
    // A real full database: SQLite refuses to grow the file past max_page_count.
    const pages = db.pragma('page_count', { simple: true }) as number;
    db.pragma(`max_page_count = ${pages}`);
    const states: string[] = [];
    const onError = vi.fn();
    const commit = new GroupCommit(db, undefined, onError, (state) => void states.push(state));
    const big = (v: string) => () => void db.prepare('INSERT INTO log (v) VALUES (?)').run(v + 'x'.repeat(20_000));
    const settled: string[] = [];
    const writes = ['a', 'b', 'c'].map((v) => commit.write(big(v)).then(() => void settled.push(v), () => void settled.push(`refused ${v}`)));
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(commit.state).toBe('unavailable');
    expect(commit.retryInMs).toBeGreaterThan(0);
    // Later writes queue behind the held batch, in order; none is refused, none committed.
    const later = commit.write(insert('d')).then(() => void settled.push('d'));
    await waitFor(() => commit.stats.commits === 0 && states.length === 1 && onError.mock.calls.length === 0, 'held, not refused');
    expect(committedValues()).toEqual([]);
    expect(settled).toEqual([]);
    db.pragma('max_page_count = 1073741823');
    await Promise.all([...writes, later]);
    expect(settled).toEqual(['a', 'b', 'c', 'd']);
    expect(committedValues().map((v) => v[0])).toEqual(['a', 'b', 'c', 'd']);
    expect(states).toEqual(['unavailable', 'writable']);
    expect(commit.state).toBe('writable');
  });

  it('flush() commits synchronously, before the end of the turn', async () => {
    const commit = new GroupCommit(db);
    const p = commit.write(insert('now'));
    commit.flush();
    expect(committedValues()).toEqual(['now']);
    await p;
    // The already scheduled flush finds nothing to do.
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(commit.stats.commits).toBe(1);
  });

  it('close() commits what is queued and refuses later writes; it is idempotent', async () => {
    const commit = new GroupCommit(db, undefined, () => {});
    const p = commit.write(insert('last'));
    commit.close();
    commit.close();
    await p;
    expect(committedValues()).toEqual(['last']);
    await expect(commit.write(insert('late'))).rejects.toThrow('store is closed');
    expect(committedValues()).toEqual(['last']);
  });

  it('puts a hundred writes of one turn in one commit, all readable from a fresh connection', async () => {
    const commit = new GroupCommit(db);
    await Promise.all(Array.from({ length: 100 }, (_, i) => commit.write(insert(`v${i}`))));
    expect(commit.stats.commits).toBe(1);
    const again = new Database(file, { readonly: true });
    try {
      expect(again.prepare('SELECT count(*) FROM log').pluck().get()).toBe(100);
    } finally {
      again.close();
    }
  });
});
