/** Routes for jobs: bulk submit (JSON or NDJSON), progress, result stream, cancel, close, retry. */
import { PassThrough } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { newTimeOrderedId } from '../../shared/ids.js';
import { LedgerError } from '../ledger-error.js';
import type { SettledTask } from '../task-manager.js';
import type { TaskInput } from '../task-types.js';
import { apiError, type ApiContext } from './context.js';
import { idParams, jobBodySchema, jobTaskInputSchema, resultsQuery } from './schemas.js';
import { doc, jobSchema, object, resultLineSchema } from './openapi.js';
import { documentNdjsonItems, MAX_JOB_BODY_BYTES, NdjsonTaskList, ndjsonTasksSchema } from './ndjson.js';
import { jobView } from './views.js';
import { checkMergeable } from '../job-params.js';
import { submitWithQuorum } from './quorum-submit.js';

type JobBody = TaskInput[] | { tasks: TaskInput[]; open?: boolean; key?: string; params?: Record<string, unknown>; quorum?: unknown };

function resultLine(t: Pick<SettledTask, 'id' | 'key' | 'type' | 'state' | 'status' | 'result' | 'error' | 'attempt' | 'workerId'>): string {
  return `${JSON.stringify({ id: t.id, key: t.key, type: t.type, state: t.state, status: t.status ?? t.state, result: t.result, error: t.error, attempt: t.attempt, workerId: t.workerId })}\n`;
}

/** The Idempotency-Key header (its first 200 characters), or null. */
function headerKey(headers: FastifyRequest['headers']): string | null {
  const key = headers['idempotency-key'];
  return typeof key === 'string' && key !== '' ? key.slice(0, 200) : null;
}

/**
 * Creates a job under `key` with `create` (which answers null when it has already replied); a known
 * key answers 200 with the existing job instead.
 */
async function submitJob(
  ctx: ApiContext,
  key: string | null,
  reply: FastifyReply,
  create: (jobId: string) => Promise<{ jobId: string; count: number; taskIds?: string[] } | null>,
): Promise<FastifyReply> {
  const duplicate = async (jobId: string) => reply.code(200).send({ jobId, count: (await ctx.tasks.getJob(jobId))?.total ?? 0, duplicate: true });
  if (key) {
    const existing = await ctx.store.getJobByKey(key);
    if (existing) return duplicate(existing.id);
  }
  try {
    const created = await create(newTimeOrderedId('j_'));
    return created === null ? reply : reply.code(202).send(created);
  } catch (err) {
    if (err instanceof LedgerError) throw err;
    // Two requests with the same key raced: the loser's insert hit the unique index; answer as a duplicate.
    const winner = key ? await ctx.store.getJobByKey(key) : null;
    if (!winner) throw err;
    return duplicate(winner.id);
  }
}

/** A big NDJSON body of plain tasks (ndjson.ts): the job is written a slice at a time as the body is parsed again. */
function importNdjson(ctx: ApiContext, headers: FastifyRequest['headers'], list: NdjsonTaskList, reply: FastifyReply): Promise<FastifyReply> {
  const key = headerKey(headers);
  return submitJob(ctx, key, reply, async (jobId) => ({ jobId, count: await ctx.tasks.importJob(list, jobId, { key, open: false, params: null }) }));
}

