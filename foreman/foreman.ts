/**
 * The foreman: one Fastify server (HTTP API, dashboard, worker WebSocket)
 * over one SQLite store. `start()` opens everything; `drain()` stops dispatch;
 * `close()` ends sessions, flushes the store and stops the server.
 */
import websocket from '@fastify/websocket';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { WORKER_WS_PATH, CLOSE_CODES } from '../shared/protocol.js';
import { Checkpoints } from './checkpoints/checkpoints.js';
import { Quorum } from './quorum/quorum.js';
import { SqliteQuorumStore } from './quorum/sqlite-quorum-store.js';
import { leaderboardRoutes } from './http/leaderboard-routes.js';
import { ClientChannel } from './client-channel/client-channel.js';
import { Dispatcher } from './dispatcher.js';
import { HotRouting } from './hot-routing/hot-routing.js';
import { TypeLimits } from './type-limits/type-limits.js';
import { SqliteTypeLimits } from './type-limits/sqlite-type-limits.js';
import { Dependencies } from './dependencies/dependencies.js';
import { SqliteDependencyRows } from './dependencies/sqlite-dependency-rows.js';
import { Schedules } from './schedules/schedules.js';
import { scheduleRoutes } from './schedules/schedule-routes.js';
import { PgScheduleStore } from './schedules/pg-schedules.js';
import { SqliteScheduleStore } from './schedules/sqlite-schedules.js';
import { typeLimitsRoutes } from './type-limits/type-limits-routes.js';
import { ForemanEvents } from './events.js';
import { Fleet } from './fleet.js';
import type { ApiContext } from './http/context.js';
import { dashboardRoutes } from './http/dashboard-routes.js';
import { fleetRoutes } from './http/fleet-routes.js';
import { tokenRoutes } from './http/token-routes.js';
import { foremenRoutes } from './http/foremen-routes.js';
import { workerView } from './http/views.js';
import { frameworkErrorReply, installErrorReplies } from './http/error-reply.js';
import { jobRoutes } from './http/job-routes.js';
import { installNdjsonParser } from './http/ndjson.js';
import { taskRoutes } from './http/task-routes.js';
import { resolveForemanOptions, type ForemanOptions } from './options.js';
import { Retention } from './retention.js';
import { Session } from './session.js';
import { openDatabase, type Db } from './store/database.js';
import { lockDatabase, startFiles, type DbLock } from './store/db-lock.js';
import { WalCheckpointer } from './store/wal-checkpointer.js';
import { tokensFile } from './auth/credentials.js';
import { WorkerTokenStore } from './auth/tokens.js';
import { GroupCommit } from './store/group-commit.js';
import { TaskStore } from './store/task-store.js';
import { TaskManager } from './task-manager.js';
import type { StoreReads, TaskLedger, TaskManagerHooks, TurnCommit } from './ledger.js';
import type { PgStore } from './store/postgres/pg-store.js';
import { PgWorkerTokens } from './store/postgres/pg-worker-tokens.js';
import { installEdge, type Edge } from './edge.js';
import { accessRoute } from './auth/api-auth.js';
import { referencedInPostgres, referencedInSqlite } from './blobs/blob-collector.js';
import { installBlobs, type Blobs } from './blobs/install-blobs.js';
import { logRefusals } from './refusal-log.js';
import { AttemptLogs, type AttemptLogStore } from './attempt-logs.js';
import { PgAttemptLogs } from './store/postgres/pg-attempt-logs.js';
import { PgCheckpoints } from './store/postgres/pg-checkpoints.js';
import { PgDependencyRows } from './store/postgres/pg-dependencies.js';
import { PgQuorumStore } from './quorum/pg-quorum-store.js';
import { SqliteCheckpointRows } from './checkpoints/checkpoint-store.js';
import { installStoreGuard } from './http/store-guard.js';
import { clientErrorReply } from './http/client-error.js';
import { serverTimeouts } from './http/connection-limits.js';
import { httpsOption, schemes } from './tls.js';

/**
 * Foreman lifecycle:
 * - `running`: serving and dispatching;
 * - `draining`: serving, dispatch stopped;
 * - `closed`: everything stopped.
 */
export type ForemanState = 'running' | 'draining' | 'closed';

