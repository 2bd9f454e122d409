/** Schema versions: an older database is migrated keeping its rows; a newer one is refused. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GafferError } from '../../shared/errors.js';
import { migrate, openDatabase, SCHEMA_VERSION } from '../../foreman/store/database.js';
import { MIGRATIONS } from '../../foreman/store/migrations.js';

let dir: string;
let file: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gaffer-migrations-'));
  file = join(dir, 'store.db');
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const userVersion = (db: Database.Database) => db.pragma('user_version', { simple: true }) as number;
const tables = (db: Database.Database) =>
  db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).pluck().all() as string[];

/** Builds a database as the first released foreman left it: schema version 1, with a job, a task and an attempt. */
function buildVersion1(): void {
  const db = new Database(file);
  try {
    migrate(db, MIGRATIONS.slice(0, 1));
    expect(userVersion(db)).toBe(1);
    db.prepare(`INSERT INTO jobs (id, idem_key, created_at) VALUES ('j_1', 'job-key', 1000)`).run();
    db.prepare(
      `INSERT INTO tasks (seq, id, job_id, idem_key, type, params, priority, state, attempt, max_attempts, worker_id, run_at, created_at, started_at)
       VALUES (1, 't_1', 'j_1', 'task-key', 'echo', x'a3616263', 5, 'running', 2, 3, 'w-1', 1000, 1000, 1500),
              (2, 't_2', NULL, NULL, 'sum', NULL, 0, 'queued', 0, 3, NULL, 1000, 1001, NULL)`,
    ).run();
    db.prepare(`INSERT INTO attempts (task_seq, attempt, worker_id, started_at) VALUES (1, 2, 'w-1', 1500)`).run();
  } finally {
    db.close();
  }
}

describe('schema migrations', () => {
  it('the schema version is the number of migrations', () => {
    expect(SCHEMA_VERSION).toBe(MIGRATIONS.length);
    expect(SCHEMA_VERSION).toBeGreaterThanOrEqual(2);
  });

  it('creates a new database at the current version, in WAL mode', () => {
    const db = openDatabase(file, 'normal');
    try {
      expect(userVersion(db)).toBe(SCHEMA_VERSION);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(tables(db)).toEqual(expect.arrayContaining(['attempts', 'jobs', 'tasks', 'worker_tokens']));
    } finally {
      db.close();
    }
  });

  it('migrates a version-1 database to the current version, keeping its rows', () => {
    buildVersion1();
    const db = openDatabase(file, 'normal');
    try {
      expect(userVersion(db)).toBe(SCHEMA_VERSION);
      expect(tables(db)).toContain('worker_tokens');
      expect(db.prepare(`SELECT id, idem_key FROM jobs`).all()).toEqual([{ id: 'j_1', idem_key: 'job-key' }]);
      const tasks = db.prepare(`SELECT seq, id, job_id, idem_key, state, attempt, worker_id, params FROM tasks ORDER BY seq`).all();
      expect(tasks).toEqual([
        { seq: 1, id: 't_1', job_id: 'j_1', idem_key: 'task-key', state: 'running', attempt: 2, worker_id: 'w-1', params: Buffer.from([0xa3, 0x61, 0x62, 0x63]) },
        { seq: 2, id: 't_2', job_id: null, idem_key: null, state: 'queued', attempt: 0, worker_id: null, params: null },
      ]);
      expect(db.prepare(`SELECT task_seq, attempt, worker_id FROM attempts`).all()).toEqual([{ task_seq: 1, attempt: 2, worker_id: 'w-1' }]);
      // The new table works.
      db.prepare(`INSERT INTO worker_tokens (worker_id, token_hash, created_at) VALUES ('w-1', 'h', 1)`).run();
      // The old unique index still holds.
      expect(() => db.prepare(`INSERT INTO tasks (seq, id, idem_key, type, priority, state, max_attempts, run_at, created_at) VALUES (3, 't_3', 'task-key', 'echo', 0, 'queued', 3, 1, 1)`).run()).toThrow(/UNIQUE/);
    } finally {
      db.close();
    }
  });

  it('opening an up-to-date database again changes nothing', () => {
    openDatabase(file, 'normal').close();
    const db = openDatabase(file, 'full');
    try {
      expect(userVersion(db)).toBe(SCHEMA_VERSION);
    } finally {
      db.close();
    }
  });

  it('runs each migration in its own transaction: a failing one leaves the database at the last good version', () => {
    buildVersion1();
    const broken = [...MIGRATIONS, 'CREATE TABLE half_done (x INTEGER); THIS IS NOT SQL;'];
    expect(() => openDatabase(file, 'normal', broken)).toThrow();
    const db = new Database(file, { readonly: true });
    try {
      expect(userVersion(db)).toBe(MIGRATIONS.length);
      expect(tables(db)).not.toContain('half_done');
      expect(tables(db)).toContain('worker_tokens');
    } finally {
      db.close();
    }
  });

  it('refuses a database whose schema version is newer than this foreman knows, with SCHEMA_TOO_NEW', () => {
    const newer = new Database(file);
    newer.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    newer.exec('CREATE TABLE from_the_future (x INTEGER)');
    newer.close();

    let thrown: unknown;
    try {
      openDatabase(file, 'normal');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(GafferError);
    expect((thrown as GafferError).code).toBe('SCHEMA_TOO_NEW');
    expect((thrown as Error).message).toContain(String(MIGRATIONS.length + 1));

    // The file is left as it was: nothing migrated, nothing dropped.
    const db = new Database(file, { readonly: true });
    try {
      expect(userVersion(db)).toBe(MIGRATIONS.length + 1);
      expect(tables(db)).toEqual(['from_the_future']);
    } finally {
      db.close();
    }
  });

  it('migrate() alone refuses a newer database too', () => {
    const db = new Database(file);
    try {
      migrate(db);
      expect(() => migrate(db, MIGRATIONS.slice(0, 1))).toThrow(expect.objectContaining({ code: 'SCHEMA_TOO_NEW' }));
    } finally {
      db.close();
    }
  });
});
