/** What the HTTP routes may use: the foreman's public parts, never its sockets. */
import type { ForemanRow } from '../store/postgres/pg-foremen.js';
import type { ApiErrorCode } from '../../shared/errors.js';
import type { AttemptLogStore } from '../attempt-logs.js';
import type { Checkpoints } from '../checkpoints/checkpoints.js';
import type { Quorum } from '../quorum/quorum.js';
import type { Dispatcher } from '../dispatcher.js';
import type { ForemanEvents } from '../events.js';
import type { Fleet } from '../fleet.js';
import type { ForemanOptions } from '../options.js';
import type { StoreReads, TaskLedger } from '../ledger.js';
import type { StoreHealth } from './store-guard.js';
import type { TypeLimits } from '../type-limits/type-limits.js';
import type { Dependencies } from '../dependencies/dependencies.js';

export interface ApiContext {
  tasks: TaskLedger;
  fleet: Fleet;
  dispatcher: Dispatcher;
  store: StoreReads;
  events: ForemanEvents;
  checkpoints: Pick<Checkpoints, 'info'>;
  attemptLogs: Pick<AttemptLogStore, 'forTask'>;
  /** Quorum tasks: submission, what GET /tasks/:id shows of them, the leaderboard. */
  quorum: Quorum;
  /** Fleet-wide limits per task type: what GET /tasks/:id and GET /stats show of them (`refresh()` first: with several foremen it reads the fleet's counts). */
  typeLimits: Pick<TypeLimits, 'heldBy' | 'describe' | 'refresh'>;
  /** Dependent tasks: submission (checks and holds them), what GET /tasks/:id shows of them. */
  dependencies: Pick<Dependencies, 'submit' | 'describe'>;
  options: Readonly<ForemanOptions>;
  startedAt: number;
  /** Whether the store takes writes now. */
  storeHealth(): StoreHealth;
  /** With several foremen (PostgreSQL): the workers connected to the other foremen, each with its `foremanId`. */
  otherWorkers?: () => Promise<Array<Record<string, unknown>>>;
  /** The foremen sharing the store, with their health (with SQLite, this one). */
  foremen: () => Promise<ForemanRow[]>;
  /** This foreman's id among several (PostgreSQL); absent with SQLite. */
  foremanId?: string;
}

/** An error reply body: a stable code from `API_ERRORS`, a message, and the field at fault when there is one. */
export interface ApiErrorBody {
  statusCode: number;
  code: ApiErrorCode;
  message: string;
  field?: string;
}

/** An error reply body: a stable code, a message, and the field at fault when there is one. */
export function apiError(statusCode: number, code: ApiErrorCode, message: string, field?: string): ApiErrorBody {
  return field === undefined ? { statusCode, code, message } : { statusCode, code, message, field };
}
