/**
 * The PostgreSQL side of group commit: every attempt started and every attempt ended during one
 * event-loop turn is written by one statement each (not one per task), the two running side by side
 * on two connections. Each row is a compare-and-set: an attempt starts only if this foreman still
 * holds the claim, and ends only if the row still shows that attempt on that worker (and, for a loss,
 * this foreman as its owner). The rows that come back are the transitions that happened; the caller
 * learns per task whether its transition won.
 *
 * While the database cannot be reached, the batch is held and retried with backoff (state
 * `unavailable`); retries are safe because a transition already applied is recognised by its marks
 * (the start time of an attempt, the finish time of a settlement).
 */
import type { TurnCommit } from '../../ledger.js';
import type { TaskState } from '../../task-types.js';
import { isConnectionError, type PgDb } from './pg-db.js';

/** An attempt to start: the claimed task `seq` becomes attempt `attempt` on `workerId`. */
export interface StartOp {
  seq: number;
  attempt: number;
  workerId: string;
  startedAt: number;
  done(applied: boolean): void;
}

/** An attempt that ended, and where its task goes: back to the queue, or settled. */
export interface FinishOp {
  seq: number;
  attempt: number;
  workerId: string;
  /** Only if this foreman (or the dead one being reaped) still owns the task: losses are fenced by owner too. */
  ownerFence: string | null;
  state: 'queued' | 'succeeded' | 'failed' | 'cancelled';
  runAt: number;
  status: string | null;
  result: Buffer | null;
  error: string | null;
  failures: number;
  losses: number;
  at: number;
  startedAt: number | null;
  /** How the attempt ended, for its history row; null for a success (read back from the task row). */
  attemptOutcome: string | null;
  /** `finalState` is the state written: a cancel pushed meanwhile by another foreman turns any ending into `cancelled`. */
  done(applied: boolean, finalState: TaskState): void;
}

const RETRY_MIN_MS = 20;
const RETRY_MAX_MS = 2000;

// Rows are found by seq (the primary key), one lookup each. The owner and worker are compared with
// IS NOT DISTINCT FROM, the same test for these non-null values, and the finish's state test carries
// `OR v.seq IS NULL` (never true), so that the planner can use neither as an index condition nor to
// match a partial index: it did, and each batch read every claimed or running row of the foreman
// (tasks_foreman, tasks_worker, dead entries included: ~10 rows read per row written) to hash-join them.
const START_SQL = `
  UPDATE tasks t SET state = 'running', attempt = v.attempt, worker_id = v.worker_id, started_at = v.started_at
  FROM unnest($2::bigint[], $3::int[], $4::text[], $5::bigint[]) AS v(seq, attempt, worker_id, started_at)
  WHERE t.seq = v.seq AND t.foreman_id IS NOT DISTINCT FROM $1
    AND ((t.state = 'claimed' AND t.attempt = v.attempt - 1)
      OR (t.state = 'running' AND t.attempt = v.attempt AND t.worker_id = v.worker_id AND t.started_at = v.started_at))
  RETURNING t.seq`;