export interface ForemanStartOptions extends Partial<ForemanOptions> {
  /** A pino logger to use instead of Fastify's default; `false` silences logs. */
  logger?: FastifyBaseLogger | false;
  /** Extra setup on the Fastify instance before it listens (dashboard, auth, metrics). */
  plugins?: Array<(app: FastifyInstance, foreman: Foreman) => void | Promise<void>>;
}

export class Foreman {
  state: ForemanState = 'running';
  readonly events = new ForemanEvents();
  readonly tasks: TaskLedger;
  readonly fleet: Fleet;
  readonly dispatcher: Dispatcher;
  readonly store: TaskStore;
  readonly commit: GroupCommit;
  readonly api: ApiContext;
  readonly checkpoints: Checkpoints;
  /** The ctx.log() lines of each attempt, as workers sent them with their results. */
  readonly attemptLogs: AttemptLogStore;
  readonly hotRouting: HotRouting;
  readonly quorum: Quorum;
  readonly typeLimits: TypeLimits;
  readonly dependencies: Dependencies;
  readonly schedules: Schedules;
  /** Authentication, limits, metrics and docs (set in setup). */
  edge!: Edge;
  /** Clients on the push channel (set in setup). */
  clients: ClientChannel | null = null;
  /** The blob store and its retention (set in setup). */
  blobs!: Blobs;
  private sweepTimer: NodeJS.Timeout | null = null;
  private readonly retention: Retention;
  private sweeps = 0;
  private closing: Promise<void> | null = null;

