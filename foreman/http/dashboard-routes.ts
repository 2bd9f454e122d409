/**
 * The foreman dashboard: the page at `/`, its static files under
 * `/dashboard/`, and `/ws/dashboard`, which pushes one aggregated snapshot
 * per tick to every open page, however many tasks settle in between.
 */
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import { dashboardPage, serveDashboardAssets, wantsHtml } from '../../dashboard/assets.js';
import { JobRates, LiveMetrics } from '../live-metrics.js';
import type { ApiContext } from './context.js';
import { stats, wholeFleet } from './fleet-routes.js';
import { jobView } from './views.js';
import type { JobState } from '../task-tally.js';

/** How often open dashboards get a snapshot, in ms. */
export const DASHBOARD_TICK_MS = 500;
/** Jobs shown (the newest first). */
/** Workers shown in the dashboard's leaderboard panel. */
const LEADERBOARD_SHOWN = 10;
const JOBS_SHOWN = 20;
/** Running tasks listed per worker; the count is always exact. */
const TASKS_SHOWN_PER_WORKER = 8;
/** A socket with this much unsent data skips ticks: snapshots are whole states, so a slow page only loses frames. */
const MAX_BUFFERED_BYTES = 1024 * 1024;

/** The latest answer of a read the database answers (PostgreSQL), asked again each tick with one in flight: a tick never waits. */
class LatestAnswer<T> {
  private asking = false;
  constructor(
    private readonly read: () => Promise<T>,
    private value: T,
  ) {}

  get(): T {
    if (!this.asking) {
      this.asking = true;
      this.read().then(
        (v) => void (this.value = v),
        () => {},
      ).finally(() => (this.asking = false));
    }
    return this.value;
  }
}

/** Builds one dashboard snapshot; the cost of `stats()` sets how often that part is refreshed. */
class SnapshotBuilder {
  private readonly rates = new JobRates();
  private queueStats: ReturnType<typeof stats> | null = null;
  private queueStatsAt = 0;
  private recentJobs: JobState[] = [];
  private queueStatsEveryMs = DASHBOARD_TICK_MS;
  /** Workers connected to the other foremen (PostgreSQL), as they published them. */
  private readonly others: LatestAnswer<Array<Record<string, unknown>>>;
  private readonly foremen: LatestAnswer<Awaited<ReturnType<ApiContext['foremen']>>>;

  constructor(
    private readonly ctx: ApiContext,
    readonly metrics: LiveMetrics,
  ) {
    this.others = new LatestAnswer(ctx.otherWorkers ?? (async () => []), []);
    this.foremen = new LatestAnswer(ctx.foremen, []);
  }

  build(now: number) {
    const { ctx } = this;
    if (!this.queueStats || now - this.queueStatsAt >= this.queueStatsEveryMs) {
      const t0 = performance.now();
      this.queueStats = stats(ctx);
      // With several foremen the type limits' fleet counts come from the store: the next snapshot shows this read.
      void ctx.typeLimits.refresh();
      // stats() queries the store and walks workers × task types; on a big foreman that takes real
      // time, so it is refreshed less often as it gets dearer: never more than ~5% of the foreman's time.
      this.queueStatsEveryMs = Math.max(DASHBOARD_TICK_MS, (performance.now() - t0) * 20);
      this.queueStatsAt = now;
    }
    const fleet = wholeFleet(ctx, now, this.others.get()).map((view) => ({ ...view, running: view.running.slice(0, TASKS_SHOWN_PER_WORKER) }));
    const recent = ctx.tasks.recentJobs(JOBS_SHOWN);
    // A store that answers later (PostgreSQL) shows the jobs of its last answer meanwhile.
    if (Array.isArray(recent)) this.recentJobs = recent;
    else void recent.then((j) => (this.recentJobs = j), () => {});
    const jobs = this.recentJobs.map((j) => jobView(ctx, j));
    const rates = this.rates.sample(jobs, now);
    return {
      at: now,
      tickMs: DASHBOARD_TICK_MS,
      stats: this.queueStats,
      statsAgeMs: now - this.queueStatsAt,
      fleet,
      foremen: this.foremen.get(),
      jobs: jobs.map((j) => ({ ...j, ...rates.get(j.id), failuresByCode: this.metrics.failuresOf(j.id) })),
      series: this.metrics.series(),
      // The top of the leaderboard: one small indexed read per tick (on PostgreSQL, the previous tick's read).
      leaderboard: ctx.quorum.top(LEADERBOARD_SHOWN),
    };
  }
}

/** The snapshot pushed on `/ws/dashboard`. */
export type DashboardSnapshot = ReturnType<SnapshotBuilder['build']>;

/** Fan-out of snapshots to open dashboard sockets; ticks only while at least one is open. */
class DashboardHub {
  private readonly sockets = new Set<WebSocket>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly builder: SnapshotBuilder) {}

  add(socket: WebSocket): void {
    this.sockets.add(socket);
    socket.on('close', () => {
      this.sockets.delete(socket);
      if (this.sockets.size === 0) this.stop();
    });
    // Socket errors end in 'close'; listening here keeps them from being thrown as unhandled.
    socket.on('error', () => {});
    this.send(socket, JSON.stringify(this.builder.build(Date.now())));
    this.timer ??= setInterval(() => this.broadcast(), DASHBOARD_TICK_MS);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  closeAll(): void {
    this.stop();
    for (const s of this.sockets) s.close(1001, 'FOREMAN_SHUTDOWN');
    this.sockets.clear();
  }

  private broadcast(): void {
    // One JSON string for every page: the cost of a tick does not grow with the number of viewers.
    const message = JSON.stringify(this.builder.build(Date.now()));
    for (const s of this.sockets) this.send(s, message);
  }

  private send(socket: WebSocket, message: string): void {
    if (socket.readyState === socket.OPEN && socket.bufferedAmount < MAX_BUFFERED_BYTES) socket.send(message);
  }
}

/** Mounts the dashboard routes and starts the chart aggregates; both stop when the app closes. */
export async function dashboardRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const metrics = new LiveMetrics({
    workersOnline: () => {
      let n = 0;
      for (const w of ctx.fleet.workers.values()) if (w.session) n++;
      return n;
    },
  }).subscribe(ctx.events);
  // Closes each second even with no dashboard open and no task flowing, so "workers online" is sampled on time.
  const secondTimer = setInterval(() => metrics.tick(), 1000);
  secondTimer.unref();
  const hub = new DashboardHub(new SnapshotBuilder(ctx, metrics));
  app.addHook('preClose', async () => {
    clearInterval(secondTimer);
    metrics.unsubscribe();
    hub.closeAll();
  });

  // Pages and their socket are not API: `hide` keeps them out of the OpenAPI document.
  app.get('/', { schema: { hide: true } }, async (req, reply) => {
    if (wantsHtml(req.headers.accept)) return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(dashboardPage('foreman.html'));
    return { service: 'gaffer foreman', dashboard: '/ (with Accept: text/html)', live: '/ws/dashboard', health: '/health', stats: '/stats', workers: '/workers', jobs: '/jobs' };
  });
  serveDashboardAssets(app);
  app.get('/ws/dashboard', { websocket: true, schema: { hide: true } }, (socket) => hub.add(socket));
}