export function jobRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.post<{ Body: JobBody }>(
    '/jobs',
    {
      bodyLimit: MAX_JOB_BODY_BYTES,
      // Validated without the item schema (each line is checked while parsing), documented with it.
      config: { swaggerTransform: documentNdjsonItems, ndjsonTaskList: true },
      schema: {
        ...doc({
          summary: 'Submit a job of tasks (JSON or NDJSON)',
          tag: 'jobs',
          operationId: 'submitJob',
          description:
            'Answers once every task is durable. The body is a JSON array of tasks, `{tasks, open?, key?}`, or NDJSON (one task per line, up to 256 MiB). A known job key (`key`, or the Idempotency-Key header) returns the first job.',
          responses: {
            202: {
              description: 'accepted: the job and its tasks are durable; `taskIds` in order, for jobs of up to 1,000 tasks',
              ...object({ jobId: { type: 'string' }, count: { type: 'integer' }, taskIds: { type: 'array', items: { type: 'string' } } }, ['taskIds']),
            },
            200: { description: 'a job with this key exists', ...object({ jobId: { type: 'string' }, count: { type: 'integer' }, duplicate: { type: 'boolean', enum: [true] } }) },
          },
          errors: [400, 409, 413, 415],
          write: true,
        }),
        body: {
          content: {
            'application/json': { schema: jobBodySchema },
            'application/x-ndjson': { schema: ndjsonTasksSchema },
          },
        },
      },
    },
    async (req, reply) => {
      const body = req.body;
      if (body instanceof NdjsonTaskList) return importNdjson(ctx, req.headers, body, reply);
      const tasks = Array.isArray(body) ? body : body.tasks;
      const open = Array.isArray(body) ? false : (body.open ?? false);
      const params = Array.isArray(body) ? null : (body.params ?? null);
      const unmergeable = params ? checkMergeable(tasks, 'body/tasks') : null;
      if (unmergeable) return reply.code(400).send(apiError(400, 'INVALID_REQUEST', 'with job params, each task\'s params must be an object (or absent)', unmergeable));
      const key = (Array.isArray(body) ? undefined : body.key) ?? headerKey(req.headers);
      const quorum = Array.isArray(body) ? undefined : body.quorum;
      return submitJob(ctx, key, reply, async (jobId) => {
        const ids = await submitWithQuorum(reply, () => ctx.dependencies.submit(tasks, (i, name) => `${Array.isArray(body) ? 'body' : 'body/tasks'}/${i}/${name}`, (inputs) => ctx.quorum.submit(inputs, jobId, { key, open, params, quorum }, Array.isArray(body) ? 'body' : 'body/tasks', Array.isArray(body) ? undefined : (i) => `body/tasks/${i}/key`), jobId));
        return ids.length === 0 ? null : { jobId, count: ids.length, taskIds: ids.length <= 1000 ? ids : undefined };
      });
    },
  );

  app.post<{ Params: { id: string }; Body: TaskInput[] }>(
    '/jobs/:id/tasks',
    {
      bodyLimit: MAX_JOB_BODY_BYTES,
      schema: {
        ...doc({
          summary: 'Add tasks to an open job',
          tag: 'jobs',
          operationId: 'addJobTasks',
          responses: {
            202: { description: 'accepted: the tasks are durable', ...object({ jobId: { type: 'string' }, count: { type: 'integer' }, taskIds: { type: 'array', items: { type: 'string' } } }) },
          },
          errors: [400, 404, 409, 413, 415],
          write: true,
        }),
        params: idParams,
        body: { type: 'array', items: jobTaskInputSchema, minItems: 1 },
      },
    },
    async (req, reply) => {
      const job = await ctx.tasks.getJobHead(req.params.id);
      if (!job) return reply.code(404).send(apiError(404, 'JOB_NOT_FOUND', `no job ${req.params.id}`, 'id'));
      const unmergeable = job.params ? checkMergeable(req.body, 'body') : null;
      if (unmergeable) return reply.code(400).send(apiError(400, 'INVALID_REQUEST', 'with job params, each task\'s params must be an object (or absent)', unmergeable));
      const ids = await submitWithQuorum(reply, () => ctx.dependencies.submit(req.body, (i, name) => `body/${i}/${name}`, (inputs) => ctx.quorum.submit(inputs, job.id, undefined, 'body'), job.id));
      if (ids.length === 0) return reply;
      return reply.code(202).send({ jobId: job.id, count: ids.length, taskIds: ids });
    },
  );

  const jobView200 = { description: 'the job with its counts', ...jobSchema };
  app.get<{ Params: { id: string } }>('/jobs/:id', {
    schema: { ...doc({ summary: 'Read a job', tag: 'jobs', operationId: 'getJob', responses: { 200: jobView200 }, errors: [400, 404] }), params: idParams },
  }, async (req, reply) => {
    const job = await ctx.tasks.getJob(req.params.id);
    if (!job) return reply.code(404).send(apiError(404, 'JOB_NOT_FOUND', `no job ${req.params.id}`, 'id'));
    return jobView(ctx, job);
  });

  app.get('/jobs', {
    schema: doc({ summary: 'List the latest jobs', tag: 'jobs', operationId: 'listJobs', responses: { 200: { description: 'the latest 200 jobs, newest first', ...object({ jobs: { type: 'array', items: jobSchema } }) } } }),
  }, async () => ({ jobs: (await ctx.tasks.recentJobs(200)).map((j) => jobView(ctx, j)) }));

  app.get<{ Params: { id: string }; Querystring: { follow?: 'true' | 'false' } }>('/jobs/:id/results', {
    schema: {
      ...doc({
        summary: "Stream a job's results (NDJSON)",
        tag: 'jobs',
        operationId: 'streamJobResults',
        description: 'Every settled task, then each one as it settles, one JSON object per line; the response ends when the job is complete (with follow=false: right after the tasks settled so far).',
        responses: { 200: { description: 'one line per settled task', content: { 'application/x-ndjson': { schema: resultLineSchema } } } },
        errors: [400, 404],
      }),
      params: idParams,
      querystring: resultsQuery,
    },
  }, async (req, reply) => {
    const job = await ctx.tasks.getJob(req.params.id);
    if (!job) return reply.code(404).send(apiError(404, 'JOB_NOT_FOUND', `no job ${req.params.id}`, 'id'));
    const out = new PassThrough();
    // Tasks already written, by id and attempt: a settled event that races the initial read (or arrives
    // from another foreman as well as from the store) is written once.
    const written = new Set<string>();
    const tasksWritten = new Set<string>();
    const write = (t: Parameters<typeof resultLine>[0]) => {
      const mark = `${t.id}:${t.attempt}`;
      if (written.has(mark)) return;
      written.add(mark);
      tasksWritten.add(t.id);
      out.write(resultLine(t));
    };
    let reading = true;
    const early: SettledTask[] = [];
    const onSettled = (t: SettledTask) => {
      if (t.jobId !== job.id && !t.alsoJobs?.includes(job.id)) return;
      if (reading) early.push(t);
      else write(t);
      endIfComplete();
    };
    const onJob = (id: string) => id === job.id && endIfComplete();
    let ended = false;
    const stop = () => {
      ended = true;
      ctx.events.off('settled', onSettled);
      ctx.events.off('job', onJob);
    };
    // One completion check at a time; a check asked for meanwhile runs after it (the job is re-read:
    // on PostgreSQL other foremen settle its tasks too).
    let checking = false;
    let again = false;
    const endIfComplete = (): void => {
      if (ended || reading) return;
      if (checking) {
        again = true;
        return;
      }
      checking = true;
      void (async () => {
        try {
          do {
            again = false;
            // An open job is not complete, whatever has settled: known without counting its tasks
            // (PostgreSQL counts every task of the job; one check per settlement of a long open job).
            const head = await ctx.tasks.getJobHead(job.id);
            if (ended) return;
            if (head && head.closedAt === null) continue;
            const now = await ctx.tasks.getJob(job.id);
            if (ended) return;
            if (!now || ctx.tasks.isJobComplete(now)) {
              // Complete, but fewer tasks written than settled: an announcement was lost (a foreman
              // died between its commit and its notification). The store has them: write what is missing.
              if (now && tasksWritten.size < now.settledDurable) {
                for (const row of await ctx.store.settledOfJob(job.id)) {
                  if (!tasksWritten.has(row.id)) write({ ...row, state: row.state as SettledTask['state'] });
                }
              }
              if (ended) return;
              stop();
              out.end();
              return;
            }
          } while (again);
        } catch (err) {
          stop();
          out.destroy(err as Error);
        } finally {
          checking = false;
        }
      })();
    };
    // Subscribe before reading the settled rows: nothing announced meanwhile is missed, and what both
    // the read and an announcement carry is written once.
    ctx.events.on('settled', onSettled);
    ctx.events.on('job', onJob);
    req.raw.on('close', stop);
    for (const row of await ctx.store.settledOfJob(job.id)) write({ ...row, state: row.state as SettledTask['state'] });
    reading = false;
    for (const t of early.splice(0)) write(t);
    // follow=false: only what has settled so far, then the end (a snapshot, for `gaffer results` without --follow).
    if (req.query.follow === 'false') {
      stop();
      out.end();
    } else endIfComplete();
    return reply.type('application/x-ndjson').send(out);
  });

  app.post<{ Params: { id: string } }>('/jobs/:id/cancel', {
    schema: {
      ...doc({
        summary: 'Cancel every unsettled task of a job',
        tag: 'jobs',
        operationId: 'cancelJob',
        responses: { 200: { description: 'how many tasks were cancelled or told to stop', ...object({ jobId: { type: 'string' }, cancelled: { type: 'integer' } }) } },
        errors: [400, 404],
        write: true,
      }),
      params: idParams,
    },
  }, async (req, reply) => {
    const n = await ctx.tasks.cancelJob(req.params.id);
    if (n === null) return reply.code(404).send(apiError(404, 'JOB_NOT_FOUND', `no job ${req.params.id}`, 'id'));
    ctx.events.emit('job', req.params.id);
    return { jobId: req.params.id, cancelled: n };
  });

  app.post<{ Params: { id: string } }>('/jobs/:id/close', {
    schema: {
      ...doc({ summary: 'Close an open job', tag: 'jobs', operationId: 'closeJob', description: 'It takes no more tasks and completes once they settle.', responses: { 200: jobView200 }, errors: [400, 404], write: true }),
      params: idParams,
    },
  }, async (req, reply) => {
    const job = await ctx.tasks.closeJob(req.params.id);
    if (!job) return reply.code(404).send(apiError(404, 'JOB_NOT_FOUND', `no job ${req.params.id}`, 'id'));
    ctx.events.emit('job', job.id);
    return jobView(ctx, job);
  });

  app.post<{ Params: { id: string } }>('/jobs/:id/retry-failed', {
    schema: {
      ...doc({
        summary: 'Retry the failed tasks of a job',
        tag: 'jobs',
        operationId: 'retryJobFailed',
        responses: { 202: { description: 'requeued with a fresh failure budget', ...object({ jobId: { type: 'string' }, requeued: { type: 'integer' } }) } },
        errors: [400, 404],
        write: true,
      }),
      params: idParams,
    },
  }, async (req, reply) => {
    const n = await ctx.tasks.retryFailed(req.params.id);
    if (n === null) return reply.code(404).send(apiError(404, 'JOB_NOT_FOUND', `no job ${req.params.id}`, 'id'));
    return reply.code(202).send({ jobId: req.params.id, requeued: n });
  });
}