// One statement ends every attempt of the turn: the task row moves (requeued or settled) and the
// attempts that did not end in the task's success get their history row, only where the row moved.
const FINISH_SQL = `
  WITH v AS (
    SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::bytea[],
      $9::text[], $10::int[], $11::int[], $12::bigint[], $13::bigint[], $14::text[])
      AS v(seq, attempt, worker_id, owner, state, run_at, status, result, error, failures, losses, at, started_at, outcome)
  ), moved AS (
    UPDATE tasks t SET
      state = CASE WHEN t.state = 'cancelling' THEN 'cancelled' ELSE v.state END,
      status = CASE WHEN t.state = 'cancelling' THEN NULL ELSE v.status END,
      result = CASE WHEN t.state = 'cancelling' THEN NULL ELSE v.result END,
      error = CASE WHEN t.state = 'cancelling' AND v.state <> 'cancelled' THEN '{"code":"CANCELLED","message":"cancelled","retryable":false}' ELSE v.error END,
      failures = v.failures, losses = v.losses,
      run_at = CASE WHEN v.state = 'queued' AND t.state <> 'cancelling' THEN v.run_at ELSE t.run_at END,
      worker_id = CASE WHEN v.state = 'queued' AND t.state <> 'cancelling' THEN NULL ELSE t.worker_id END,
      finished_at = CASE WHEN v.state = 'queued' AND t.state <> 'cancelling' THEN NULL ELSE v.at END,
      foreman_id = NULL
    FROM v
    WHERE t.seq = v.seq AND t.attempt = v.attempt AND t.worker_id IS NOT DISTINCT FROM v.worker_id
      AND (t.state IN ('running', 'cancelling') OR v.seq IS NULL) AND (v.owner IS NULL OR t.foreman_id = v.owner)
    RETURNING t.seq, t.state
  ), history AS (
    INSERT INTO attempts (task_seq, attempt, worker_id, started_at, finished_at, outcome, error)
    SELECT v.seq, v.attempt, v.worker_id, coalesce(v.started_at, v.at), v.at,
      CASE WHEN m.state = 'cancelled' AND v.state <> 'cancelled' THEN 'cancelled' ELSE v.outcome END, v.error
    FROM v JOIN moved m ON m.seq = v.seq
    WHERE v.outcome IS NOT NULL OR m.state = 'cancelled'
    ON CONFLICT (task_seq, attempt) DO NOTHING
  )
  SELECT seq, state FROM moved
  UNION ALL
  -- A retry after a lost reply finds its own settlement already written: recognised by attempt, worker and time.
  SELECT t.seq, t.state FROM tasks t JOIN v ON t.seq = v.seq
  WHERE v.state <> 'queued' AND t.attempt = v.attempt AND t.worker_id = v.worker_id AND t.finished_at = v.at
    AND t.state IN ('succeeded', 'failed', 'cancelled')`;

/**
 * A lane writes one kind of op, one batch in flight at a time; the next batch gathers meanwhile.
 * Starts and finishes have a lane each, so an attempt ending never waits for one starting, and the
 * reverse (they touch different tasks: a task's start is durable before its worker can finish it).
 */
class Lane<Op> {
  queued: Op[] = [];
  /** Callbacks to run after the ops queued before them are written. */
  after: Array<() => void> = [];
  busy = false;
}

export class PgTurn implements TurnCommit {
  beforeFlush: (() => void) | null = null;
  private readonly starts = new Lane<StartOp>();
  private readonly finishes = new Lane<FinishOp>();
  private scheduled = false;
  private closed = false;
  private unavailableSince: number | null = null;
  private retryDelayMs = RETRY_MIN_MS;
  private retryAt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private readonly flushSoon = () => this.flush();

  /**
   * @param onStateChange told once when the database becomes unreachable and once when it is back.
   * @param onError a batch failed for a reason other than the connection (a bug): its ops are refused.
   */
  constructor(
    private readonly db: PgDb,
    private readonly foremanId: string,
    private readonly onStateChange: (state: 'writable' | 'unavailable', detail: { err?: unknown; outageMs?: number }) => void,
    private readonly onError: (err: unknown) => void,
  ) {}

  get state(): 'writable' | 'unavailable' {
    return this.unavailableSince === null ? 'writable' : 'unavailable';
  }

  get retryInMs(): number {
    return this.unavailableSince === null ? 0 : Math.max(0, this.retryAt - Date.now());
  }

  get stats(): { queued: number } {
    return { queued: this.starts.queued.length + this.finishes.queued.length + this.starts.after.length };
  }

  start(op: StartOp): void {
    this.starts.queued.push(op);
    this.schedule();
  }

  finish(op: FinishOp): void {
    this.finishes.queued.push(op);
    this.schedule();
  }

