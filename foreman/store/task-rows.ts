/** Row shapes of the store (as SQLite returns them and as the API reads them) and the mapping between them. */
import { decodeValue, encodeValue } from '../../shared/codec.js';
import type { LiveTask, TaskError, TaskState } from '../task-types.js';

/** A task row as read back for the API. */
export interface TaskRow {
  seq: number;
  id: string;
  jobId: string | null;
  key: string | null;
  type: string;
  params: unknown;
  priority: number;
  state: TaskState;
  status: string | null;
  attempt: number;
  failures: number;
  losses: number;
  maxAttempts: number;
  timeoutMs: number | null;
  workerId: string | null;
  runAt: number;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  result: unknown;
  error: TaskError | null;
}

export interface AttemptRow {
  attempt: number;
  workerId: string;
  startedAt: number;
  finishedAt: number | null;
  outcome: string | null;
  error: TaskError | null;
}

export interface JobRow {
  id: string;
  key: string | null;
  createdAt: number;
  closedAt: number | null;
  cancelledAt: number | null;
  /** Params shared by the job's tasks, merged under each task's own (see foreman/job-params.ts); null when none. */
  params: Record<string, unknown> | null;
}

/** A task row as SQLite returns it. */
export interface RawTask {
  seq: number;
  id: string;
  job_id: string | null;
  idem_key: string | null;
  type: string;
  params: Buffer | null;
  priority: number;
  state: TaskState;
  status: string | null;
  attempt: number;
  failures: number;
  losses: number;
  max_attempts: number;
  timeout_ms: number | null;
  worker_id: string | null;
  run_at: number;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  result: Buffer | null;
  error: string | null;
}

export const blob = (v: unknown): Buffer | null => (v === undefined ? null : encodeValue(v));
export const unblob = (b: Buffer | null): unknown => (b === null ? null : decodeValue(b));
export const errorText = (e: TaskError | null): string | null => (e === null ? null : JSON.stringify(e));
export const parseError = (s: string | null): TaskError | null => (s === null ? null : (JSON.parse(s) as TaskError));

export function toRow(r: RawTask): TaskRow {
  return {
    seq: r.seq,
    id: r.id,
    jobId: r.job_id,
    key: r.idem_key,
    type: r.type,
    params: unblob(r.params),
    priority: r.priority,
    state: r.state,
    status: r.status,
    attempt: r.attempt,
    failures: r.failures,
    losses: r.losses,
    maxAttempts: r.max_attempts,
    timeoutMs: r.timeout_ms,
    workerId: r.worker_id,
    runAt: r.run_at,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    result: unblob(r.result),
    error: parseError(r.error),
  };
}

export function toJob(r: Record<string, unknown>): JobRow {
  return {
    id: r.id as string,
    key: r.idem_key as string | null,
    createdAt: r.created_at as number,
    closedAt: r.closed_at as number | null,
    cancelledAt: r.cancelled_at as number | null,
    params: (unblob((r.params as Buffer | null | undefined) ?? null) as Record<string, unknown> | null) ?? null,
  };
}

export function toAttempt(a: Record<string, unknown>): AttemptRow {
  return {
    attempt: a.attempt as number,
    workerId: a.worker_id as string,
    startedAt: a.started_at as number,
    finishedAt: a.finished_at as number | null,
    outcome: a.outcome as string | null,
    error: parseError(a.error as string | null),
  };
}

/** Columns of a live task, in the order `toLiveTask` reads them (the last one is the params blob, or NULL). */
export const LIVE_COLUMNS =
  'seq, id, job_id, idem_key, type, priority, state, attempt, failures, losses, max_attempts, timeout_ms, worker_id, run_at, created_at, started_at';
export type LiveColumns = [
  number, string, string | null, string | null, string, number, TaskState, number, number, number, number, number | null,
  string | null, number, number, number | null, Buffer | null,
];

export function toLiveTask(r: LiveColumns): LiveTask {
  const paramsLoaded = r[16] !== null;
  return {
    seq: r[0],
    id: r[1],
    jobId: r[2],
    key: r[3],
    type: r[4],
    priority: r[5],
    params: paramsLoaded ? unblob(r[16]) : undefined,
    paramsLoaded,
    state: r[6] === 'queued' ? 'queued' : r[6] === 'cancelling' ? 'cancelling' : 'running',
    attempt: r[7],
    failures: r[8],
    losses: r[9],
    maxAttempts: r[10],
    timeoutMs: r[11],
    workerId: r[12],
    runAt: r[13],
    createdAt: r[14],
    startedAt: r[15],
    progress: null,
    queued: false,
  };
}