  /**
   * @param db the SQLite store; with `pg`, an in-memory SQLite database for the rooms that have no
   *   PostgreSQL tables, which then live only in this process, and the mirror of the worker tokens.
   * @param pg the PostgreSQL store shared with other foremen, when `--store` is given.
   */
  private constructor(
    readonly options: Readonly<ForemanOptions>,
    readonly app: FastifyInstance,
    readonly db: Db,
    private readonly lock: DbLock,
    readonly pg: PgStore | null = null,
  ) {
    this.store = new TaskStore(db);
    this.commit = new GroupCommit(
      db,
      (writes, ms) => {
        if (this.events.listenerCount('commit') > 0) this.events.emit('commit', { writes, ms });
      },
      (err) => app.log.error({ err }, 'store write failed'),
      (state, { err, outageMs }) => {
        // Once per episode: the batch is retried with backoff until it commits, and nothing is acknowledged meanwhile.
        if (state === 'unavailable') app.log.error({ err, db: options.db }, 'store cannot write; holding every change and retrying until it can');
        else {
          app.log.info({ db: options.db, outageMs }, 'store writable again; held changes committed');
          this.dispatcher.schedule();
        }
      },
    );
    if (!pg && options.db !== ':memory:') {
      const checkpointer = new WalCheckpointer(db, options.db, options.sync, (err) => app.log.warn({ err, db: options.db }, 'WAL checkpoint thread failed; SQLite checkpoints in the commits from now on'));
      this.commit.checkpointer = checkpointer;
    }
    const hooks: TaskManagerHooks = {
      onReady: (submitted) => (submitted ? this.dispatcher.submitted() : this.dispatcher.schedule()),
      onCancel: (workerId, refs) => this.fleet.sendCancel(workerId, refs, 'cancelled'),
      onSettled: (t) => {
        this.checkpoints.settled(t.id, t.state);
        this.quorum.settled(t);
        this.dependencies.settled(t);
        this.events.emit('settled', t);
      },
      onProgress: (id) => this.events.listenerCount('progress') > 0 && this.events.emit('progress', id),
      onAttemptEnded: (type, outcome, error) => {
        // A handler's RateLimitedError pauses its type fleet-wide (the task itself is requeued after the wait).
        if (error?.retryAfterMs !== undefined && error.code === 'HANDLER_RATE_LIMITED') this.typeLimits.pause(type, error.retryAfterMs);
        this.typeLimits.ended(type);
        this.events.emit('attemptEnded', { type, outcome, code: error?.code ?? null });
      },
    };
    this.tasks = pg ? pg.createLedger(hooks, this.events) : new TaskManager(this.store, this.commit, options, hooks);
    const turn: TurnCommit = pg ? pg.turn : this.commit;
    const reads: StoreReads = pg ? pg.reads : this.store;
    this.fleet = new Fleet(this.tasks, options, {
      onCapacity: () => this.dispatcher.schedule(),
      onProtocolError: (code, workerId, address, closeCode) => this.events.emit('protocolError', { code, workerId, address, closeCode }),
      onCheckpoints: (workerId, session, checkpoints) => this.checkpoints.receive(workerId, session, checkpoints),
      log: app.log,
    });
    this.dispatcher = new Dispatcher(this.tasks, this.fleet, turn, this.events);
    this.checkpoints = new Checkpoints(pg ? new PgCheckpoints(pg.db) : new SqliteCheckpointRows(db, this.commit), this.tasks, options);
    this.attemptLogs = pg ? new PgAttemptLogs(pg.db, app.log) : new AttemptLogs(db);
    this.quorum = new Quorum({
      store: pg ? new PgQuorumStore(pg.db) : new SqliteQuorumStore(db, this.commit),
      tasks: this.tasks, reads, rule: options,
      ...(pg ? { strandedSweep: { everyMs: options.pollIntervalMs, afterMs: options.foremanTtlMs } } : {}),
      addressOf: (id) => this.fleet.workers.get(id)?.address ?? null,
      log: app.log,
    });
    this.dependencies = new Dependencies({
      rows: pg ? new PgDependencyRows(pg.db) : new SqliteDependencyRows(db, this.commit, this.store),
      tasks: this.tasks, reads, sweepMs: options.pollIntervalMs, log: app.log,
    });
    this.schedules = new Schedules({
      store: pg ? new PgScheduleStore(pg.db) : new SqliteScheduleStore(db, this.commit), tasks: this.tasks, log: app.log,
      onFired: (name) => this.events.emit('scheduleFired', { name }),
    });
    // Claimed replicas learn their group's exclusion before any is dispatched; claims skip replicas no worker here may run.
    pg?.ledger?.claimReplicas((tasks) => this.quorum.claimed(tasks), () => this.quorum.eligible(this.fleet.workers.keys()));
    this.dispatcher.onAssign = (task, assignment) => {
      this.checkpoints.attach(task, assignment);
      this.dependencies.attach(task, assignment);
      this.quorum.assigned(task);
    };
    logRefusals(this.events, app.log);
    this.hotRouting = new HotRouting(options.coldStartWaitMs, () => this.dispatcher.schedule());
    this.dispatcher.hotRouting = this.hotRouting;
    this.typeLimits = new TypeLimits({
      // With PostgreSQL the limits are shared by every foreman and enforced where tasks are claimed.
      store: pg
        ? pg.typeLimits({ covers: (type) => this.typeLimits.covers(type), held: (type, hold) => this.typeLimits.heldAtClaim(type, hold) })
        : new SqliteTypeLimits(db, this.commit),
      runningOf: (types) => {
        const n = new Map<string, number>();
        if (types.size === 0) return n;
        for (const w of this.fleet.workers.values()) for (const t of w.running.values()) if (types.has(t.type)) n.set(t.type, (n.get(t.type) ?? 0) + 1);
        return n;
      },
      onRoom: () => this.dispatcher.schedule(),
      onHeld: (type, limit) => this.events.listenerCount('typeHeld') > 0 && this.events.emit('typeHeld', { type, limit }),
      onPauseFailed: (type, err) => app.log.warn({ err, type }, 'rate-limit pause not stored; it holds on this foreman only'),
    });
    this.dispatcher.typeLimits = this.typeLimits;
    this.retention = new Retention(this.tasks, options.retentionMs, Math.min(60_000, Math.max(1000, options.retentionMs)));
    this.api = {
      tasks: this.tasks,
      fleet: this.fleet,
      dispatcher: this.dispatcher,
      store: reads,
      events: this.events,
      checkpoints: this.checkpoints,
      attemptLogs: this.attemptLogs,
      quorum: this.quorum,
      typeLimits: this.typeLimits,
      dependencies: this.dependencies,
      options,
      startedAt: Date.now(),
      storeHealth: () => ({ state: turn.state, retryInMs: turn.retryInMs }),
      ...(pg ? { otherWorkers: () => pg.workers.others(), foremanId: pg.foremanId } : {}),
      foremen: async () =>
        pg ? pg.foremen.list() : [{ id: 'local', url: this.url, host: null, pid: process.pid, startedAt: this.api.startedAt, heartbeatAgeMs: 0, alive: true, self: true }],
    };
  }

