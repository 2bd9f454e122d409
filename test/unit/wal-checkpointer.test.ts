/**
 * WAL checkpoints on a thread (foreman/store/wal-checkpointer.ts), over a real SQLite file: the group
 * commit hands the checkpoint to the thread once the WAL passes 1,000 pages, holds writes until it is
 * over, and the next commit starts the WAL over, with SQLite's own checkpoint pushed out to its net.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../foreman/store/database.js';
import { GroupCommit } from '../../foreman/store/group-commit.js';
import { CHECKPOINT_PAGES, SAFETY_NET_PAGES, WalCheckpointer } from '../../foreman/store/wal-checkpointer.js';
import { waitFor } from '../helpers/wait-for.js';

let dir: string;
let file: string;
let db: Db;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gaffer-wal-'));
  file = join(dir, 'store.db');
  db = openDatabase(file, 'normal');
  db.exec('CREATE TABLE pages (n INTEGER PRIMARY KEY, v BLOB NOT NULL)');
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A write of about `pages` WAL pages (one 3,000-byte row per 4 KiB page). */
const fill = (pages: number) => () => {
  const insert = db.prepare('INSERT INTO pages (v) VALUES (?)');
  for (let i = 0; i < pages; i++) insert.run(Buffer.alloc(3000, i));
};

describe('WalCheckpointer', () => {
  it('checkpoints on its thread once the WAL passes 1,000 pages, holding writes until then; the next commit starts the WAL over', async () => {
    const failures: unknown[] = [];
    const checkpointer = new WalCheckpointer(db, file, 'normal', (err) => failures.push(err));
    const commit = new GroupCommit(db);
    commit.checkpointer = checkpointer;
    try {
      // SQLite's own checkpoint is out at the net, so only the thread can bring the WAL back.
      expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(SAFETY_NET_PAGES);
      await commit.write(fill(CHECKPOINT_PAGES / 2));
      expect(checkpointer.walPages()).toBeGreaterThan(CHECKPOINT_PAGES / 2);
      const passing = commit.write(fill(CHECKPOINT_PAGES / 2 + 50));
      commit.flush();
      await passing;
      expect(checkpointer.walPages()).toBeGreaterThan(CHECKPOINT_PAGES);
      // The commit that passed the threshold started a checkpoint: a write queued now waits for it.
      const commitsBefore = commit.stats.commits;
      const held = commit.write(fill(1));
      commit.flush();
      expect(commit.stats.commits).toBe(commitsBefore);
      expect(commit.stats.queued).toBe(1);
      await held;
      expect(checkpointer.checkpoints).toBe(1);
      // Every frame was copied before that write, so it started the WAL over.
      expect(checkpointer.walPages()).toBeLessThan(10);
      expect(db.prepare('SELECT count(*) FROM pages').pluck().get()).toBe(CHECKPOINT_PAGES + 51);
      expect(failures).toEqual([]);
    } finally {
      commit.close();
      await checkpointer.close();
    }
  });

  it('a thread that fails hands checkpoints back to SQLite, once, and the writes go on', async () => {
    const failures: unknown[] = [];
    // The thread cannot open a file that is not there: it fails at start.
    const checkpointer = new WalCheckpointer(db, join(dir, 'missing.db'), 'normal', (err) => failures.push(err));
    const commit = new GroupCommit(db);
    commit.checkpointer = checkpointer;
    await waitFor(() => failures.length > 0, 'the thread fails');
    expect(failures).toHaveLength(1);
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(CHECKPOINT_PAGES);
    await commit.write(fill(10));
    expect(checkpointer.due()).toBe(false);
    expect(db.prepare('SELECT count(*) FROM pages').pluck().get()).toBe(10);
    commit.close();
    await checkpointer.close();
  });
});
