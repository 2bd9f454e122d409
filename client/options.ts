/**
 * Client options: every default in one place. `new Client()` with no options
 * reads the foreman URL and token from the same GAFFER_* variables as the CLI
 * (see environment.ts); explicit options win.
 */

export interface ClientOptions {
  /** Foreman HTTP URL (`ws://` and `wss://` are taken as `http://`/`https://`). Default GAFFER_FOREMAN (or GAFFER_FOREMAN_URL), else http://127.0.0.1:9000. */
  foreman: string;
  /** API token (or the read token, for reading only). Default GAFFER_API_TOKEN, else none. */
  token: string | null;
  /** Longest single long poll of `GET /tasks/:id/wait`, in ms; `result()` polls again until the task settles. Default 30000. */
  waitChunkMs: number;
  /** How long an awaited result keeps asking a foreman that cannot be reached (restarting), in ms. Default 60000. */
  reconnectMs: number;
  /** Tasks per request when a job is uploaded in pieces (`map`, and `submitJob` where fetch cannot stream a body). Default 1000. */
  chunkSize: number;
  /**
   * How single tasks travel: `push` (one WebSocket to the foreman: submissions batched per turn,
   * settlements pushed) or `http` (a request per submit, a long poll per awaited result). Jobs,
   * `map` and everything else use HTTP either way. Default `push`: faster both ways (see BENCHMARKS.md).
   */
  transport: 'push' | 'http';
  /** The fetch to use (tests, proxies). Default globalThis.fetch. */
  fetch: typeof fetch;
}

export const DEFAULTS: Readonly<Omit<ClientOptions, 'fetch'>> = Object.freeze({
  foreman: 'http://127.0.0.1:9000',
  token: null,
  waitChunkMs: 30_000,
  reconnectMs: 60_000,
  chunkSize: 1000,
  transport: 'push',
});

/**
 * Merges `partial` over `env` over DEFAULTS and checks ranges.
 * @throws TypeError naming the bad field.
 */
export function resolveClientOptions(partial: Partial<ClientOptions>, env: Partial<ClientOptions> = {}): ClientOptions {
  const o = { ...DEFAULTS, fetch: globalThis.fetch, ...env, ...stripUndefined(partial) } as ClientOptions;
  if (typeof o.foreman !== 'string' || !/^(http|https|ws|wss):\/\//.test(o.foreman)) throw new TypeError(`foreman must be an http(s) URL, got ${JSON.stringify(o.foreman)}`);
  o.foreman = o.foreman.replace(/^ws/, 'http').replace(/\/+$/, '');
  if (!Number.isInteger(o.waitChunkMs) || o.waitChunkMs < 1 || o.waitChunkMs > 120_000) throw new TypeError('waitChunkMs must be an integer from 1 to 120000');
  if (!Number.isInteger(o.reconnectMs) || o.reconnectMs < 0) throw new TypeError('reconnectMs must be a non-negative integer');
  if (!Number.isInteger(o.chunkSize) || o.chunkSize < 1 || o.chunkSize > 100_000) throw new TypeError('chunkSize must be an integer from 1 to 100000');
  if (o.transport !== 'push' && o.transport !== 'http') throw new TypeError(`transport must be push or http, got ${JSON.stringify(o.transport)}`);
  if (typeof o.fetch !== 'function') throw new TypeError('fetch is not available: pass options.fetch');
  return o;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