  /** Opens the store, loads what was in flight, and starts listening. */
  static async start(input: ForemanStartOptions = {}): Promise<Foreman> {
    const { logger, plugins = [], ...partial } = input;
    const options = resolveForemanOptions(partial);
    const app = Fastify({
      ...(logger ? { loggerInstance: logger } : { logger: logger === false ? false : { level: options.logLevel } }),
      bodyLimit: options.maxBodyBytes,
      requestTimeout: options.requestTimeoutMs,
      http: serverTimeouts(options.requestTimeoutMs),
      ...httpsOption(options, serverTimeouts(options.requestTimeoutMs)),
      clientErrorHandler: clientErrorReply,
      frameworkErrors: frameworkErrorReply,
      // Our own 503 (installErrorReplies) carries a code; Fastify's has none.
      return503OnClosing: false,
      // Ids are up to 200 characters, percent-encoded up to 600: longer ones get a 400 naming params/id from the schema, not a 414.
      routerOptions: { maxParamLength: 1000 },
      // No type coercion: a number sent as a string (or the reverse) is a client bug worth a 400.
      ajv: { customOptions: { removeAdditional: false, allErrors: false, coerceTypes: false } },
      logController: new LogController({ disableRequestLogging: true }),
    });
    let foreman: Foreman | null = null;
    // Loaded only for --store: the PostgreSQL driver and its rooms are ~0.15 s of a start on SQLite.
    const pg = options.store === null ? null : await (await import('./store/postgres/pg-store.js')).PgStore.open(options, app.log, () => foreman?.dispatcher.schedule());
    // With PostgreSQL, the SQLite database is in memory (rooms without PostgreSQL tables yet) and no file is locked.
    const dbFile = pg ? ':memory:' : options.db;
    // Before anything is written: a second foreman on this file refuses here, leaving no trace.
    const lock = lockDatabase(dbFile);
    const files = dbFile === ':memory:' ? null : startFiles([options.db, `${options.db}-wal`, `${options.db}-shm`, tokensFile(options.db) as string, `${options.db}.blobs`]);
    try {
      foreman = new Foreman(options, app, openDatabase(dbFile, options.sync), lock, pg);
    } catch (err) {
      files?.removeCreated();
      lock.release();
      await pg?.close();
      throw err;
    }
    try {
      await foreman.setup(plugins);
      await app.listen({ port: options.port, host: options.host });
    } catch (err) {
      // A start that fails (port taken, bad tokens file) leaves behind none of the files it created.
      await foreman.close().catch(() => {});
      files?.removeCreated();
      throw err;
    }
    return foreman;
  }

