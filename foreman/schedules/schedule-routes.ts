/** `POST /schedules`, `GET /schedules[/:name]`, `DELETE /schedules/:name`: recurring schedules (schedules.ts). */
import type { FastifyInstance } from 'fastify';
import { apiError } from '../http/context.js';
import { doc, object } from '../http/openapi.js';
import { taskInputSchema, UNICODE_PATTERN } from '../http/schemas.js';
import type { TaskInput } from '../task-types.js';
import type { CatchUp, Schedules } from './schedules.js';

const nameSchema = { type: 'string', minLength: 1, maxLength: 200, pattern: UNICODE_PATTERN } as const;
const nameParams = { type: 'object', required: ['name'], properties: { name: nameSchema } } as const;

const { key: _key, quorum: _quorum, dependsOn: _deps, ...templateProperties } = taskInputSchema.properties;

const scheduleBody = {
  type: 'object',
  required: ['name', 'cron', 'task'],
  additionalProperties: false,
  properties: {
    name: nameSchema,
    cron: { type: 'string', minLength: 1, maxLength: 200, description: 'cron expression (croner): 5 fields, or 6 with seconds first' },
    timezone: { type: 'string', minLength: 1, maxLength: 100, description: 'IANA time zone the expression is read in; default the foreman\'s' },
    catchUp: { type: 'string', enum: ['once', 'skip'], default: 'once', description: 'ticks missed while the foreman was down: fire once on start (default), or skip them' },
    task: { ...taskInputSchema, properties: templateProperties, description: 'the task submitted at each tick (its key is set per tick)' },
  },
} as const;

const scheduleView = object({
  name: { type: 'string' },
  cron: { type: 'string' },
  timezone: { type: ['string', 'null'] },
  task: { type: 'object', additionalProperties: true },
  catchUp: { type: 'string', enum: ['once', 'skip'] },
  nextRunAt: { type: ['number', 'null'], description: 'the next tick, epoch ms (null: the expression has no more)' },
  lastFiredAt: { type: ['number', 'null'] },
  firings: { type: 'integer' },
  createdAt: { type: 'number' },
});

export function scheduleRoutes(app: FastifyInstance, schedules: Schedules): void {
  app.post<{ Body: { name: string; cron: string; timezone?: string; catchUp?: CatchUp; task: TaskInput } }>('/schedules', {
    schema: {
      ...doc({
        summary: 'Create or replace a recurring schedule',
        tag: 'tasks',
        operationId: 'putSchedule',
        description: 'Durable before the answer; the first tick is the next one from now. Each tick submits the task once, with the key schedule:NAME:TICK_MS.',
        responses: { 201: { description: 'created', ...scheduleView }, 200: { description: 'replaced', ...scheduleView } },
        errors: [400],
        write: true,
      }),
      body: scheduleBody,
    },
  }, async (req, reply) => {
    const b = req.body;
    const { created, schedule } = await schedules.put({ name: b.name, cron: b.cron, timezone: b.timezone ?? null, catchUp: b.catchUp ?? 'once', task: b.task });
    return reply.code(created ? 201 : 200).send(schedule);
  });

  app.get('/schedules', {
    schema: doc({ summary: 'List schedules', tag: 'tasks', operationId: 'listSchedules', responses: { 200: { description: 'every schedule, by name', ...object({ schedules: { type: 'array', items: scheduleView } }) } } }),
  }, async () => ({ schedules: await schedules.list() }));

  app.get<{ Params: { name: string } }>('/schedules/:name', {
    schema: {
      ...doc({ summary: 'Read a schedule', tag: 'tasks', operationId: 'getSchedule', responses: { 200: { description: 'the schedule', ...scheduleView } }, errors: [400, 404] }),
      params: nameParams,
    },
  }, async (req, reply) => (await schedules.get(req.params.name)) ?? reply.code(404).send(apiError(404, 'SCHEDULE_NOT_FOUND', `no schedule ${req.params.name}`, 'name')));

  app.delete<{ Params: { name: string } }>('/schedules/:name', {
    schema: {
      ...doc({ summary: 'Delete a schedule', tag: 'tasks', operationId: 'deleteSchedule', responses: { 200: { description: 'deleted; tasks it submitted stay', ...object({ name: { type: 'string' }, deleted: { type: 'boolean' } }) } }, errors: [400, 404], write: true }),
      params: nameParams,
    },
  }, async (req, reply) => ((await schedules.remove(req.params.name)) ? { name: req.params.name, deleted: true } : reply.code(404).send(apiError(404, 'SCHEDULE_NOT_FOUND', `no schedule ${req.params.name}`, 'name'))));
}
