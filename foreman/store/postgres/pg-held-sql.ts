/**
 * Held tasks on PostgreSQL (TaskInput.hold: a quorum parent waiting for its replicas, a dependent
 * task waiting for its parents). A held task is a queued row whose run_at is HELD_RUN_AT, so the
 * claim (`run_at <= now`) never takes it. Releasing or settling it is one compare-and-set statement
 * on exactly that (queued and held), so of several foremen acting on the same task one wins.
 */
import type { HeldOutcome, SettledTask } from '../../ledger.js';
import { HELD_RUN_AT } from '../../task-types.js';
import { blob, errorText, parseError } from '../task-rows.js';
import type { PgDb } from './pg-db.js';

/**
 * Makes a held task claimable now and announces its type to every foreman (NOTIFY in the same
 * statement, delivered at its commit). Returns the type, or null when the task is not a held, queued one.
 */
export async function releaseHeldTask(db: PgDb, id: string, now: number): Promise<string | null> {
  const { rows } = await db.query<{ type: string }>(
    `WITH released AS (
       UPDATE tasks SET run_at = $2 WHERE id = $1 AND state = 'queued' AND run_at = $3 RETURNING type
     )
     SELECT type, pg_notify('gaffer_work', json_build_array(type)::text) FROM released`,
    [id, now, HELD_RUN_AT],
  );
  return rows[0]?.type ?? null;
}

/** Settles a held, queued task with `outcome`; returns it as settled, or null when it was not held (any more). */
export async function settleHeldTask(db: PgDb, id: string, outcome: HeldOutcome, now: number): Promise<SettledTask | null> {
  const { rows } = await db.query<{
    id: string; job_id: string | null; idem_key: string | null; type: string; attempt: number; error: string | null;
  }>(
    `UPDATE tasks SET state = $2, result = $3, error = $4, finished_at = $5, foreman_id = NULL
     WHERE id = $1 AND state = 'queued' AND run_at = $6
     RETURNING id, job_id, idem_key, type, attempt, error`,
    [id, outcome.state, outcome.state === 'succeeded' ? blob(outcome.result) : null, errorText(outcome.error), now, HELD_RUN_AT],
  );
  const r = rows[0];
  if (!r) return null;
  return {
    id: r.id, jobId: r.job_id, key: r.idem_key, type: r.type, state: outcome.state, status: null,
    result: outcome.state === 'succeeded' ? outcome.result : null, error: parseError(r.error),
    attempt: r.attempt, workerId: null, startedAt: null, finishedAt: now,
  };
}