  private async setup(plugins: NonNullable<ForemanStartOptions['plugins']>): Promise<void> {
    const { app, options } = this;
    if (this.tasks instanceof TaskManager) {
      const now = Date.now();
      this.fleet.adoptOrphans(this.tasks.load(now), now);
    }
    this.checkpoints.start();
    await this.typeLimits.load();
    await this.quorum.load();
    await this.dependencies.load();
    this.quorum.start();

    installErrorReplies(app, () => this.state === 'closed');
    // Before any route: the OpenAPI generator collects routes as they are added, and auth hooks must cover them all.
    this.edge = await installEdge(app, this);
    installStoreGuard(app, this.api.storeHealth);
    installNdjsonParser(app, options.maxNdjsonLineBytes);

    await app.register(websocket, {
      options: { maxPayload: options.maxFrameBytes },
      // A frame ws refuses (too large, malformed) is a protocol refusal the session reports and logs
      // in one line (refusal-log.ts); the plugin's default would log it as an error with a stack and
      // tear the socket down before ws's close frame leaves.
      errorHandler: (err: Error & { code?: string }, socket, req) => {
        if (err.code?.startsWith('WS_ERR_')) return;
        req.log.error({ err }, 'websocket handler failed');
        socket.terminate();
      },
    });
    app.get(WORKER_WS_PATH, { websocket: true }, (socket, req) => {
      if (this.state === 'closed') return socket.close(CLOSE_CODES.foremanShutdown, 'FOREMAN_SHUTDOWN');
      const address = req.socket.remoteAddress ?? 'unknown';
      const session = new Session(socket, address, this.edge.sessions, {
        maxProtocolErrors: options.maxProtocolErrors,
        helloTimeoutMs: options.helloTimeoutMs,
        maxMessagesPerSecond: options.maxMessagesPerSecond,
        maxFrameBytes: options.maxFrameBytes,
      }, req.socket);
      this.edge.sessions.admit(session);
    });
    this.clients = new ClientChannel(this.api, (code, address) => this.events.emit('protocolError', { code, workerId: null, address, closeCode: null }));
    this.clients.route(app);
    taskRoutes(app, this.api);
    jobRoutes(app, this.api);
    fleetRoutes(app, this.api);
    leaderboardRoutes(app, this.api);
    typeLimitsRoutes(app, this.typeLimits);
    scheduleRoutes(app, this.schedules);
    const workerAuth = this.edge.workerAuth;
    // With PostgreSQL the tokens are shared there; the in-memory SQLite holds this foreman's mirror, which hellos read.
    const tokens = this.pg ? await PgWorkerTokens.open(this.pg.db, new WorkerTokenStore(this.db), () => workerAuth.sweep()) : new WorkerTokenStore(this.db);
    tokenRoutes(app, { tokens, workerAuth });
    accessRoute(app, this.edge.credentials);
    foremenRoutes(app, this.api.foremen);
    await dashboardRoutes(app, this.api);
    const pg = this.pg;
    this.blobs = await installBlobs(app, {
      options,
      // With a PostgreSQL store the tasks are there; the SQLite file then holds none.
      referenced: pg ? () => referencedInPostgres(pg.db) : () => referencedInSqlite(this.db),
      credentials: this.edge.credentials,
      workerAuth: this.edge.workerAuth,
      fleet: this.fleet,
      reads: this.store,
    });
    for (const plugin of plugins) await plugin(app, this);

    const pingEvery = Math.max(1, Math.round(options.heartbeatIntervalMs / options.sweepIntervalMs));
    this.sweepTimer = setInterval(() => {
      this.fleet.sweep(Date.now(), this.sweeps++ % pingEvery === 0);
    }, options.sweepIntervalMs);
    this.sweepTimer.unref();
    this.retention.start();
    // With PostgreSQL, running tasks are loaded per worker as each one says hello (whichever foreman it ran them under).
    if (this.pg) await this.pg.start(this.fleet, () => this.url, (w, now) => workerView(w, now));
    await this.schedules.start();
    this.dispatcher.schedule();
  }

  /** The port actually bound (useful with port 0). */
  get port(): number {
    const addr = this.app.server.address();
    return typeof addr === 'object' && addr ? addr.port : this.options.port;
  }

  /** Base HTTP URL for clients on this machine. */
  get url(): string {
    const host = this.options.host === '0.0.0.0' || this.options.host === '::' ? '127.0.0.1' : this.options.host;
    return `${schemes(this.options).http}://${host.includes(':') ? `[${host}]` : host}:${this.port}`;
  }

  /** Stops dispatching new work; running tasks finish and their results are accepted. Idempotent. */
  drain(): void {
    if (this.state !== 'running') return;
    this.state = 'draining';
    this.dispatcher.pause();
  }

  /**
   * Stops everything: tells workers to reconnect later, stops the server,
   * commits what is pending and closes the database. Idempotent; every step
   * runs even if an earlier one fails.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.state = 'closed';
      this.dispatcher.pause();
      if (this.sweepTimer) clearInterval(this.sweepTimer);
      this.retention.stop();
      this.checkpoints.stop();
      this.quorum.stop();
      this.dependencies.stop();
      this.hotRouting.stop();
      this.typeLimits.stop();
      this.schedules.stop();
      this.tasks.close();
      const errors: unknown[] = [];
      try {
        this.fleet.closeAll(CLOSE_CODES.foremanShutdown, 'FOREMAN_SHUTDOWN');
        this.clients?.close();
      } catch (err) {
        errors.push(err);
      }
      try {
        await this.app.close();
      } catch (err) {
        errors.push(err);
      }
      try {
        this.commit.close();
        await this.commit.checkpointer?.close();
        this.db.close();
      } catch (err) {
        errors.push(err);
      }
      try {
        await this.pg?.close();
      } catch (err) {
        errors.push(err);
      }
      // Last: the file is free for another foreman only once this one has stopped writing it.
      this.lock.release();
      if (errors.length > 0) throw new AggregateError(errors, 'foreman close failed');
    })();
    return this.closing;
  }
}
