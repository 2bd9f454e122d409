/**
 * A raw request helper over the same transport as `Client`, for the tests and
 * the bench, which call routes the client does not wrap and check raw replies.
 * Programs should use `Client`.
 */
import { ApiError } from './errors.js';
import { Http } from './http.js';

export { ApiError };

export class ApiClient {
  private readonly http: Http;

  constructor(
    readonly baseUrl: string,
    token: string | null = null,
  ) {
    this.http = new Http({ foreman: baseUrl.replace(/\/+$/, ''), token, fetch: globalThis.fetch });
  }

  /** Sends a JSON request; resolves with the parsed body of a 2xx, throws ApiError otherwise. */
  request<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    return this.http.json<T>(method, path, { body, headers });
  }

  /** Posts an NDJSON body (one task per line) as a new job. */
  submitNdjson(ndjson: string): Promise<{ jobId: string; count: number }> {
    return this.http.postNdjson('/jobs', ndjson, { count: 0 });
  }

  /** Streams a job's results, one parsed NDJSON line at a time, until the job completes. */
  results(jobId: string, signal?: AbortSignal): AsyncGenerator<Record<string, any>> {
    return this.http.lines(`/jobs/${encodeURIComponent(jobId)}/results`, signal);
  }
}
