/**
 * Foreman options: every tunable has its one default here. `main.ts` maps
 * flags and GAFFER_* variables onto these names; nothing else holds a default.
 */

export interface ForemanOptions {
  /** TCP port for HTTP and the worker WebSocket; 0 picks a free one. Default 9000. */
  port: number;
  /** Address to bind. Default 0.0.0.0. */
  host: string;
  /** SQLite file, or `:memory:`; ignored when `store` is set. Default ./gaffer.db. */
  db: string;
  /** A postgres:// URL: the store several foremen share (see README "Running several foremen"); null keeps the SQLite `db`. Default null. */
  store: string | null;
  /** PostgreSQL connections per foreman (at least 2: the turn's writes run beside claims and reads). Default 4. */
  storePoolSize: number;
  /** PostgreSQL: how often a foreman looks for claimable work even without a notification, in ms. Default 2000. */
  pollIntervalMs: number;
  /** PostgreSQL: a foreman whose heartbeat in the foremen table is older than this is dead and reaped by the others, in ms. Default 10000. */
  foremanTtlMs: number;
  /** SQLite `synchronous` level: `normal` survives kill -9; `full` also survives power loss. Default normal. */
  sync: 'normal' | 'full';
  /** Interval at which workers send heartbeats, in ms. Default 5000. */
  heartbeatIntervalMs: number;
  /**
   * A worker with no message for this long is `stale` and gets no new work; if not even
   * WebSocket pongs arrived for this long, its socket is dropped and its grace period starts, in ms. Default 15000.
   */
  staleAfterMs: number;
  /** A connected worker with no message (heartbeat, result) for this long loses its tasks (they are requeued) and its socket, in ms. Default 30000. */
  leaseMs: number;
  /** After a socket closes, how long its tasks wait for the worker to resume, in ms. Default 5000. */
  graceMs: number;
  /** After a foreman restart, how long running tasks wait for their workers to re-attach, in ms. Default 15000. */
  restartGraceMs: number;
  /** Default attempts a task may fail in its handler before it is `failed`. Default 3. */
  maxAttempts: number;
  /** Attempts a task may lose to dead workers before it is `failed` as a poison task. Default 5. */
  maxLosses: number;
  /** Retry backoff base: the n-th retry waits about base × 2^(n-1), with jitter, in ms. Default 1000. */
  retryBackoffMs: number;
  /** Longest retry backoff, in ms. Default 60000. */
  retryBackoffMaxMs: number;
  /** How long finished tasks and their results are kept, in ms. Default 7 days. */
  retentionMs: number;
  /** How often the liveness sweep runs, in ms. Default 1000. */
  sweepIntervalMs: number;
  /** Protocol errors a session may make before it is closed (4000). Default 10. */
  maxProtocolErrors: number;
  /** Time a new socket has to send `hello`, in ms. Default 10000. */
  helloTimeoutMs: number;
  /** Most frames per second from one session (token bucket). Default 10000. */
  maxMessagesPerSecond: number;
  /** Largest WebSocket frame accepted, and sent: batches are split to fit (ws maxPayload; at most 256 MiB). Default 16 MiB. */
  maxFrameBytes: number;
  /** How long an offline worker stays listed in /workers, in ms. Default 10 minutes. */
  offlineRetentionMs: number;
  /** Enables dev-only routes such as POST /ops/reset. Default false. */
  dev: boolean;
  /** Log level (pino). Default info. */
  logLevel: string;
  /** Fleet token: any worker presenting it in `hello.authToken` may join. Default none (generated off loopback). */
  workerToken: string | null;
  /** API token: `Authorization: Bearer …` for every HTTP route but GET /health. Default none (generated off loopback). */
  apiToken: string | null;
  /** Read token: GET routes and the dashboard WebSocket only. Default none (generated off loopback). */
  readToken: string | null;
  /** Join token: carried by the /join link; registers browser workers (js and wasm tasks only) and reads the leaderboard, nothing else. Default none (generated off loopback). */
  joinToken: string | null;
  /** Whether browser workers' results count without quorum; by default they run only quorum replicas. Default false. */
  trustBrowserWorkers: boolean;
  /** PEM certificate file; with `tlsKey`, the foreman serves https and wss. Default none. */
  tlsCert: string | null;
  /** PEM private key file for `tlsCert`. Default none. */
  tlsKey: string | null;
  /** Most registered worker sessions (sockets that said a valid hello) at once; more are refused with 4013. Default 10000. */
  maxSessions: number;
  /** Most registered worker sessions from one address (refused with 4013). Default 1000. */
  maxSessionsPerAddress: number;
  /** Most worker sockets without a valid hello at once, counted apart from sessions; a newer socket closes the oldest silent one (4013). Default 1000. */
  maxPreHelloSockets: number;
  /** The same, from one address. Default 50. */
  maxPreHelloSocketsPerAddress: number;
  /** Largest task params, msgpack-encoded, in bytes; bigger submissions get 413. Default 4 MiB. */
  maxParamsBytes: number;
  /** Largest task result, msgpack-encoded, in bytes; a bigger result fails the task with PAYLOAD_TOO_LARGE. Default 4 MiB. */
  maxResultBytes: number;
  /** Where blobs live: a directory, or `s3://bucket/prefix` (not available yet). Default: `<db>.blobs/` beside the database. */
  blobStore: string | null;
  /** For an s3:// blob store: a non-AWS endpoint (MinIO, R2, …), addressed path-style; credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY. Default none (AWS). */
  blobS3Endpoint: string | null;
  /** Region of an s3:// blob store's bucket. Default us-east-1. */
  blobS3Region: string;
  /** Largest blob accepted by PUT /blobs, in bytes. Default 10 GiB. */
  maxBlobBytes: number;
  /** A blob no task references is deleted once nobody has uploaded it for this long, in ms. Default 1 day. */
  blobRetentionMs: number;
  /** How often unreferenced blobs are looked for, in ms. Default 1 hour. */
  blobSweepIntervalMs: number;
  /**
   * Longest a task waits for a worker where its type is hot (its model loaded) while a cold worker is
   * free, in ms; 0 sends it to the first free worker (hot ones are still preferred). Default 250.
   */
  coldStartWaitMs: number;
  /** Largest checkpoint state (`ctx.checkpoint`), msgpack-encoded, in bytes; a bigger one is refused. Default 64 KiB. */
  maxCheckpointBytes: number;
  /** Deepest nesting of arrays and objects in params, results and worker meta; deeper input is refused. Default 64. */
  maxValueDepth: number;
  /** Largest JSON request body, in bytes (bulk NDJSON job bodies have their own limit). Default 8 MiB. */
  maxBodyBytes: number;
  /** Longest line of an NDJSON job body, in bytes; longer gets 413. Default 8 MiB. */
  maxNdjsonLineBytes: number;
  /** Most HTTP requests per second from one address (token bucket; then 429). Default 2000. */
  maxRequestsPerSecond: number;
  /** Time a client has to send a whole request (headers and body) before it gets 408 and its connection is closed, in ms. Default 60000. */
  requestTimeoutMs: number;
  /** Most HTTP connections open at once; more are answered 503 TOO_MANY_CONNECTIONS and closed (worker sockets leave the count once upgraded). Default 2000. */
  maxHttpConnections: number;
  /** Most HTTP connections open at once from one address. Default 200. */
  maxHttpConnectionsPerAddress: number;
  /** Most client-channel sockets (`/ws/client`) open at once from one address; one more is closed with 4013. Default 50. */
  maxClientSocketsPerAddress: number;
  /** On close, how long in-flight HTTP requests may finish before their connections are cut, in ms (result streams are cut at once). Default 5000. */
  shutdownGraceMs: number;
  /** Queued tasks held in memory; past it, new submissions wait only in the store and are paged in as the queue drains (see foreman/spill.ts). Default 60000. */
  hotQueueMax: number;
  /** Quorum: a worker whose reputation falls below this is quarantined from quorum tasks (foreman/quorum/reputation.ts). Default 0.5. */
  quorumQuarantineBelow: number;
  /** Quorum: valid results in a row after which an `adaptive` quorum task may run on the worker alone. Default 10. */
  quorumTrustAfter: number;
  /** Quorum: probability that a trusted worker's adaptive task is checked by the full quorum anyway. Default 0.1. */
  quorumSpotCheck: number;
}

