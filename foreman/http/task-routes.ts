/** Routes for single tasks: submit, read, wait, list, cancel, retry (one, or every match of a filter). */
import type { FastifyInstance } from 'fastify';
import type { SearchOrder, TaskFilter } from '../store/task-search.js';
import type { TaskInput, TaskState } from '../task-types.js';
import { isSettled } from '../task-types.js';
import { apiError, type ApiContext } from './context.js';
import { doc, object, taskSchema, taskStateSchema } from './openapi.js';
import { idParams, listQuery, retryFilterBody, taskInputSchema, waitQuery } from './schemas.js';
import { TaskWaiters } from './task-waiters.js';
import { submitWithQuorum } from './quorum-submit.js';
import { taskView } from './views.js';

/** Longest and default long poll of `GET /tasks/:id/wait`, in ms: below common proxy idle timeouts. */
export const WAIT_MAX_MS = 120_000;
export const WAIT_DEFAULT_MS = 30_000;

type FilterStrings = { [K in keyof TaskFilter]?: string };

/** The filter of a query string or retry body (times arrive as strings of epoch ms). */
function toFilter(q: FilterStrings): TaskFilter {
  return {
    type: q.type,
    state: q.state as TaskState | undefined,
    status: q.status,
    workerId: q.workerId,
    key: q.key,
    jobId: q.jobId,
    code: q.code,
    createdAfter: q.createdAfter === undefined ? undefined : Number(q.createdAfter),
    createdBefore: q.createdBefore === undefined ? undefined : Number(q.createdBefore),
  };
}

