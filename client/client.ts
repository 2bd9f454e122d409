/**
 * The Gaffer client: submit tasks and jobs to a foreman and await their
 * results from code, in Node (ESM or CommonJS) or a browser (fetch only).
 *
 *   const client = new Client<{ resize: { params: { url: string }; result: { bytes: number } } }>();
 *   const { bytes } = await client.run('resize', { url });
 */
import { getBlobStream, putBlob, type GetBlobOptions, type PutBlobResult } from './blobs.js';
import { optionsFromEnvironment } from './environment.js';
import { Http } from './http.js';
import { JobHandle } from './job-handle.js';
import { mapTasks, type MapOptions } from './map.js';
import { canStreamRequestBody } from './ndjson.js';
import { resolveClientOptions, type ClientOptions } from './options.js';
import { ChannelClosedError, PushChannel } from './push-channel.js';
import { LongPoll, TaskHandle, type SettleSource } from './task-handle.js';
import type { AnyTasks, SubmitOptions, TaskFilter, TaskInput, TaskMap, TaskView } from './types.js';

/** A task for `submitJob`, checked against the client's task map. */
export type JobTask<M extends TaskMap> = { [T in keyof M & string]: TaskInput<T, M[T]['params']> }[keyof M & string];

export interface SubmitJobOptions {
  /** Idempotency key of the job: submitting it again returns the first job. */
  key?: string;
  /** Keep the job open for `JobHandle.add()` until `JobHandle.close()`. Default false. */
  open?: boolean;
}

export interface ListOptions extends TaskFilter {
  /** Submission order; `desc` is newest first. Default asc. */
  order?: 'asc' | 'desc';
  /** Page size, 1 to 1000. Default 100. */
  limit?: number;
  /** Cursor: `next` of the previous page. */
  after?: string;
}

/** A function's source text for a `js` task (a string is taken as the source already). */
const sourceOf = (fn: ((...args: any[]) => unknown) | string): string => (typeof fn === 'string' ? fn : fn.toString());

/** Each input as the params of one `js` task calling the job's function with it as the one argument. */
async function* argsOf<I>(inputs: Iterable<I> | AsyncIterable<I>): AsyncGenerator<{ args: [I] }> {
  for await (const input of inputs) yield { args: [input] };
}

const epoch = (d: number | Date | undefined) => (d === undefined ? undefined : d instanceof Date ? d.getTime() : d);

export class Client<M extends TaskMap = AnyTasks> {
  readonly options: Readonly<ClientOptions>;
  private readonly http: Http;
  private readonly settles: SettleSource;
  private readonly push: PushChannel | null;

  /** @throws TypeError naming a bad option. */
  constructor(options: Partial<ClientOptions> = {}) {
    this.options = resolveClientOptions(options, optionsFromEnvironment());
    this.http = new Http(this.options);
    const poll = new LongPoll(this.http, this.options.waitChunkMs, this.options.reconnectMs);
    this.push = this.options.transport === 'push' ? new PushChannel(this.http, poll) : null;
    this.settles = this.push ?? poll;
  }

  /** Submits one task; resolves once it is durable, with a handle to await its result. */
  async submit<T extends keyof M & string>(type: T, params: M[T]['params'], opts: SubmitOptions = {}): Promise<TaskHandle<M[T]['result'], M[T]['params']>> {
    const body = { ...opts, type, params };
    let id: string | null = null;
    if (this.push) {
      try {
        id = await this.push.submit(body);
      } catch (err) {
        // The channel could not open (no WebSocket here, a proxy that refuses upgrades, a bad token):
        // nothing was sent, so HTTP takes the task, and says why if it is refused too.
        if (!(err instanceof ChannelClosedError) || err.sent) throw err;
      }
    }
    id ??= (await this.http.json<{ id: string }>('POST', '/tasks', { body })).id;
    return new TaskHandle(id, this.http, this.settles);
  }

