/**
 * Schema migrations, oldest first. The schema version is SQLite's
 * `user_version`: migration i brings a database from version i to i + 1.
 * Never edit a shipped migration; append a new one.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: tasks, jobs, attempts.
  `
  CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    idem_key TEXT UNIQUE,
    created_at INTEGER NOT NULL,
    closed_at INTEGER,
    cancelled_at INTEGER
  );
  -- seq is the time-ordered rowid (the foreman assigns it increasing); id is the public id.
  CREATE TABLE tasks (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    job_id TEXT,
    idem_key TEXT,
    type TEXT NOT NULL,
    params BLOB,
    priority INTEGER NOT NULL,
    state TEXT NOT NULL,
    status TEXT,
    attempt INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    losses INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    timeout_ms INTEGER,
    worker_id TEXT,
    run_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER,
    result BLOB,
    error TEXT
  );
  CREATE UNIQUE INDEX tasks_idem_key ON tasks(idem_key) WHERE idem_key IS NOT NULL;
  CREATE INDEX tasks_job_state ON tasks(job_id, state) WHERE job_id IS NOT NULL;
  CREATE INDEX tasks_state_seq ON tasks(state, seq);
  CREATE INDEX tasks_finished_at ON tasks(finished_at) WHERE finished_at IS NOT NULL;
  CREATE TABLE attempts (
    task_seq INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    worker_id TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    outcome TEXT,
    error TEXT,
    PRIMARY KEY (task_seq, attempt)
  ) WITHOUT ROWID;
  `,
  // 2: hashed worker tokens (individual worker credentials).
  `
  CREATE TABLE worker_tokens (
    worker_id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  `,
];

/** The schema version this foreman writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;
