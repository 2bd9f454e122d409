/**
 * `client.map()`: one open job fed in chunks, at most `concurrency` tasks
 * unsettled at a time, results put back in input order (like `Pool.map`).
 * The first task that fails or is cancelled cancels the rest and rejects.
 */
import { JobHandle } from './job-handle.js';
import type { Http } from './http.js';
import { outcomeOf } from './task-handle.js';
import type { ResultLine, SubmitOptions, TaskView } from './types.js';

export interface MapOptions extends Omit<SubmitOptions, 'key'> {
  /** Most tasks submitted and not yet settled at once. Default: no bound beyond the chunk size per request. */
  concurrency?: number;
  signal?: AbortSignal;
}

/** A promise with its resolve at hand: the producer waits on it for room under the concurrency bound. */
function signal(): { promise: Promise<void>; fire: () => void } {
  let fire!: () => void;
  const promise = new Promise<void>((r) => (fire = r));
  return { promise, fire };
}

export async function mapTasks<R>(
  http: Http,
  type: string,
  inputs: Iterable<unknown> | AsyncIterable<unknown>,
  chunkSize: number,
  opts: MapOptions = {},
  jobParams: Record<string, unknown> | null = null,
): Promise<R[]> {
  const { concurrency = Number.POSITIVE_INFINITY, signal: outer, ...taskOpts } = opts;
  if (!(concurrency >= 1)) throw new TypeError('concurrency must be at least 1');
  const results: R[] = [];
  const indexOf = new Map<string, number>();
  // Results can arrive before the request that submitted their task has answered with its id.
  const early = new Map<string, ResultLine>();
  let inFlight = 0;
  let room = signal();
  let failure: unknown = null;
  const stop = new AbortController();
  const abort = () => stop.abort();
  outer?.addEventListener('abort', abort, { once: true });

  const take = (line: ResultLine, index: number) => {
    indexOf.delete(line.id);
    inFlight--;
    room.fire();
    if (line.state === 'succeeded') results[index] = line.result as R;
    else failure ??= line;
  };

  const it = Symbol.asyncIterator in inputs ? (inputs as AsyncIterable<unknown>)[Symbol.asyncIterator]() : (inputs as Iterable<unknown>)[Symbol.iterator]();
  let next = 0;
  let exhausted = false;
  const chunk = async (max: number) => {
    const tasks: Array<Record<string, unknown>> = [];
    while (tasks.length < max) {
      const n = await it.next();
      if (n.done) {
        exhausted = true;
        break;
      }
      tasks.push({ ...taskOpts, type, params: n.value });
    }
    return tasks;
  };

  const first = await chunk(Math.min(chunkSize, concurrency));
  if (first.length === 0) return results;
  const created = await http.json<{ jobId: string; taskIds: string[] }>('POST', '/jobs', { body: { tasks: first, open: true, ...(jobParams ? { params: jobParams } : {}) }, signal: stop.signal });
  const job = new JobHandle(created.jobId, first.length, http);
  const record = (ids: string[]) => {
    inFlight += ids.length;
    for (const id of ids) {
      const index = next++;
      const line = early.get(id);
      if (line) {
        early.delete(id);
        take(line, index);
      } else indexOf.set(id, index);
    }
  };
  record(created.taskIds);

  const reading = (async () => {
    for await (const line of job.results({ signal: stop.signal })) {
      const index = indexOf.get(line.id);
      if (index === undefined) early.set(line.id, line);
      else take(line, index);
      if (failure) break;
    }
  })();
  // If reading ends (failure, abort, foreman gone), the producer must not wait for room forever.
  const readingDone = reading.then(
    () => room.fire(),
    (err) => {
      failure ??= err;
      room.fire();
    },
  );

  try {
    while (!exhausted && failure === null) {
      while (inFlight >= concurrency && failure === null) {
        room = signal();
        if (inFlight < concurrency) break;
        await room.promise;
      }
      if (failure !== null) break;
      const tasks = await chunk(Math.min(chunkSize, concurrency - inFlight));
      if (tasks.length > 0) record((await http.json<{ taskIds: string[] }>('POST', `/jobs/${job.id}/tasks`, { body: tasks, signal: stop.signal })).taskIds);
    }
    if (failure === null) await job.close();
    await readingDone;
  } catch (err) {
    failure ??= err;
  } finally {
    outer?.removeEventListener('abort', abort);
  }
  if (failure !== null) {
    stop.abort();
    await job.cancel().catch(() => {});
    const line = failure as Partial<ResultLine>;
    if (typeof line === 'object' && line !== null && typeof line.id === 'string' && (line.state === 'failed' || line.state === 'cancelled')) {
      // The result line has the error; the task has its attempts too (unless it was retried since).
      const view = await http.json<TaskView>('GET', `/tasks/${encodeURIComponent(line.id)}`).catch(() => null);
      outcomeOf({ ...view, ...line, attempts: view?.attempts ?? [] } as TaskView);
    }
    throw failure;
  }
  return results;
}
