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
  // 3: indexes that a task's running and settled updates do not have to move. (job_id, state) and
  // (state, seq) had to move an entry on every state change: 4 of the 12 B-tree writes a task cost.
  // A task is live (queued, running, cancelling) exactly while finished_at IS NULL, so the live set
  // is a partial index that assignment leaves alone; settled counts per job come from a partial index
  // written once, at settlement; a job's tasks are listed by (job_id, seq), which never changes.
  // Also the spill table, which bounds the foreman's memory under a large backlog (see Spill), and
  // task_params, which keeps large params out of the task row (see TaskStore.insertTask).
  `
  DROP INDEX tasks_state_seq;
  DROP INDEX tasks_job_state;
  CREATE INDEX tasks_unfinished ON tasks(seq) WHERE finished_at IS NULL;
  CREATE INDEX tasks_job_seq ON tasks(job_id, seq) WHERE job_id IS NOT NULL;
  CREATE INDEX tasks_settled_job ON tasks(job_id, state) WHERE finished_at IS NOT NULL;
  CREATE INDEX tasks_failed ON tasks(state, seq) WHERE state IN ('failed', 'cancelled');
  -- Queued tasks beyond the foreman's in-memory queue ("spilled"): only their row and this entry exist
  -- until they are paged back in, by type, highest priority first, then oldest.
  CREATE TABLE spill (
    seq INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    priority INTEGER NOT NULL,
    job_id TEXT
  );
  CREATE INDEX spill_order ON spill(type, priority DESC, seq);
  -- Large params, out of the task row (which every state change rewrites); tasks.params is then NULL.
  CREATE TABLE task_params (
    seq INTEGER PRIMARY KEY,
    params BLOB NOT NULL
  );
  `,
  // 4: retention finds old settled tasks by seq (numbered in creation order) rather than by an index on
  // finished_at, which cost every task one more B-tree insert at settlement (see TaskStore.purgeFinished).
  `
  DROP INDEX tasks_finished_at;
  `,
  // 5: the latest checkpoint of each task that saved one (foreman/checkpoints/): the next attempt starts from it.
  `
  CREATE TABLE checkpoints (
    task_id TEXT PRIMARY KEY,
    attempt INTEGER NOT NULL,
    state BLOB NOT NULL,
    bytes INTEGER NOT NULL,
    saved_at INTEGER NOT NULL,
    saves INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // 6: params shared by a job's tasks (a code job's source), stored once on the job (see foreman/job-params.ts).
  `
  ALTER TABLE jobs ADD COLUMN params BLOB;
  `,
  // 7: cancelling a job with a large spilled backlog deletes its spill entries in batches, found by job.
  `
  CREATE INDEX spill_job ON spill(job_id) WHERE job_id IS NOT NULL;
  `,
  // 8: a keyed task submitted again into another job belongs to that job too (it counts in its progress
  // and appears in its results); tasks.job_id stays the job that created it.
  `
  CREATE TABLE job_links (
    job_id TEXT NOT NULL,
    task_seq INTEGER NOT NULL,
    PRIMARY KEY (job_id, task_seq)
  ) WITHOUT ROWID;
  CREATE INDEX job_links_task ON job_links(task_seq);
  `,
  // 9: quorum (foreman/quorum/): a group per quorum task, its replicas with their answers and verdicts, and
  // each worker's points and reputation. Replicas are ordinary tasks; these rows say whose they are.
  `
  CREATE TABLE quorum_groups (
    parent_id TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    template BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    decided_at INTEGER,
    canonical TEXT
  ) WITHOUT ROWID;
  CREATE TABLE quorum_replicas (
    replica_id TEXT PRIMARY KEY,
    parent_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    worker_id TEXT,
    answer TEXT,
    verdict TEXT
  ) WITHOUT ROWID;
  CREATE INDEX quorum_replicas_parent ON quorum_replicas(parent_id);
  CREATE INDEX quorum_groups_open ON quorum_groups(parent_id) WHERE decided_at IS NULL;
  CREATE TABLE worker_scores (
    worker_id TEXT PRIMARY KEY,
    points REAL NOT NULL,
    valid INTEGER NOT NULL,
    invalid INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    reputation REAL NOT NULL,
    streak INTEGER NOT NULL,
    quarantined_at INTEGER,
    updated_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // 10: the last ctx.log() lines of each attempt, as its worker sent them with the result (foreman/attempt-logs.ts).
  `
  CREATE TABLE attempt_logs (
    task_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    worker_id TEXT,
    created_at INTEGER NOT NULL,
    lines TEXT NOT NULL,
    PRIMARY KEY (task_id, attempt)
  ) WITHOUT ROWID;
  CREATE INDEX attempt_logs_created ON attempt_logs(created_at);
  `,
  // 11: fleet-wide limits per task type (foreman/type-limits/): null means no such limit.
  `
  CREATE TABLE type_limits (
    type TEXT PRIMARY KEY,
    max_running INTEGER,
    rate_per_second REAL,
    updated_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // 12: a big submission is committed in slices; until its last slice commits it is staged here, so a
  // restart deletes what a crash left of it (foreman/store/staged-submissions.ts).
  `
  CREATE TABLE staged_submissions (
    first_seq INTEGER PRIMARY KEY,
    last_seq INTEGER NOT NULL
  );
  `,
  // 13: task dependencies (foreman/dependencies/): a child task waits (held) until every parent has succeeded.
  `
  CREATE TABLE task_deps (
    child_id TEXT NOT NULL,
    parent_id TEXT NOT NULL,
    PRIMARY KEY (child_id, parent_id)
  ) WITHOUT ROWID;
  CREATE INDEX task_deps_parent ON task_deps(parent_id);
  `,
  // 14: recurring schedules (foreman/schedules/): next_run_at is the next tick to fire, advanced once its task (keyed by the tick) is durable.
  `
  CREATE TABLE schedules (
    name TEXT PRIMARY KEY,
    cron TEXT NOT NULL,
    timezone TEXT,
    task TEXT NOT NULL,
    catch_up TEXT NOT NULL,
    next_run_at INTEGER,
    last_fired_at INTEGER,
    firings INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // 15: a handler's RateLimitedError pause of a type (foreman/type-limits/), so that it outlives a restart.
  `ALTER TABLE type_limits ADD COLUMN paused_until INTEGER;`,
];

/** The schema version this foreman writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;
