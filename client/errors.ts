/** Errors the client throws: HTTP refusals, and tasks that ended without a result. */
import { GafferError } from '../shared/errors.js';
import type { AttemptView, TaskError, TaskView } from './types.js';

/** The foreman refused a request: `status` is the HTTP status, `code` and `field` come from its error body. */
export class ApiError extends GafferError {
  readonly field: string | undefined;
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    const b = (typeof body === 'object' && body !== null ? body : {}) as { code?: unknown; message?: unknown; field?: unknown };
    super(typeof b.code === 'string' ? b.code : `HTTP_${status}`, `HTTP ${status}: ${typeof b.message === 'string' ? b.message : JSON.stringify(body)}`);
    this.name = 'ApiError';
    this.field = typeof b.field === 'string' ? b.field : undefined;
  }
}

/** Base of the errors for a task that settled without a result. */
export abstract class TaskSettledError extends GafferError {
  readonly taskId: string;
  /** Every attempt, oldest first, with its worker, outcome and error. */
  readonly attempts: AttemptView[];
  /** The error as the foreman stored it. */
  readonly error: TaskError | null;
  /** The stack the handler's error had on the worker, when the worker sent one. */
  readonly remoteStack: string | undefined;

  constructor(task: Pick<TaskView, 'id' | 'error' | 'attempts'>, fallbackCode: string) {
    super(task.error?.code ?? fallbackCode, task.error?.message ?? fallbackCode.toLowerCase());
    this.taskId = task.id;
    this.error = task.error;
    this.attempts = task.attempts ?? [];
    this.remoteStack = task.error?.stack;
    // The stack of interest is the handler's, on the worker; ours only says where result() was awaited.
    if (this.remoteStack) this.stack = `${this.name}: ${this.message}\n${this.remoteStack}`;
  }
}

/** The task failed: its retries are spent or its error was permanent. `code` is the last attempt's error code. */
export class TaskFailedError extends TaskSettledError {
  constructor(task: Pick<TaskView, 'id' | 'error' | 'attempts'>) {
    super(task, 'HANDLER_ERROR');
    this.name = 'TaskFailedError';
  }
}

/** The task was cancelled (by `cancel()`, its job's cancel, or an operator). */
export class TaskCancelledError extends TaskSettledError {
  constructor(task: Pick<TaskView, 'id' | 'error' | 'attempts'>) {
    super(task, 'CANCELLED');
    this.name = 'TaskCancelledError';
  }
}
