/** Routes for workers, health, stats and operations. */
import type { FastifyInstance } from 'fastify';
import { TASK_STATES } from '../task-types.js';
import { retryAfterSeconds } from './store-guard.js';
import { apiError, type ApiContext } from './context.js';
import { idParams, restartQuery } from './schemas.js';
import { workerView } from './views.js';

export function stats(ctx: ApiContext) {
  const now = Date.now();
  const workers = { active: 0, draining: 0, stale: 0, offline: 0 };
  let capacity = 0;
  let slotsInUse = 0;
  for (const w of ctx.fleet.workers.values()) {
    workers[w.state]++;
    if (w.session) {
      capacity += w.capacity;
      slotsInUse += w.running.size;
    }
  }
  const byType: Record<string, { depth: number; workersWithSkill: number }> = {};
  for (const [type, depth] of ctx.tasks.queues.countsByType()) {
    let n = 0;
    for (const w of ctx.fleet.workers.values()) if (w.session && w.skills.has(type)) n++;
    byType[type] = { depth, workersWithSkill: n };
  }
  const oldest = ctx.store.oldestQueued();
  return {
    tasks: Object.fromEntries(TASK_STATES.map((s) => [s, ctx.tasks.counts[s]])),
    workers,
    slots: { capacity, inUse: slotsInUse },
    queue: {
      depth: ctx.tasks.queues.size,
      // Queued tasks past --hot-queue-max: counted in depth, held only in the store until paged in.
      spilled: ctx.tasks.queues.coldSize,
      byType,
      byPriority: Object.fromEntries([...ctx.tasks.queues.countsByPriority()].map(([p, n]) => [String(p), n])),
      oldestQueuedAgeMs: oldest === null ? null : now - oldest,
    },
    jobs: ctx.tasks.jobCount,
    dispatching: !ctx.dispatcher.isPaused,
    uptimeMs: now - ctx.startedAt,
  };
}

export function fleetRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/workers', async () => {
    const now = Date.now();
    return { workers: [...ctx.fleet.workers.values()].map((w) => workerView(w, now)) };
  });

  for (const command of ['restart', 'drain'] as const) {
    app.post<{ Params: { id: string }; Querystring: { mode: 'graceful' | 'hard' } }>(
      `/workers/:id/${command}`,
      { schema: { params: idParams, querystring: restartQuery } },
      async (req, reply) => {
        const sent = ctx.fleet.command(req.params.id, command, command === 'restart' ? req.query.mode : undefined);
        if (!sent) return reply.code(404).send(apiError(404, 'WORKER_NOT_CONNECTED', `worker ${req.params.id} is not connected`, 'id'));
        return reply.code(202).send({ workerId: req.params.id, command });
      },
    );
  }

  // 503 while the store cannot write: a load balancer or supervisor should see that, not "ok".
  app.get('/health', async (_req, reply) => {
    const store = ctx.storeHealth();
    const body = { ok: store.state === 'writable', store: store.state, dispatching: !ctx.dispatcher.isPaused, uptimeMs: Date.now() - ctx.startedAt };
    if (store.state !== 'writable') reply.code(503).header('retry-after', retryAfterSeconds(store.retryInMs));
    return body;
  });

  app.get('/stats', async () => stats(ctx));

  app.post('/ops/drain', async () => {
    ctx.dispatcher.pause();
    return { dispatching: false, running: ctx.tasks.counts.running + ctx.tasks.counts.cancelling };
  });

  app.post('/ops/resume', async () => {
    ctx.dispatcher.resume();
    return { dispatching: true };
  });

  app.post('/ops/requeue-stale', async () => ({ requeued: ctx.fleet.requeueStale(Date.now()) }));

  if (ctx.options.dev) {
    app.post('/ops/reset', async () => {
      await ctx.tasks.reset();
      return { reset: true };
    });
  }
}