  /** Runs `callback` once the attempts started so far are durable (the dispatcher sends assignments then). */
  afterCommit(callback: () => void): void {
    this.starts.after.push(callback);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.unavailableSince !== null) return;
    this.scheduled = true;
    setImmediate(this.flushSoon);
  }

  /** Starts writing what is queued, in each lane that is not busy. */
  flush(): void {
    this.scheduled = false;
    if (this.closed) return;
    if (this.beforeFlush && this.unavailableSince === null) {
      try {
        this.beforeFlush();
      } catch (err) {
        this.onError(err);
      }
    }
    this.run(this.starts, (ops) => this.writeStarts(ops), (op, rows) => op.done(rows?.has(op.seq) ?? false));
    this.run(this.finishes, (ops) => this.writeFinishes(ops), (op, rows) => {
      const state = rows?.get(op.seq);
      op.done(state !== undefined, state ?? op.state);
    });
  }

  private run<Op extends { done: (...args: never[]) => void }, R>(
    lane: Lane<Op>,
    write: (ops: Op[]) => Promise<R>,
    settle: (op: Op, result: R | null) => void,
  ): void {
    if (lane.busy || (lane.queued.length === 0 && lane.after.length === 0)) return;
    const ops = lane.queued;
    const after = lane.after;
    lane.queued = [];
    lane.after = [];
    lane.busy = true;
    // A null result (a statement that failed for its own reason) refuses every op of the batch.
    const done = (result: R | null) => {
      for (const op of ops) settle(op, result);
      for (const cb of after) cb();
    };
    (ops.length === 0 ? Promise.resolve(null) : write(ops)).then(
      (result) => {
        lane.busy = false;
        this.recovered();
        if (ops.length > 0) done(result);
        else for (const cb of after) cb();
        if (lane.queued.length + lane.after.length > 0) this.schedule();
      },
      (err) => {
        lane.busy = false;
        if (isConnectionError(err) || (err as { code?: string }).code === 'STORE_UNAVAILABLE') {
          // Hold the batch, in order, ahead of anything queued since, and try again later.
          lane.queued = ops.concat(lane.queued);
          lane.after = after.concat(lane.after);
          this.holdAndRetry(err);
          return;
        }
        this.onError(err);
        done(null);
      },
    );
  }

  private async writeStarts(starts: StartOp[]): Promise<Set<number>> {
    const { rows } = await this.db.query<{ seq: number }>(START_SQL, [
      this.foremanId,
      starts.map((o) => o.seq),
      starts.map((o) => o.attempt),
      starts.map((o) => o.workerId),
      starts.map((o) => o.startedAt),
    ]);
    return new Set(rows.map((r) => r.seq));
  }

  private async writeFinishes(finishes: FinishOp[]): Promise<Map<number, TaskState>> {
    const { rows } = await this.db.query<{ seq: number; state: TaskState }>(FINISH_SQL, [
      finishes.map((o) => o.seq),
      finishes.map((o) => o.attempt),
      finishes.map((o) => o.workerId),
      finishes.map((o) => o.ownerFence),
      finishes.map((o) => o.state),
      finishes.map((o) => o.runAt),
      finishes.map((o) => o.status),
      finishes.map((o) => o.result),
      finishes.map((o) => o.error),
      finishes.map((o) => o.failures),
      finishes.map((o) => o.losses),
      finishes.map((o) => o.at),
      finishes.map((o) => o.startedAt),
      finishes.map((o) => o.attemptOutcome),
    ]);
    return new Map(rows.map((r) => [r.seq, r.state]));
  }

  private holdAndRetry(err: unknown): void {
    if (this.unavailableSince === null) {
      this.unavailableSince = Date.now();
      this.retryDelayMs = RETRY_MIN_MS;
      this.onStateChange('unavailable', { err });
    } else {
      this.retryDelayMs = Math.min(RETRY_MAX_MS, this.retryDelayMs * 2);
    }
    if (this.retryTimer) return;
    this.retryAt = Date.now() + this.retryDelayMs;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.closed) return;
      if (this.stats.queued > 0) return this.flush();
      // Nothing held (a claim or a read found the database down): probe it.
      this.db.query('SELECT 1').then(
        () => this.recovered(),
        (e) => this.holdAndRetry(e),
      );
    }, this.retryDelayMs);
    this.retryTimer.unref();
  }

  /** A statement went through: if the database had been unreachable, it is back. */
  private recovered(): void {
    if (this.unavailableSince === null) return;
    const outageMs = Date.now() - this.unavailableSince;
    this.unavailableSince = null;
    this.onStateChange('writable', { outageMs });
    this.schedule();
  }

  /** Marks the store unreachable (a claim or read found the database down); writes are held meanwhile. */
  failed(err: unknown): void {
    if (this.unavailableSince !== null) return;
    this.holdAndRetry(err);
  }

  /** Refuses further writes; what is in flight finishes. Idempotent. */
  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }
}
