/** A handle on one submitted task: await its result, read its status and progress, cancel it. */
import { TaskCancelledError, TaskFailedError } from './errors.js';
import type { Http } from './http.js';
import type { Progress, TaskState, TaskView } from './types.js';

const SETTLED = new Set<TaskState>(['succeeded', 'failed', 'cancelled']);

/** Where a handle learns that its task settled: long polls over HTTP, or the push channel. */
export interface SettleSource {
  /** Resolves with the task once it is settled (with its attempts). */
  settled(id: string, signal?: AbortSignal): Promise<TaskView>;
}

/**
 * Waits for a settlement by long-polling `GET /tasks/:id/wait`: one request per `waitChunkMs`, none per check.
 * A foreman that cannot be reached (restarting) is asked again with backoff for up to `reconnectMs`:
 * results are durable, so a wait survives a restart.
 */
export class LongPoll implements SettleSource {
  constructor(
    private readonly http: Http,
    private readonly waitChunkMs: number,
    private readonly reconnectMs: number,
  ) {}

  async settled(id: string, signal?: AbortSignal): Promise<TaskView> {
    let unreachableSince: number | null = null;
    let backoffMs = 50;
    for (;;) {
      let task: TaskView;
      try {
        task = await this.http.json<TaskView>('GET', `/tasks/${encodeURIComponent(id)}/wait`, { query: { timeoutMs: this.waitChunkMs }, signal });
      } catch (err) {
        // fetch rejects with a TypeError when no answer came (refused, reset); an answer (ApiError) or an abort is final.
        if (!(err instanceof TypeError) || signal?.aborted) throw err;
        unreachableSince ??= Date.now();
        if (Date.now() - unreachableSince > this.reconnectMs) throw err;
        await new Promise((r) => setTimeout(r, backoffMs));
        backoffMs = Math.min(2000, backoffMs * 2);
        continue;
      }
      unreachableSince = null;
      backoffMs = 50;
      if (SETTLED.has(task.state)) return task;
    }
  }
}

/** The value a settled task resolves to, or the error it rejects with. */
export function outcomeOf<R>(task: TaskView): R {
  if (task.state === 'succeeded') return task.result as R;
  if (task.state === 'cancelled') throw new TaskCancelledError(task);
  throw new TaskFailedError(task);
}

export class TaskHandle<Result = unknown, Params = unknown> {
  constructor(
    /** The task id. */
    readonly id: string,
    private readonly http: Http,
    private readonly source: SettleSource,
  ) {}

  /**
   * Resolves with the task's result once it succeeds.
   * @throws TaskFailedError when it failed, TaskCancelledError when it was cancelled (both carry code, message, stack and attempts).
   */
  async result(opts: { signal?: AbortSignal } = {}): Promise<Result> {
    return outcomeOf<Result>(await this.settled(opts));
  }

  /** Resolves with the whole task once it settles, whatever the outcome (never throws for a failed task). */
  settled(opts: { signal?: AbortSignal } = {}): Promise<TaskView<Params, Result>> {
    return this.source.settled(this.id, opts.signal) as Promise<TaskView<Params, Result>>;
  }

  /** The task now: state, status, attempts, progress. */
  status(): Promise<TaskView<Params, Result>> {
    return this.http.json('GET', `/tasks/${encodeURIComponent(this.id)}`);
  }

  /** Cancels the task: at once when queued; when running, its handler's signal aborts. Resolves with the state after. */
  async cancel(): Promise<TaskState> {
    return (await this.http.json<{ state: TaskState }>('POST', `/tasks/${encodeURIComponent(this.id)}/cancel`)).state;
  }

  /** Requeues a failed or cancelled task with a fresh attempt budget. */
  async retry(): Promise<void> {
    await this.http.json('POST', `/tasks/${encodeURIComponent(this.id)}/retry`);
  }

  /**
   * Progress updates as the handler reports them, ending when the task settles. Long polls:
   * an update the handler sends while no poll is open is not lost, the next poll answers with it
   * at once; updates in quick succession may be merged into the latest.
   */
  async *progress(opts: { signal?: AbortSignal } = {}): AsyncGenerator<Progress> {
    let seen = -1;
    for (;;) {
      const task = await this.http.json<TaskView>('GET', `/tasks/${encodeURIComponent(this.id)}/wait`, {
        query: { timeoutMs: 30_000, progressSeen: seen },
        signal: opts.signal,
      });
      const fraction = task.progress?.fraction ?? -1;
      // A retried attempt starts with no progress (-1): remembered so the next poll waits.
      if (fraction !== seen && task.progress) yield task.progress;
      seen = fraction;
      if (SETTLED.has(task.state)) return;
    }
  }
}