/** The defaults; frozen so nothing can change them at run time. */
export const DEFAULTS: Readonly<ForemanOptions> = Object.freeze({
  port: 9000,
  host: '0.0.0.0',
  db: './gaffer.db',
  store: null,
  storePoolSize: 4,
  // A missed notification costs at most this much delay; each poll is one claim per idle foreman.
  pollIntervalMs: 2000,
  // Four heartbeats per TTL: one or two slow ones (a GC pause, a busy database) do not make a foreman look dead.
  foremanTtlMs: 10_000,
  sync: 'normal',
  heartbeatIntervalMs: 5000,
  staleAfterMs: 15_000,
  leaseMs: 30_000,
  graceMs: 5000,
  restartGraceMs: 15_000,
  maxAttempts: 3,
  maxLosses: 5,
  retryBackoffMs: 1000,
  retryBackoffMaxMs: 60_000,
  retentionMs: 7 * 24 * 3600 * 1000,
  sweepIntervalMs: 1000,
  maxProtocolErrors: 10,
  helloTimeoutMs: 10_000,
  maxMessagesPerSecond: 10_000,
  maxFrameBytes: 16 * 1024 * 1024,
  offlineRetentionMs: 10 * 60 * 1000,
  dev: false,
  logLevel: 'info',
  workerToken: null,
  apiToken: null,
  readToken: null,
  joinToken: null,
  trustBrowserWorkers: false,
  tlsCert: null,
  tlsKey: null,
  maxSessions: 10_000,
  maxSessionsPerAddress: 1000,
  // A worker says hello within a round trip of connecting, so even a fleet behind one NAT redialling after a
  // foreman restart holds few sockets in this state at once (and retries with backoff when refused).
  maxPreHelloSockets: 1000,
  maxPreHelloSocketsPerAddress: 50,
  maxParamsBytes: 4 * 1024 * 1024,
  maxResultBytes: 4 * 1024 * 1024,
  maxCheckpointBytes: 64 * 1024,
  // A few hundred ms: short against a model load (seconds), long against a hot slot opening up under load.
  coldStartWaitMs: 250,
  blobStore: null,
  blobS3Endpoint: null,
  blobS3Region: 'us-east-1',
  maxBlobBytes: 10 * 1024 ** 3,
  blobRetentionMs: 24 * 3600 * 1000,
  blobSweepIntervalMs: 3600 * 1000,
  maxValueDepth: 64,
  maxBodyBytes: 8 * 1024 * 1024,
  maxNdjsonLineBytes: 8 * 1024 * 1024,
  maxRequestsPerSecond: 2000,
  shutdownGraceMs: 5000,
  // Long enough for a 256 MiB NDJSON job over a 50 Mbit/s link; a client trickling a body is cut after it.
  requestTimeoutMs: 60_000,
  maxHttpConnections: 2000,
  maxHttpConnectionsPerAddress: 200,
  maxClientSocketsPerAddress: 50,
  // ~1 KB of foreman memory per queued task held: 60,000 keeps a million-task backlog under 300 MB.
  hotQueueMax: 60_000,
  quorumQuarantineBelow: 0.5,
  quorumTrustAfter: 10,
  quorumSpotCheck: 0.1,
});

