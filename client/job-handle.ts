/** A handle on one job: its results as they settle, its progress, and what can be done to it. */
import type { Http } from './http.js';
import type { JobView, ResultLine } from './types.js';

export class JobHandle<Result = unknown> {
  constructor(
    /** The job id. */
    readonly id: string,
    /** Tasks submitted with it (more may be added to an open job); null for a handle on an existing job. */
    readonly count: number | null,
    private readonly http: Http,
  ) {}

  private path(suffix = ''): string {
    return `/jobs/${encodeURIComponent(this.id)}${suffix}`;
  }

  /**
   * Every task's outcome as it settles (those settled already come first), ending when the job
   * is closed and complete. One streamed response; nothing is polled.
   * @param opts.follow false: only the outcomes settled so far. Default true.
   */
  results(opts: { signal?: AbortSignal; follow?: boolean } = {}): AsyncGenerator<ResultLine<Result>> {
    return this.http.lines<ResultLine<Result>>(this.path(opts.follow === false ? '/results?follow=false' : '/results'), opts.signal);
  }

  /** The job now: counts by state, settled fraction, whether it is complete. */
  status(): Promise<JobView> {
    return this.http.json('GET', this.path());
  }

  /**
   * The job's counts after each task settles, ending when it is complete: a progress bar's feed.
   * Reads the result stream, so it costs no polling.
   */
  async *progress(opts: { signal?: AbortSignal } = {}): AsyncGenerator<{ settled: number; succeeded: number; failed: number; cancelled: number; total: number }> {
    const counts = { settled: 0, succeeded: 0, failed: 0, cancelled: 0, total: (await this.status()).total };
    for await (const line of this.results(opts)) {
      counts.settled++;
      counts[line.state]++;
      yield { ...counts };
    }
  }

  /** Cancels every unsettled task of the job; resolves with how many were affected. */
  async cancel(): Promise<number> {
    return (await this.http.json<{ cancelled: number }>('POST', this.path('/cancel'))).cancelled;
  }

  /** Stops an open job from taking more tasks; it completes when they settle. */
  async close(): Promise<JobView> {
    return this.http.json('POST', this.path('/close'));
  }

  /** Requeues every failed task of the job; resolves with how many. */
  async retryFailed(): Promise<number> {
    return (await this.http.json<{ requeued: number }>('POST', this.path('/retry-failed'))).requeued;
  }

  /** Adds tasks to an open job. */
  async add(tasks: Array<{ type: string; params?: unknown }>): Promise<string[]> {
    return (await this.http.json<{ taskIds: string[] }>('POST', this.path('/tasks'), { body: tasks })).taskIds;
  }
}
