/** Routes for single tasks: submit, read, list, cancel, retry. */
import type { FastifyInstance } from 'fastify';
import type { TaskInput, TaskState } from '../task-types.js';
import { apiError, type ApiContext } from './context.js';
import { idParams, listQuery, taskInputSchema } from './schemas.js';
import { taskView } from './views.js';

export function taskRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.post<{ Body: TaskInput }>(
    '/tasks',
    { schema: { body: taskInputSchema } },
    async (req, reply) => {
      const input = { ...req.body };
      const headerKey = req.headers['idempotency-key'];
      if (typeof headerKey === 'string' && headerKey !== '') input.key ??= headerKey.slice(0, 200);
      if (input.key !== undefined) {
        const existing = await ctx.tasks.findTaskByKey(input.key);
        if (existing) return reply.code(200).send({ id: existing, duplicate: true });
      }
      const [id] = await ctx.tasks.submit([input], null);
      return reply.code(202).send({ id });
    },
  );

  app.get<{ Params: { id: string } }>('/tasks/:id', { schema: { params: idParams } }, async (req, reply) => {
    const row = await ctx.store.getTask(req.params.id);
    if (!row) return reply.code(404).send(apiError(404, 'TASK_NOT_FOUND', `no task ${req.params.id}`, 'id'));
    return { ...taskView(ctx, row, await ctx.store.getAttempts(row.seq)), checkpoint: ctx.checkpoints.info(row.id) };
  });

  app.get<{ Querystring: { state?: TaskState; jobId?: string; limit?: string; after?: string } }>(
    '/tasks',
    { schema: { querystring: listQuery } },
    async (req) => {
      const { state, jobId, after } = req.query;
      const limit = req.query.limit ? Number(req.query.limit) : 100;
      const rows = await ctx.store.listTasks({ state, jobId }, after ? Number(after) : 0, limit);
      const next = rows.length === limit ? String(rows[rows.length - 1].seq) : null;
      return { tasks: rows.map((r) => taskView(ctx, r)), next };
    },
  );

  app.post<{ Params: { id: string } }>('/tasks/:id/cancel', { schema: { params: idParams } }, async (req, reply) => {
    const state = await ctx.tasks.cancel(req.params.id);
    if (state === null) return reply.code(404).send(apiError(404, 'TASK_NOT_FOUND', `no task ${req.params.id}`, 'id'));
    return { id: req.params.id, state };
  });

  app.post<{ Params: { id: string } }>('/tasks/:id/retry', { schema: { params: idParams } }, async (req, reply) => {
    const state = await ctx.tasks.retry(req.params.id);
    if (state === null) return reply.code(404).send(apiError(404, 'TASK_NOT_FOUND', `no task ${req.params.id}`, 'id'));
    if (state !== 'queued') {
      return reply.code(409).send(apiError(409, 'TASK_NOT_RETRYABLE', `task is ${state}; only failed or cancelled tasks can be retried`, 'id'));
    }
    return reply.code(202).send({ id: req.params.id, state });
  });
}
