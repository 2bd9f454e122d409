/** A small client for the foreman's HTTP API, used by the CLI and the tests. */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`HTTP ${status}: ${typeof body === 'object' && body && 'message' in body ? String((body as { message: unknown }).message) : JSON.stringify(body)}`);
    this.name = 'ApiError';
  }
}

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string | null = null,
  ) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.token ? { authorization: `Bearer ${this.token}`, ...extra } : extra;
  }

  /** Sends a JSON request; resolves with the parsed body of a 2xx, throws ApiError otherwise. */
  async request<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const res = await fetch(new URL(path, this.baseUrl), {
      method,
      headers: this.headers(body === undefined ? headers : { 'content-type': 'application/json', ...headers }),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const parsed = text === '' ? null : JSON.parse(text);
    if (!res.ok) throw new ApiError(res.status, parsed);
    return parsed as T;
  }

  /** Posts an NDJSON body (one task per line) as a new job. */
  async submitNdjson(ndjson: string): Promise<{ jobId: string; count: number }> {
    const res = await fetch(new URL('/jobs', this.baseUrl), {
      method: 'POST',
      headers: this.headers({ 'content-type': 'application/x-ndjson' }),
      body: ndjson,
    });
    const parsed = await res.json();
    if (!res.ok) throw new ApiError(res.status, parsed);
    return parsed as { jobId: string; count: number };
  }

  /** Streams a job's results, one parsed NDJSON line at a time, until the job completes. */
  async *results(jobId: string, signal?: AbortSignal): AsyncGenerator<Record<string, any>> {
    const res = await fetch(new URL(`/jobs/${encodeURIComponent(jobId)}/results`, this.baseUrl), { headers: this.headers(), signal });
    if (!res.ok || !res.body) throw new ApiError(res.status, await res.text());
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const chunk of res.body) {
      buffered += decoder.decode(chunk as Uint8Array, { stream: true });
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.trim() !== '') yield JSON.parse(line);
      }
    }
  }
}