  /**
   * Submits a task and resolves with its result: `submit()` then `result()`.
   * @throws TaskFailedError, TaskCancelledError, ApiError.
   */
  async run<T extends keyof M & string>(type: T, params: M[T]['params'], opts: SubmitOptions & { signal?: AbortSignal } = {}): Promise<M[T]['result']> {
    const { signal, ...submitOpts } = opts;
    return (await this.submit(type, params, submitOpts)).result({ signal });
  }

  /** A handle on a task submitted earlier (by this process or any other). */
  task<Result = unknown>(id: string): TaskHandle<Result> {
    return new TaskHandle<Result>(id, this.http, this.settles);
  }

  /** A handle on a job submitted earlier (its `count` is null: `status()` has the total). */
  job<Result = unknown>(id: string): JobHandle<Result> {
    return new JobHandle<Result>(id, null, this.http);
  }

  /**
   * Sends any request to the foreman's HTTP API (see /docs) with the client's token: the way to
   * the routes that have no method here. Resolves with the parsed body of a 2xx.
   * @throws ApiError for any other status.
   */
  request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    return this.http.json<T>(method, path, { body });
  }

  /**
   * Submits many tasks as one job. An (async) iterable is streamed as an NDJSON body as it is
   * read, so a million tasks take one chunk of memory; where fetch cannot stream a request body
   * (browsers), or for an open job, it is sent `chunkSize` tasks per request instead.
   */
  async submitJob(tasks: Iterable<JobTask<M>> | AsyncIterable<JobTask<M>>, opts: SubmitJobOptions = {}): Promise<JobHandle> {
    const headers: Record<string, string> = opts.key ? { 'idempotency-key': opts.key } : {};
    if (!opts.open && canStreamRequestBody()) {
      const counter = { count: 0 };
      const { jobId, count } = await this.http.postNdjson<{ jobId: string; count: number }>('/jobs', tasks, counter, headers);
      return new JobHandle(jobId, count, this.http);
    }
    return this.submitJobInChunks(tasks, opts);
  }

  private async submitJobInChunks(tasks: Iterable<JobTask<M>> | AsyncIterable<JobTask<M>>, opts: SubmitJobOptions): Promise<JobHandle> {
    let job: JobHandle | null = null;
    let count = 0;
    let chunk: unknown[] = [];
    const flush = async () => {
      if (job === null) {
        const r = await this.http.json<{ jobId: string; count: number }>('POST', '/jobs', { body: { tasks: chunk, open: true, key: opts.key } });
        job = new JobHandle(r.jobId, 0, this.http);
      } else {
        await job.add(chunk as Array<{ type: string }>);
      }
      count += chunk.length;
      chunk = [];
    };
    for await (const t of tasks) {
      chunk.push(t);
      if (chunk.length >= this.options.chunkSize) await flush();
    }
    if (chunk.length > 0 || job === null) await flush();
    const id = (job as unknown as JobHandle).id;
    if (!opts.open) await (job as unknown as JobHandle).close();
    return new JobHandle(id, count, this.http);
  }

  /**
   * Runs `type` once per input and resolves with the results in input order (like `Pool.map`),
   * backed by one job. At most `concurrency` tasks are unsettled at once.
   * @throws TaskFailedError or TaskCancelledError for the first task that did not succeed (the rest are cancelled).
   */
  map<T extends keyof M & string>(type: T, inputs: Iterable<M[T]['params']> | AsyncIterable<M[T]['params']>, opts: MapOptions = {}): Promise<Array<M[T]['result']>> {
    return mapTasks<M[T]['result']>(this.http, type, inputs, this.options.chunkSize, opts);
  }

  /**
   * Runs a JavaScript function in the sandbox of a worker started with `--allow-code` (a `js` task):
   * `fn` is sent as its source text (`fn.toString()`), so it must not use variables from its
   * surroundings. Resolves with its result, as JSON.
   * @throws TaskFailedError (e.g. code `CODE_THREW`, `CODE_CPU_LIMIT`), TaskCancelledError, ApiError.
   */
  runFunction<A extends unknown[], R>(fn: ((...args: A) => R) | string, ...args: A): Promise<Awaited<R>> {
    return this.run('js' as keyof M & string, { source: sourceOf(fn), args } as M[keyof M & string]['params']) as Promise<Awaited<R>>;
  }

  /**
   * Calls `fn(input)` once per input in the sandbox (`js` tasks of one job, the source sent once, on
   * the job) and resolves with the results in input order, like `map()`.
   * @throws TaskFailedError or TaskCancelledError for the first task that did not succeed (the rest are cancelled).
   */
  mapFunction<I, R>(fn: ((input: I) => R) | string, inputs: Iterable<I> | AsyncIterable<I>, opts: MapOptions = {}): Promise<Array<Awaited<R>>> {
    return mapTasks<Awaited<R>>(this.http, 'js', argsOf(inputs), this.options.chunkSize, opts, { source: sourceOf(fn) });
  }

  /** One page of tasks matching `filter`; pass `next` back as `after` for the following page. */
  listTasks(filter: ListOptions = {}): Promise<{ tasks: TaskView[]; next: string | null }> {
    return this.http.json('GET', '/tasks', {
      query: { ...filter, createdAfter: epoch(filter.createdAfter), createdBefore: epoch(filter.createdBefore) },
    });
  }

  /** Every task matching `filter`, page after page. */
  async *findTasks(filter: Omit<ListOptions, 'after'> = {}): AsyncGenerator<TaskView> {
    let after: string | undefined;
    do {
      const page = await this.listTasks({ ...filter, after });
      yield* page.tasks;
      after = page.next ?? undefined;
    } while (after !== undefined);
  }

  /**
   * Requeues every settled task matching `filter` (state `failed` unless given: the dead-letter list)
   * with a fresh attempt budget; resolves with how many.
   */
  async retryTasks(filter: Omit<TaskFilter, 'state'> & { state?: 'failed' | 'cancelled' } = {}): Promise<number> {
    const body = { ...filter, createdAfter: epoch(filter.createdAfter)?.toString(), createdBefore: epoch(filter.createdBefore)?.toString() };
    return (await this.http.json<{ requeued: number }>('POST', '/tasks/retry', { body })).requeued;
  }

  /** Counts of tasks, workers, slots and queues (`GET /stats`). */
  stats(): Promise<any> {
    return this.http.json('GET', '/stats');
  }

  /** The workers the foreman knows (`GET /workers`). */
  async workers(): Promise<any[]> {
    return (await this.http.json<{ workers: any[] }>('GET', '/workers')).workers;
  }

  /** Whether the foreman answers (`GET /health`, no token needed). */
  health(): Promise<{ ok: boolean; dispatching: boolean; uptimeMs: number }> {
    return this.http.json('GET', '/health');
  }

  /**
   * Uploads bytes to the foreman's blob store (a stream is sent as it is read, so any size fits in
   * little memory); put the returned `ref` in params instead of the data. Same bytes, same `ref`.
   * @throws ApiError (413 BLOB_TOO_LARGE past the foreman's maxBlobBytes).
   */
  putBlob(data: Uint8Array | Blob | ReadableStream<Uint8Array>, opts: { signal?: AbortSignal } = {}): Promise<PutBlobResult> {
    return putBlob(this.http, data, opts.signal);
  }

  /** Downloads a blob (or a byte range of it) into memory. @throws ApiError (404 BLOB_NOT_FOUND). */
  async getBlob(ref: string, opts: GetBlobOptions = {}): Promise<Uint8Array> {
    return new Uint8Array(await new Response(await getBlobStream(this.http, ref, opts)).arrayBuffer());
  }

  /** Streams a blob (or a byte range of it), for blobs too big to hold in memory. @throws ApiError (404 BLOB_NOT_FOUND). */
  getBlobStream(ref: string, opts: GetBlobOptions = {}): Promise<ReadableStream<Uint8Array>> {
    return getBlobStream(this.http, ref, opts);
  }

  /** Releases what the client holds open. Idempotent. */
  async close(): Promise<void> {
    this.push?.close();
  }
}
