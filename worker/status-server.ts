/**
 * The worker's own HTTP status server: what it runs, its counters, a restart
 * button, and a WebSocket of live updates for its dashboard.
 *
 * - `GET /` → status JSON, or the dashboard page for a browser (Accept: text/html)
 * - `GET /stats` → counters, throughput, CPU and memory
 * - `GET /health` → `{ ok, state, workerId }`
 * - `POST /restart?mode=graceful|hard` → 202, then restarts the session with the foreman
 * - `GET /ws` → a stream of `{ status, stats }` JSON messages
 * - `GET /dashboard/:file` → the dashboard's scripts and styles
 * - `GET /metrics` → Prometheus text (see metrics.ts)
 */
import websocket from '@fastify/websocket';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import { serveDashboardAssets, wantsHtml } from '../dashboard/assets.js';
import { workerDashboardHtml } from '../dashboard/worker-page.js';
import { bearerMatches } from './control-auth.js';
import { workerMetricsRoute } from './metrics.js';
import type { Worker } from './worker.js';

/** A running status server: its base URL, the Fastify app, and `close()`. */
export interface StatusServer {
  url: string;
  app: FastifyInstance;
  close(): Promise<void>;
}

type RestartMode = 'graceful' | 'hard';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
/** Whatever the task rate, live updates go out at most this often (ms), plus a steady tick for clocks and CPU. */
const UPDATE_COALESCE_MS = 250;
const STEADY_TICK_MS = 1000;

/** Pushes one `{ status, stats }` message to every open dashboard, coalescing bursts of worker events. */
class LiveUpdates {
  private readonly sockets = new Set<WebSocket>();
  private pending: NodeJS.Timeout | null = null;
  private tick: NodeJS.Timeout | null = null;
  private readonly onChange = () => {
    this.pending ??= setTimeout(() => {
      this.pending = null;
      this.push();
    }, UPDATE_COALESCE_MS);
  };

  constructor(
    private readonly worker: Worker,
    private readonly message: () => unknown,
  ) {}

  add(socket: WebSocket): void {
    if (this.sockets.size === 0) {
      this.worker.on('update', this.onChange);
      this.worker.on('state', this.onChange);
      this.tick = setInterval(() => this.push(), STEADY_TICK_MS);
    }
    this.sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => {
      this.sockets.delete(socket);
      if (this.sockets.size === 0) this.stop();
    });
    socket.send(JSON.stringify(this.message()));
  }

  stop(): void {
    this.worker.off('update', this.onChange);
    this.worker.off('state', this.onChange);
    if (this.tick) clearInterval(this.tick);
    if (this.pending) clearTimeout(this.pending);
    this.tick = this.pending = null;
  }

  private push(): void {
    // One snapshot and one serialisation for all viewers.
    const text = JSON.stringify(this.message());
    for (const s of this.sockets) if (s.readyState === s.OPEN) s.send(text);
  }
}

/**
 * Starts the status server on the worker's statusHost/statusPort and records its URL on the worker.
 * @param opts.fallbackToFreePort when the port is taken (a second worker on this machine), listen on a free
 *   port instead and log it; pass it when the port was not chosen explicitly. Default false.
 * @throws Error with code EADDRINUSE when the port is taken and there is no fallback.
 */
export async function startStatusServer(worker: Worker, opts: { fallbackToFreePort?: boolean } = {}): Promise<StatusServer> {
  const { statusHost, statusPort, controlToken } = worker.options;
  const app = Fastify({ loggerInstance: worker.log.child({ component: 'status' }) as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }) });
  await app.register(websocket);
  let restarting: RestartMode | null = null;
  const status = () => ({ ...worker.snapshot(), statusUrl: worker.statusUrl, restarting });
  const live = new LiveUpdates(worker, () => ({ status: status(), stats: worker.stats.snapshot() }));
  app.addHook('preClose', async () => live.stop());

  app.get('/', async (req, reply) => {
    if (wantsHtml(req.headers.accept)) return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(workerDashboardHtml());
    return status();
  });
  serveDashboardAssets(app);
  app.get('/stats', async () => worker.stats.snapshot());
  app.get('/health', async (_req, reply) => {
    // Readable from any origin: the foreman's dashboard probes it to know whether to link here.
    reply.header('access-control-allow-origin', '*');
    const ok = worker.state !== 'closed';
    return reply.code(ok ? 200 : 503).send({ ok, state: worker.state, workerId: worker.options.id });
  });
  app.post<{ Querystring: { mode?: RestartMode } }>(
    '/restart',
    { schema: { querystring: { type: 'object', additionalProperties: false, properties: { mode: { type: 'string', enum: ['graceful', 'hard'] } } } } },
    async (req, reply) => {
      // Off loopback, restarting needs the control token: anyone on the network could otherwise bounce the worker.
      if (!LOOPBACK.has(statusHost)) {
        if (!bearerMatches(req.headers.authorization, controlToken)) {
          return reply.code(401).send({ statusCode: 401, code: 'UNAUTHORIZED', message: 'POST /restart needs Authorization: Bearer <control token>' });
        }
      }
      if (worker.state === 'closed') return reply.code(409).send({ statusCode: 409, code: 'WORKER_CLOSED', message: 'the worker is shutting down' });
      if (restarting) {
        return reply.code(409).send({ statusCode: 409, code: 'RESTART_IN_PROGRESS', message: `a ${restarting} restart is already under way` });
      }
      const mode = req.query.mode ?? 'graceful';
      restarting = mode;
      // Cleared once the worker has registered again (or given up), so the page can show the restart under way.
      const done = () => {
        restarting = null;
        worker.off('state', onState);
      };
      const onState = (s: string) => (s === 'ready' || s === 'closed') && done();
      worker.restart(mode).then(
        () => worker.on('state', onState),
        (err: unknown) => {
          worker.log.error({ err }, 'restart failed');
          done();
        },
      );
      return reply.code(202).send({ restarting: true, mode });
    },
  );
  app.get('/ws', { websocket: true }, (socket) => live.add(socket));
  workerMetricsRoute(app, worker);

  try {
    await app.listen({ host: statusHost, port: statusPort });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || !opts.fallbackToFreePort) {
      await app.close();
      throw err;
    }
    await app.listen({ host: statusHost, port: 0 });
    worker.log.info({ wantedPort: statusPort }, `status port ${statusPort} is in use (another worker on this machine?); using a free port`);
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : statusPort;
  const url = `http://${statusHost.includes(':') ? `[${statusHost}]` : statusHost}:${port}`;
  worker.statusUrl = url;
  worker.log.info({ statusUrl: url }, 'status server listening');
  return { url, app, close: () => app.close() };
}
