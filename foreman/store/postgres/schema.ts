/**
 * The PostgreSQL schema, oldest migration first, and applying it safely when several foremen start
 * at once: migrations run under a transaction-level advisory lock, so one foreman migrates while the
 * others wait and then find nothing left to do. The version lives in `gaffer_schema`.
 * Never edit a shipped migration; append a new one.
 *
 * Times are milliseconds since the epoch (bigint), as in the SQLite store, except the foremen's
 * heartbeats, which use the database's own clock so that clock skew between machines cannot make a
 * live foreman look dead.
 */
import type pg from 'pg';
import { GafferError } from '../../../shared/errors.js';

export const PG_MIGRATIONS: readonly string[] = [
  // 1: tasks, jobs, attempts, worker tokens, foremen and workers.
  `
  CREATE TABLE jobs (
    id text PRIMARY KEY,
    idem_key text UNIQUE,
    created_at bigint NOT NULL,
    closed_at bigint,
    cancelled_at bigint,
    -- Params shared by the job's tasks, merged under each task's own at assignment (msgpack).
    params bytea
  );
  -- seq comes from the table's sequence (several foremen insert); id is the public id.
  -- state: queued | claimed (by foreman_id, not yet handed out) | running | cancelling | succeeded | failed | cancelled.
  -- foreman_id: the foreman that claimed the task or whose worker runs it; NULL otherwise.
  CREATE TABLE tasks (
    seq bigserial PRIMARY KEY,
    id text NOT NULL UNIQUE,
    job_id text,
    idem_key text,
    type text NOT NULL,
    params bytea,
    priority integer NOT NULL,
    state text NOT NULL,
    status text,
    attempt integer NOT NULL DEFAULT 0,
    failures integer NOT NULL DEFAULT 0,
    losses integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL,
    timeout_ms integer,
    worker_id text,
    foreman_id text,
    run_at bigint NOT NULL,
    created_at bigint NOT NULL,
    started_at bigint,
    finished_at bigint,
    result bytea,
    error text
  );
  CREATE UNIQUE INDEX tasks_idem_key ON tasks (idem_key) WHERE idem_key IS NOT NULL;
  -- The claim walks this: ready tasks of one type, best first. Only queued rows are in it.
  CREATE INDEX tasks_ready ON tasks (type, priority DESC, seq) WHERE state = 'queued';
  CREATE INDEX tasks_unfinished ON tasks (state, seq) WHERE finished_at IS NULL;
  CREATE INDEX tasks_worker ON tasks (worker_id) WHERE state IN ('running', 'cancelling');
  CREATE INDEX tasks_foreman ON tasks (foreman_id) WHERE foreman_id IS NOT NULL;
  CREATE INDEX tasks_job_seq ON tasks (job_id, seq) WHERE job_id IS NOT NULL;
  CREATE INDEX tasks_failed ON tasks (state, seq) WHERE state IN ('failed', 'cancelled');
  CREATE TABLE attempts (
    task_seq bigint NOT NULL,
    attempt integer NOT NULL,
    worker_id text NOT NULL,
    started_at bigint NOT NULL,
    finished_at bigint,
    outcome text,
    error text,
    PRIMARY KEY (task_seq, attempt)
  );
  CREATE TABLE worker_tokens (
    worker_id text PRIMARY KEY,
    token_hash text NOT NULL,
    created_at bigint NOT NULL
  );
  -- One row per running foreman; a row whose heartbeat is older than the foremen's TTL is a dead foreman.
  CREATE TABLE foremen (
    id text PRIMARY KEY,
    url text,
    host text,
    pid integer,
    started_at timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now()
  );
  -- Connected workers, fleet-wide, written by the foreman each one is connected to.
  CREATE TABLE workers (
    id text PRIMARY KEY,
    foreman_id text NOT NULL,
    view jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
  );
  `,
  // 2: the session a worker holds (SHA-256 of its session token), so that another foreman can tell its
  // resume (failover) from a second process under the same id.
  `ALTER TABLE workers ADD COLUMN session_hash text;`,
  // 3: each attempt's ctx.log() lines (a JSON array), readable from any foreman.
  `
  CREATE TABLE attempt_logs (
    task_id text NOT NULL,
    attempt integer NOT NULL,
    worker_id text,
    created_at bigint NOT NULL,
    lines text NOT NULL,
    PRIMARY KEY (task_id, attempt)
  );
  CREATE INDEX attempt_logs_created ON attempt_logs (created_at);
  `,
  // 4: the latest checkpoint of each task that saved one; a claim reads it with the task.
  `
  CREATE TABLE checkpoints (
    task_id text PRIMARY KEY,
    attempt integer NOT NULL,
    state bytea NOT NULL,
    bytes integer NOT NULL,
    saved_at bigint NOT NULL,
    saves integer NOT NULL
  );
  `,
  // 5: recurring schedules (foreman/schedules/pg-schedules.ts): next_run_at is the next tick to fire; the
  // foreman that fires it holds the row (FOR UPDATE) while the tick's task is submitted, then advances it.
  `
  CREATE TABLE schedules (
    name text PRIMARY KEY,
    cron text NOT NULL,
    timezone text,
    task text NOT NULL,
    catch_up text NOT NULL,
    next_run_at bigint,
    last_fired_at bigint,
    firings integer NOT NULL DEFAULT 0,
    created_at bigint NOT NULL
  );
  `,
  // 6: task dependencies (foreman/dependencies/): a child waits, held, until every parent has succeeded.
  // tasks_held finds the waiting children (queued and held: run_at is HELD_RUN_AT) for the sweep.
  `
  CREATE TABLE task_deps (
    child_id text NOT NULL,
    parent_id text NOT NULL,
    PRIMARY KEY (child_id, parent_id)
  );
  CREATE INDEX task_deps_parent ON task_deps (parent_id);
  CREATE INDEX tasks_held ON tasks (seq) WHERE state = 'queued' AND run_at = 9007199254740991;
  `,
  // 7: fleet-wide limits per task type (foreman/type-limits/), null meaning no such limit; a claim of a
  // limited type locks its row (pg-limited-claim.ts). tokens/tokens_at: the ratePerSecond bucket as last
  // spent (tokens NULL: full); paused_until: a handler's RateLimitedError pause. Times by the database's clock.
  `
  CREATE TABLE type_limits (
    type text PRIMARY KEY,
    max_running integer,
    rate_per_second double precision,
    tokens double precision,
    tokens_at bigint NOT NULL DEFAULT 0,
    paused_until bigint,
    updated_at bigint NOT NULL
  );
  `,
  // 8: quorum (foreman/quorum/): a group per quorum task, its replicas with their answers and verdicts, and
  // each worker's points and reputation, as in the SQLite store. A vote locks its group's row.
  `
  CREATE TABLE quorum_groups (
    parent_id text PRIMARY KEY,
    spec text NOT NULL,
    template bytea NOT NULL,
    created_at bigint NOT NULL,
    decided_at bigint,
    canonical text
  );
  CREATE TABLE quorum_replicas (
    replica_id text PRIMARY KEY,
    parent_id text NOT NULL,
    created_at bigint NOT NULL,
    worker_id text,
    answer text,
    verdict text
  );
  CREATE INDEX quorum_replicas_parent ON quorum_replicas (parent_id);
  CREATE INDEX quorum_groups_open ON quorum_groups (parent_id) WHERE decided_at IS NULL;
  CREATE TABLE worker_scores (
    worker_id text PRIMARY KEY,
    points double precision NOT NULL,
    valid integer NOT NULL,
    invalid integer NOT NULL,
    errors integer NOT NULL,
    reputation double precision NOT NULL,
    streak integer NOT NULL,
    quarantined_at bigint,
    updated_at bigint NOT NULL
  );
  CREATE INDEX worker_scores_quarantined ON worker_scores (worker_id) WHERE quarantined_at IS NOT NULL;
  `,
  // 9: the replicas not answered yet, for the sweep that finds votes a dead foreman never cast.
  `CREATE INDEX quorum_replicas_unanswered ON quorum_replicas (created_at) WHERE answer IS NULL AND verdict IS NULL;`,
];

/** The schema version this foreman writes. */
export const PG_SCHEMA_VERSION = PG_MIGRATIONS.length;

/** Any 64-bit number the foremen agree on: the advisory lock that serialises migrations. */
const MIGRATION_LOCK = 7_042_001_011;

/**
 * Brings the database up to date, one foreman at a time.
 * @throws GafferError SCHEMA_TOO_NEW when a newer foreman has migrated the database further.
 */
export async function migratePostgres(client: pg.ClientBase, migrations: readonly string[] = PG_MIGRATIONS): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS gaffer_schema (version integer NOT NULL)');
    const { rows } = await client.query<{ version: number }>('SELECT version FROM gaffer_schema');
    let current = rows[0]?.version ?? 0;
    if (rows.length === 0) await client.query('INSERT INTO gaffer_schema (version) VALUES (0)');
    if (current > migrations.length) {
      throw new GafferError(
        'SCHEMA_TOO_NEW',
        `database schema version ${current} is newer than this foreman understands (${migrations.length}); upgrade gaffer or use another --store`,
      );
    }
    for (; current < migrations.length; current++) await client.query(migrations[current]);
    await client.query('UPDATE gaffer_schema SET version = $1', [current]);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}