/** A few words on each option for `--help`; typed over every key, so a new option cannot go undescribed. */
export const FOREMAN_OPTION_HELP: Readonly<Record<keyof ForemanOptions, string>> = Object.freeze({
  port: 'TCP port for HTTP, dashboard and workers (0: any free port)',
  host: 'address to bind (127.0.0.1: this machine only, no tokens needed)',
  db: 'SQLite file holding every task (:memory: for none); unused with --store',
  store: 'postgres:// URL of a database several foremen share (instead of --db)',
  storePoolSize: 'PostgreSQL connections for statements, per foreman',
  pollIntervalMs: 'PostgreSQL: look for work this often without a notification, ms',
  foremanTtlMs: 'PostgreSQL: a foreman silent this long is dead; others requeue its tasks, ms',
  sync: 'SQLite durability: normal survives kill -9, full also power loss',
  heartbeatIntervalMs: 'how often workers send heartbeats, ms',
  staleAfterMs: 'silent this long: a worker gets no new work, ms',
  leaseMs: 'silent this long: a worker loses its tasks and socket, ms',
  graceMs: 'after a socket closes, how long its tasks wait for the worker, ms',
  restartGraceMs: 'after a foreman restart, how long running tasks wait for their workers, ms',
  maxAttempts: 'handler failures a task may have before it fails (per-task default)',
  maxLosses: 'worker losses a task may have before it fails as poison',
  retryBackoffMs: 'first retry delay; doubles per retry, ms',
  retryBackoffMaxMs: 'longest retry delay, ms',
  retentionMs: 'how long finished tasks are kept, ms',
  sweepIntervalMs: 'how often liveness is checked, ms',
  maxProtocolErrors: 'protocol errors before a worker session is closed',
  helloTimeoutMs: 'time a new socket has to say hello, ms',
  maxMessagesPerSecond: 'most frames per second from one worker',
  maxFrameBytes: 'largest WebSocket frame, bytes',
  offlineRetentionMs: 'how long an offline worker stays listed, ms',
  dev: 'enable dev-only routes such as POST /ops/reset',
  logLevel: 'log level: trace, debug, info, warn, error',
  workerToken: 'fleet token every worker may join with (generated off loopback)',
  apiToken: 'API token for the HTTP API and dashboard (generated off loopback)',
  readToken: 'read-only API token (generated off loopback)',
  joinToken: 'token of the /join link: registers browser workers for sandboxed tasks only (generated off loopback)',
  trustBrowserWorkers: 'accept browser workers\' results without quorum (by default they run only quorum replicas)',
  tlsCert: 'PEM certificate file: serve https and wss (with --tls-key)',
  tlsKey: 'PEM private key file for --tls-cert',
  maxSessions: 'most worker sockets open at once',
  maxSessionsPerAddress: 'most worker sockets open at once from one address',
  maxParamsBytes: 'largest task params (msgpack), bytes',
  maxResultBytes: 'largest task result (msgpack), bytes',
  maxValueDepth: 'deepest nesting of params, results and worker meta',
  maxBodyBytes: 'largest JSON request body, bytes',
  maxNdjsonLineBytes: 'longest line of an NDJSON job body, bytes',
  maxRequestsPerSecond: 'most HTTP requests per second from one address',
  shutdownGraceMs: 'on close, how long in-flight HTTP requests may finish, ms',
  requestTimeoutMs: 'time a client has to send a whole request, headers and body, before 408, ms',
  maxHttpConnections: 'most HTTP connections open at once (503 beyond; upgraded worker sockets not counted)',
  maxHttpConnectionsPerAddress: 'most HTTP connections open at once from one address',
  maxClientSocketsPerAddress: 'most client push-channel sockets (/ws/client) open at once from one address',
  hotQueueMax: 'queued tasks held in memory; the rest wait in the store',
  maxCheckpointBytes: 'largest checkpoint a handler may save (msgpack), bytes',
  coldStartWaitMs: 'longest a task waits for a worker where its model is loaded (hot) while a cold one is free, ms',
  maxBlobBytes: 'largest blob PUT /blobs accepts, bytes',
  blobStore: 'where blobs live: a directory (default <db>.blobs/ beside the database) or s3://bucket/prefix',
  blobS3Region: 'region of the s3:// blob store\'s bucket',
  blobS3Endpoint: 'S3-compatible endpoint for an s3:// blob store (MinIO, R2, …); credentials from the AWS_* variables',
  blobRetentionMs: 'how long an unreferenced blob is kept, ms',
  blobSweepIntervalMs: 'how often unreferenced blobs are looked for, ms',
  maxPreHelloSockets: 'most sockets waiting to say hello at once',
  maxPreHelloSocketsPerAddress: 'most sockets waiting to say hello from one address',
  quorumQuarantineBelow: 'reputation (0-1) below which a worker gets no more quorum replicas',
  quorumTrustAfter: 'valid results in a row after which an adaptive quorum task may run on the worker alone',
  quorumSpotCheck: "probability (0-1) that a trusted worker's adaptive task is checked by the full quorum anyway",
});