export function taskRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const waiters = new TaskWaiters(ctx.events);
  // Before close waits for in-flight requests: a long poll answers with the state it has.
  app.addHook('preClose', async () => waiters.close());

  app.post<{ Body: TaskInput }>(
    '/tasks',
    {
      schema: {
        ...doc({
          summary: 'Submit a task',
          tag: 'tasks',
          operationId: 'submitTask',
          description: 'Answers once the task is durable. A known idempotency key (`key`, or the Idempotency-Key header) returns the first task.',
          responses: {
            202: { description: 'accepted: the task is durable', ...object({ id: { type: 'string' } }) },
            200: { description: 'a task with this key exists', ...object({ id: { type: 'string' }, duplicate: { type: 'boolean', enum: [true] } }) },
          },
          errors: [400, 409, 413, 415],
          write: true,
        }),
        body: taskInputSchema,
      },
    },
    async (req, reply) => {
      const input = { ...req.body };
      const headerKey = req.headers['idempotency-key'];
      if (typeof headerKey === 'string' && headerKey !== '') input.key ??= headerKey.slice(0, 200);
      if (input.key !== undefined) {
        const existing = await ctx.tasks.findTaskByKey(input.key, input, req.body.key === undefined ? 'headers/idempotency-key' : 'body/key');
        if (existing) return reply.code(200).send({ id: existing, duplicate: true });
      }
      const [id] = await submitWithQuorum(reply, () => ctx.dependencies.submit([input], (_i, name) => `body/${name}`, (inputs) => ctx.quorum.submit(inputs, null, undefined, 'body', () => (req.body.key === undefined ? 'headers/idempotency-key' : 'body/key'))), (field) => field.replace(/^body\/0\//, 'body/'));
      if (id === undefined) return reply;
      return reply.code(202).send({ id });
    },
  );

  const taskNotFound = [400, 404] as const;
  app.get<{ Params: { id: string } }>('/tasks/:id', {
    schema: {
      ...doc({ summary: 'Read a task', tag: 'tasks', operationId: 'getTask', responses: { 200: { description: 'the task with its attempts', ...taskSchema } }, errors: [...taskNotFound] }),
      params: idParams,
    },
  }, async (req, reply) => {
    const row = await ctx.store.getTask(req.params.id);
    if (!row) return reply.code(404).send(apiError(404, 'TASK_NOT_FOUND', `no task ${req.params.id}`, 'id'));
    await ctx.typeLimits.refresh();
    const quorum = await ctx.quorum.describe(row.id);
    return {
      ...taskView(ctx, row, await ctx.store.getAttempts(row.seq), (await ctx.dependencies.describe([row.id])).get(row.id)),
      checkpoint: await ctx.checkpoints.info(row.id),
      logs: await ctx.attemptLogs.forTask(row.id),
      ...(quorum ? { quorum } : {}),
    };
  });

  app.get<{ Params: { id: string }; Querystring: { timeoutMs?: string; progressSeen?: string } }>(
    '/tasks/:id/wait',
    {
      schema: {
        ...doc({
          summary: 'Wait for a task to settle (long poll)',
          tag: 'tasks',
          operationId: 'waitTask',
          description: 'Answers as soon as the task is settled (at once if it is), or with the task as it is after timeoutMs; with progressSeen, also when its progress fraction differs from that one.',
          responses: { 200: { description: 'the task: settled (with its attempts), or as it is at the deadline', ...taskSchema } },
          errors: [...taskNotFound],
        }),
        params: idParams,
        querystring: waitQuery,
      },
    },
    async (req, reply) => {
      const { id } = req.params;
      const timeoutMs = req.query.timeoutMs === undefined ? WAIT_DEFAULT_MS : Number(req.query.timeoutMs);
      if (timeoutMs > WAIT_MAX_MS) {
        return reply.code(400).send(apiError(400, 'INVALID_REQUEST', `querystring/timeoutMs must be at most ${WAIT_MAX_MS}`, 'querystring/timeoutMs'));
      }
      const seen = req.query.progressSeen === undefined ? null : Number(req.query.progressSeen);
      // Subscribe before reading: a settlement after the read wakes the waiter, one before it shows in the read.
      const done = new AbortController();
      reply.raw.once('close', () => done.abort());
      const waiting = timeoutMs > 0 ? waiters.wait(id, timeoutMs, { progress: seen !== null, signal: done.signal }) : null;
      const live = ctx.tasks.live.get(id);
      const row = await ctx.store.getTask(id);
      if (!live && !row) {
        done.abort();
        return reply.code(404).send(apiError(404, 'TASK_NOT_FOUND', `no task ${id}`, 'id'));
      }
      // Memory leads the store: a task not live is settled, or its settlement is about to be announced.
      const settledNow = !live && row !== null && isSettled(row.state);
      const progressMoved = seen !== null && live !== undefined && (live.progress?.fraction ?? -1) !== seen;
      if (settledNow || progressMoved) done.abort();
      await waiting;
      const after = settledNow ? row : await ctx.store.getTask(id);
      if (!after) return reply.code(404).send(apiError(404, 'TASK_NOT_FOUND', `no task ${id}`, 'id'));
      const settled = !ctx.tasks.live.has(id) && isSettled(after.state);
      if (!settled) await ctx.typeLimits.refresh();
      return taskView(ctx, after, settled ? await ctx.store.getAttempts(after.seq) : undefined, (await ctx.dependencies.describe([id])).get(id));
    },
  );

  app.get<{ Querystring: FilterStrings & { order?: SearchOrder; limit?: string; after?: string } }>(
    '/tasks',
    {
      schema: {
        ...doc({
          summary: 'Find tasks',
          tag: 'tasks',
          operationId: 'listTasks',
          description: 'One page of the tasks matching every filter given, in submission order (order=desc: newest first).',
          responses: {
            200: {
              description: 'a page of tasks; `next` is the cursor of the following page, null at the end',
              ...object({ tasks: { type: 'array', items: taskSchema }, next: { type: ['string', 'null'] } }),
            },
          },
          errors: [400],
        }),
        querystring: listQuery,
      },
    },
    async (req) => {
      const { order = 'asc', after } = req.query;
      const limit = req.query.limit ? Number(req.query.limit) : 100;
      const rows = await ctx.store.searchTasks(toFilter(req.query), after ? Number(after) : 0, limit, order);
      const next = rows.length === limit ? String(rows[rows.length - 1].seq) : null;
      const deps = await ctx.dependencies.describe(rows.map((r) => r.id));
      await ctx.typeLimits.refresh();
      return { tasks: rows.map((r) => taskView(ctx, r, undefined, deps.get(r.id))), next };
    },
  );

  app.post<{ Body: FilterStrings & { state?: 'failed' | 'cancelled' } }>(
    '/tasks/retry',
    {
      schema: {
        ...doc({
          summary: 'Retry every settled task matching a filter',
          tag: 'tasks',
          operationId: 'retryTasks',
          description: 'Requeues the failed (default: the dead-letter list) or cancelled tasks matching every filter given, with a fresh failure budget.',
          responses: { 202: { description: 'requeued', ...object({ requeued: { type: 'integer' } }) } },
          errors: [400, 415],
          write: true,
        }),
        body: retryFilterBody,
      },
    },
    async (req, reply) => {
      const requeued = await ctx.tasks.retryWhere({ ...toFilter(req.body), state: req.body.state ?? 'failed' });
      return reply.code(202).send({ requeued });
    },
  );

  app.post<{ Params: { id: string } }>('/tasks/:id/cancel', {
    schema: {
      ...doc({
        summary: 'Cancel a task',
        tag: 'tasks',
        operationId: 'cancelTask',
        description: 'A queued task is cancelled at once; a running one goes to cancelling and its worker is told to abort.',
        responses: { 200: { description: 'the state after', ...object({ id: { type: 'string' }, state: taskStateSchema }) } },
        errors: [...taskNotFound],
        write: true,
      }),
      params: idParams,
    },
  }, async (req, reply) => {
    const state = await ctx.tasks.cancel(req.params.id);
    if (state === null) return reply.code(404).send(apiError(404, 'TASK_NOT_FOUND', `no task ${req.params.id}`, 'id'));
    return { id: req.params.id, state };
  });

  app.post<{ Params: { id: string } }>('/tasks/:id/retry', {
    schema: {
      ...doc({
        summary: 'Retry a failed or cancelled task',
        tag: 'tasks',
        operationId: 'retryTask',
        responses: { 202: { description: 'queued again with a fresh failure budget', ...object({ id: { type: 'string' }, state: { type: 'string', enum: ['queued'] } }) } },
        errors: [...taskNotFound, 409],
        write: true,
      }),
      params: idParams,
    },
  }, async (req, reply) => {
    // Retried as it is, a quorum task would run once, as a plain task, with nobody checking it.
    if (await ctx.quorum.isParent(req.params.id)) return reply.code(409).send(apiError(409, 'TASK_NOT_RETRYABLE', 'a quorum task cannot be retried; submit it again', 'id'));
    const state = await ctx.tasks.retry(req.params.id);
    if (state === null) return reply.code(404).send(apiError(404, 'TASK_NOT_FOUND', `no task ${req.params.id}`, 'id'));
    if (state !== 'queued') {
      return reply.code(409).send(apiError(409, 'TASK_NOT_RETRYABLE', `task is ${state}; only failed or cancelled tasks can be retried`, 'id'));
    }
    return reply.code(202).send({ id: req.params.id, state });
  });
}
