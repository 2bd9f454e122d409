/** Routes for workers, health, stats and operations. */
import type { FastifyInstance } from 'fastify';
import { TASK_STATES } from '../task-types.js';
import { retryAfterSeconds } from './store-guard.js';
import { apiError, type ApiContext } from './context.js';
import { idParams, restartQuery } from './schemas.js';
import { doc, object, workerSchema } from './openapi.js';
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
    // Fleet-wide limits per type (PUT /types/:type/limits) and handler pauses, with what runs and what holds now.
    typeLimits: ctx.typeLimits.describe(now),
    dispatching: !ctx.dispatcher.isPaused,
    uptimeMs: now - ctx.startedAt,
  };
}

const healthSchema = object({
  ok: { type: 'boolean' },
  store: { type: 'string', enum: ['writable', 'unavailable'] },
  dispatching: { type: 'boolean' },
  uptimeMs: { type: 'number' },
});

const statsSchema = object({
  tasks: { type: 'object', additionalProperties: { type: 'integer' }, description: 'tasks by state' },
  workers: { type: 'object', additionalProperties: { type: 'integer' }, description: 'workers by state' },
  slots: object({ capacity: { type: 'integer' }, inUse: { type: 'integer' } }),
  queue: object({
    depth: { type: 'integer' },
    spilled: { type: 'integer', description: 'queued tasks held only in the store (past hotQueueMax)' },
    byType: { type: 'object', additionalProperties: object({ depth: { type: 'integer' }, workersWithSkill: { type: 'integer' } }) },
    byPriority: { type: 'object', additionalProperties: { type: 'integer' } },
    oldestQueuedAgeMs: { type: ['number', 'null'] },
  }),
  jobs: { type: 'integer' },
  dispatching: { type: 'boolean' },
  uptimeMs: { type: 'number' },
});

/**
 * This foreman's workers (each with its `foremanId` when there are several foremen) and `others`, the
 * workers other foremen published, less any of them connected here now (it failed over to us).
 */
export function wholeFleet(ctx: ApiContext, now: number, others: Array<Record<string, unknown>>) {
  const own = [...ctx.fleet.workers.values()].map((w) => (ctx.foremanId ? { ...workerView(w, now), foremanId: ctx.foremanId } : workerView(w, now)));
  return [...own, ...others.filter((o) => !ctx.fleet.workers.get(o.id as string)?.session)] as Array<ReturnType<typeof workerView> & { foremanId?: string }>;
}

export function fleetRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/workers', {
    schema: doc({
      summary: 'List workers',
      tag: 'workers',
      operationId: 'listWorkers',
      description: 'Every worker the foreman knows: connected ones and, for a while, those gone offline. With several foremen (PostgreSQL), also the workers connected to the others (as they published them, at most a second old), each with its `foremanId`.',
      responses: { 200: { description: 'the workers', ...object({ workers: { type: 'array', items: workerSchema } }) } },
    }),
  }, async () => ({ workers: wholeFleet(ctx, Date.now(), ctx.otherWorkers ? await ctx.otherWorkers() : []) }));

  const commandDocs = {
    restart: { summary: 'Tell a worker to restart its session', operationId: 'restartWorker', description: 'graceful drains first; hard aborts its tasks and hands them back.' },
    drain: { summary: 'Tell a worker to drain', operationId: 'drainWorker', description: 'It takes no new tasks and finishes those it runs.' },
    undrain: { summary: 'Tell a draining worker to take work again', operationId: 'undrainWorker', description: 'Ends a drain: the worker keeps what it runs and takes new tasks (no-op for a worker not draining).' },
  } as const;
  for (const command of ['restart', 'drain', 'undrain'] as const) {
    app.post<{ Params: { id: string }; Querystring: { mode: 'graceful' | 'hard' } }>(
      `/workers/:id/${command}`,
      {
        schema: {
          ...doc({
            ...commandDocs[command],
            tag: 'workers',
            responses: { 202: { description: 'the command was pushed to the worker', ...object({ workerId: { type: 'string' }, command: { type: 'string', enum: [command] } }) } },
            errors: [400, 404],
            write: true,
          }),
          params: idParams,
          querystring: restartQuery,
        },
      },
      async (req, reply) => {
        const sent = ctx.fleet.command(req.params.id, command, command === 'restart' ? req.query.mode : undefined);
        if (!sent) return reply.code(404).send(apiError(404, 'WORKER_NOT_CONNECTED', `worker ${req.params.id} is not connected`, 'id'));
        return reply.code(202).send({ workerId: req.params.id, command });
      },
    );
  }

  // 503 while the store cannot write: a load balancer or supervisor should see that, not "ok".
  app.get('/health', {
    schema: doc({
      summary: 'Health of the foreman',
      tag: 'operations',
      operationId: 'getHealth',
      description: 'Needs no token. 503 while the store cannot write.',
      responses: { 200: { description: 'serving, store writable', ...healthSchema }, 503: { description: 'the store cannot write now; see Retry-After', ...healthSchema } },
      public: true,
    }),
  }, async (_req, reply) => {
    const store = ctx.storeHealth();
    const body = { ok: store.state === 'writable', store: store.state, dispatching: !ctx.dispatcher.isPaused, uptimeMs: Date.now() - ctx.startedAt };
    if (store.state !== 'writable') reply.code(503).header('retry-after', retryAfterSeconds(store.retryInMs));
    return body;
  });

  app.get('/stats', {
    schema: doc({ summary: 'Counts of tasks, workers, slots and queues', tag: 'operations', operationId: 'getStats', responses: { 200: { description: 'the counts now', ...statsSchema } } }),
  }, async () => {
    await ctx.typeLimits.refresh();
    return stats(ctx);
  });

  app.post('/ops/drain', {
    schema: doc({
      summary: 'Stop all dispatch',
      tag: 'operations',
      operationId: 'pauseDispatch',
      description: 'Running tasks finish and their results are accepted; nothing new is assigned until resume.',
      responses: { 200: { description: 'dispatch stopped', ...object({ dispatching: { type: 'boolean' }, running: { type: 'integer' } }) } },
      write: true,
    }),
  }, async () => {
    ctx.dispatcher.pause();
    return { dispatching: false, running: ctx.tasks.counts.running + ctx.tasks.counts.cancelling };
  });

  app.post('/ops/resume', {
    schema: doc({ summary: 'Resume dispatch', tag: 'operations', operationId: 'resumeDispatch', responses: { 200: { description: 'dispatching again', ...object({ dispatching: { type: 'boolean' } }) } }, write: true }),
  }, async () => {
    ctx.dispatcher.resume();
    return { dispatching: true };
  });

  app.post('/ops/requeue-stale', {
    schema: doc({
      summary: 'Run the lease check now',
      tag: 'operations',
      operationId: 'requeueStale',
      description: 'Requeues the tasks of every silent or disconnected worker.',
      responses: { 200: { description: 'how many tasks went back to the queue', ...object({ requeued: { type: 'integer' } }) } },
      write: true,
    }),
  }, async () => ({ requeued: ctx.fleet.requeueStale(Date.now()) }));

  if (ctx.options.dev) {
    app.post('/ops/reset', {
      schema: doc({ summary: 'Delete every task and job (--dev only)', tag: 'operations', operationId: 'resetAll', responses: { 200: { description: 'everything deleted', ...object({ reset: { type: 'boolean' } }) } }, write: true }),
    }, async () => {
      await ctx.tasks.reset();
      return { reset: true };
    });
  }
}