function requireInt(name: keyof ForemanOptions, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
    throw new TypeError(`option ${name} must be an integer between ${min} and ${max}, got ${String(value)}`);
  }
}

/**
 * Merges `partial` over the defaults and range-checks the result.
 * @throws TypeError naming the bad field.
 */
export function resolveForemanOptions(partial: Partial<ForemanOptions> = {}): Readonly<ForemanOptions> {
  const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  const o: ForemanOptions = { ...DEFAULTS, ...defined };
  requireInt('port', o.port, 0, 65535);
  requireInt('heartbeatIntervalMs', o.heartbeatIntervalMs, 10);
  requireInt('staleAfterMs', o.staleAfterMs, o.heartbeatIntervalMs);
  requireInt('leaseMs', o.leaseMs, o.staleAfterMs);
  requireInt('graceMs', o.graceMs, 0);
  requireInt('restartGraceMs', o.restartGraceMs, 0);
  requireInt('maxAttempts', o.maxAttempts, 1, 1000);
  requireInt('maxLosses', o.maxLosses, 1, 1000);
  requireInt('retryBackoffMs', o.retryBackoffMs, 0);
  requireInt('retryBackoffMaxMs', o.retryBackoffMaxMs, o.retryBackoffMs);
  requireInt('retentionMs', o.retentionMs, 0);
  requireInt('sweepIntervalMs', o.sweepIntervalMs, 10);
  requireInt('maxProtocolErrors', o.maxProtocolErrors, 1);
  requireInt('helloTimeoutMs', o.helloTimeoutMs, 10);
  requireInt('maxMessagesPerSecond', o.maxMessagesPerSecond, 1);
  // The reference worker accepts frames up to 256 MiB, and the foreman sends frames up to this size.
  requireInt('maxFrameBytes', o.maxFrameBytes, 1024, 256 * 1024 * 1024);
  requireInt('offlineRetentionMs', o.offlineRetentionMs, 0);
  if (o.sync !== 'normal' && o.sync !== 'full') throw new TypeError(`option sync must be normal or full, got ${String(o.sync)}`);
  if (typeof o.db !== 'string' || o.db === '') throw new TypeError('option db must be a file path or :memory:');
  if (o.store !== null && (typeof o.store !== 'string' || !/^postgres(ql)?:\/\//.test(o.store))) {
    throw new TypeError(`option store must be a postgres:// URL, got ${String(o.store)}`);
  }
  requireInt('storePoolSize', o.storePoolSize, 2, 100);
  requireInt('pollIntervalMs', o.pollIntervalMs, 10);
  requireInt('foremanTtlMs', o.foremanTtlMs, 100);
  requireInt('maxSessions', o.maxSessions, 1);
  requireInt('maxSessionsPerAddress', o.maxSessionsPerAddress, 1, o.maxSessions);
  requireInt('maxPreHelloSockets', o.maxPreHelloSockets, 1);
  requireInt('maxPreHelloSocketsPerAddress', o.maxPreHelloSocketsPerAddress, 1, o.maxPreHelloSockets);
  // Params and results travel inside one frame, so neither may exceed the frame limit.
  requireInt('maxParamsBytes', o.maxParamsBytes, 1, o.maxFrameBytes);
  requireInt('maxResultBytes', o.maxResultBytes, 1, o.maxFrameBytes);
  requireInt('maxBlobBytes', o.maxBlobBytes, 0);
  requireInt('blobRetentionMs', o.blobRetentionMs, 0);
  requireInt('blobSweepIntervalMs', o.blobSweepIntervalMs, 10);
  if (o.blobStore !== null && (typeof o.blobStore !== 'string' || o.blobStore === '')) throw new TypeError('option blobStore must be a directory or s3://bucket/prefix');
  requireInt('coldStartWaitMs', o.coldStartWaitMs, 0);
  requireInt('maxCheckpointBytes', o.maxCheckpointBytes, 1, o.maxFrameBytes);
  // Deeply nested values overflow the stack of recursive encoders (msgpack, JSON); 1000 is far below where that happens.
  requireInt('maxValueDepth', o.maxValueDepth, 1, 1000);
  requireInt('maxBodyBytes', o.maxBodyBytes, 1024);
  requireInt('maxNdjsonLineBytes', o.maxNdjsonLineBytes, 1024);
  requireInt('maxRequestsPerSecond', o.maxRequestsPerSecond, 1);
  requireInt('shutdownGraceMs', o.shutdownGraceMs, 0);
  requireInt('requestTimeoutMs', o.requestTimeoutMs, 100);
  requireInt('maxHttpConnections', o.maxHttpConnections, 1);
  requireInt('maxHttpConnectionsPerAddress', o.maxHttpConnectionsPerAddress, 1, o.maxHttpConnections);
  requireInt('maxClientSocketsPerAddress', o.maxClientSocketsPerAddress, 1);
  requireInt('hotQueueMax', o.hotQueueMax, 1);
  requireInt('quorumTrustAfter', o.quorumTrustAfter, 1);
  for (const name of ['quorumQuarantineBelow', 'quorumSpotCheck'] as const) {
    if (typeof o[name] !== 'number' || !(o[name] >= 0 && o[name] <= 1)) throw new TypeError(`option ${name} must be a number from 0 to 1, got ${String(o[name])}`);
  }
  for (const name of ['workerToken', 'apiToken', 'readToken', 'joinToken'] as const) {
    const v = o[name];
    // A short token can be guessed; generated ones are 32 characters.
    if (v !== null && (typeof v !== 'string' || v.length < 16 || /\s/.test(v))) throw new TypeError(`option ${name} must be at least 16 characters without spaces`);
  }
  if ((o.tlsCert === null) !== (o.tlsKey === null)) throw new TypeError('options tlsCert and tlsKey must be given together');
  return Object.freeze(o);
}
