/** The HTTP side of the client: JSON requests, NDJSON uploads and result streams, with the token on each. */
import { ApiError } from './errors.js';
import { ndjsonBody, readNdjson, type UploadCounter } from './ndjson.js';
import type { ClientOptions } from './options.js';

export type Query = Record<string, string | number | undefined>;

export class Http {
  /** Called as a plain function: a browser's fetch throws "Illegal invocation" when called as a method of another object. */
  private readonly fetch: typeof fetch;

  constructor(private readonly options: Pick<ClientOptions, 'foreman' | 'token' | 'fetch'>) {
    const f = options.fetch;
    this.fetch = (input, init) => f(input, init);
  }

  /** The base URL, without a trailing slash. */
  get baseUrl(): string {
    return this.options.foreman;
  }

  get token(): string | null {
    return this.options.token;
  }

  url(path: string, query?: Query): string {
    let url = `${this.options.foreman}${path}`;
    if (query) {
      const q = Object.entries(query).filter(([, v]) => v !== undefined).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
      if (q.length > 0) url += `?${q.join('&')}`;
    }
    return url;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.options.token ? { authorization: `Bearer ${this.options.token}`, ...extra } : extra;
  }

  /**
   * Sends a request with an optional JSON body; resolves with the parsed body of a 2xx.
   * @throws ApiError for any other status.
   */
  async json<T>(method: string, path: string, opts: { body?: unknown; query?: Query; signal?: AbortSignal; headers?: Record<string, string> } = {}): Promise<T> {
    const res = await this.fetch(this.url(path, opts.query), {
      method,
      headers: this.headers(opts.body === undefined ? opts.headers : { 'content-type': 'application/json', ...opts.headers }),
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: opts.signal,
    });
    return parse<T>(res);
  }

  /**
   * POSTs an NDJSON body: a string as it is, or `items` streamed as fetch sends them
   * (Node's fetch can; browsers over HTTP/1.1 cannot).
   * @param counter counts the items taken.
   */
  async postNdjson<T>(path: string, items: string | Iterable<unknown> | AsyncIterable<unknown>, counter: UploadCounter, headers: Record<string, string> = {}): Promise<T> {
    let res: Response;
    try {
      res = await this.fetch(this.url(path), {
        method: 'POST',
        headers: this.headers({ 'content-type': 'application/x-ndjson', ...headers }),
        body: typeof items === 'string' ? items : ndjsonBody(items, counter),
        // Required by fetch for a streamed request body.
        duplex: 'half',
      } as RequestInit);
    } catch (err) {
      throw counter.error ?? err;
    }
    return parse<T>(res);
  }

  /** Sends a request with the token and returns the response as it is (the caller reads the body and checks the status). */
  raw(method: string, path: string, init: { body?: BodyInit | null; headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<Response> {
    const streamed = typeof ReadableStream !== 'undefined' && init.body instanceof ReadableStream;
    return this.fetch(this.url(path), {
      method,
      headers: this.headers(init.headers),
      body: init.body,
      signal: init.signal,
      // Required by fetch for a streamed request body.
      ...(streamed ? { duplex: 'half' } : {}),
    } as RequestInit);
  }

  /** Reads an NDJSON response line by line until it ends. */
  async *lines<T>(path: string, signal?: AbortSignal): AsyncGenerator<T> {
    const res = await this.fetch(this.url(path), { headers: this.headers(), signal });
    if (!res.ok || !res.body) throw new ApiError(res.status, await res.json().catch(() => null));
    yield* readNdjson<T>(res.body);
  }
}

async function parse<T>(res: Response): Promise<T> {
  const text = await res.text();
  let body: unknown = null;
  if (text !== '') {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  if (!res.ok) throw new ApiError(res.status, body);
  return body as T;
}
