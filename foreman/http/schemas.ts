/** JSON schemas of the HTTP API; Fastify validates with them and @fastify/swagger documents them. */
import { quorumSchema } from '../quorum/quorum-spec.js';

/**
 * Ids, types and keys must be valid Unicode: a lone UTF-16 surrogate (`"\ud800"` in JSON) cannot be
 * encoded as UTF-8 and would silently become U+FFFD on the wire, so a task of that type could never
 * reach a worker registered for it. U+FFFD itself is refused too: it is what invalid UTF-8 decodes to,
 * and the worker protocol refuses it in ids for that reason (shared/schema.ts).
 */
export const UNICODE_PATTERN = '^[^\\p{Cs}\\uFFFD]*$';

export const taskInputSchema = {
  type: 'object',
  required: ['type'],
  additionalProperties: false,
  properties: {
    type: { type: 'string', minLength: 1, maxLength: 200, pattern: UNICODE_PATTERN, description: 'handler name' },
    params: { description: 'any JSON value, passed to the handler' },
    priority: { type: 'integer', minimum: -1_000_000, maximum: 1_000_000, description: 'higher runs first; default 0' },
    maxAttempts: { type: 'integer', minimum: 1, maximum: 1000, description: 'handler failures allowed; default from the foreman' },
    timeoutMs: { type: 'integer', minimum: 1, maximum: 604_800_000, description: 'per attempt; the handler signal aborts at expiry' },
    key: { type: 'string', minLength: 1, maxLength: 200, pattern: UNICODE_PATTERN, description: 'idempotency key' },
    delayMs: { type: 'integer', minimum: 0, maximum: 31_536_000_000, description: 'delayed task: not dispatched until this many ms after submission (at most a year)' },
    runAt: {
      anyOf: [
        { type: 'integer', minimum: 0, maximum: 8_640_000_000_000_000 },
        { type: 'string', format: 'date-time' },
      ],
      description: 'delayed task: not dispatched before this time, epoch ms or ISO 8601 (with both delayMs and runAt, the later wins)',
    },
    dependsOn: {
      type: 'array',
      minItems: 1,
      maxItems: 1000,
      items: { type: 'string', minLength: 1, maxLength: 200, pattern: UNICODE_PATTERN },
      description: 'ids of existing tasks that must all succeed first; their results reach the handler in ctx.parents',
    },
    quorum: quorumSchema,
    points: { type: 'number', minimum: 0, maximum: 1_000_000, description: "points a worker earns for a result matching a quorum task's canonical one; default 1" },
  },
} as const;

/** A task of a job: it may also name parents by key within the job (foreman/dependencies/parent-plan.ts). */
export const jobTaskInputSchema = {
  ...taskInputSchema,
  properties: {
    ...taskInputSchema.properties,
    dependsOnKeys: {
      type: 'array',
      minItems: 1,
      maxItems: 1000,
      items: taskInputSchema.properties.key,
      description: 'idempotency keys of tasks of this job (earlier in this request, or added before) that must all succeed first; as dependsOn',
    },
  },
} as const;

export const jobBodySchema = {
  anyOf: [
    { type: 'array', items: jobTaskInputSchema, minItems: 1 },
    {
      type: 'object',
      required: ['tasks'],
      additionalProperties: false,
      properties: {
        tasks: { type: 'array', items: jobTaskInputSchema, minItems: 1 },
        open: { type: 'boolean', description: 'keep accepting tasks until POST /jobs/:id/close' },
        quorum: { ...quorumSchema, description: 'the quorum of every task of this request that gives none of its own' },
        params: { type: 'object', description: "params shared by every task of the job (e.g. a code task's source), stored once and merged under each task's own params; tasks' params must then be objects" },
        key: { type: 'string', minLength: 1, maxLength: 200, pattern: UNICODE_PATTERN },
      },
    },
  ],
} as const;

export const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 200, pattern: UNICODE_PATTERN } },
} as const;

const taskStateSchema = { type: 'string', enum: ['queued', 'running', 'cancelling', 'succeeded', 'failed', 'cancelled'] } as const;
const epochMs = { type: 'string', pattern: '^[0-9]{1,15}$' } as const;

/** Filters shared by `GET /tasks` (query string) and `POST /tasks/retry` (body): every one given must match. */
const taskFilterProperties = {
  type: { type: 'string', minLength: 1, maxLength: 200, pattern: UNICODE_PATTERN, description: 'task type' },
  state: taskStateSchema,
  status: { type: 'string', minLength: 1, maxLength: 200, pattern: UNICODE_PATTERN, description: 'the status a handler returned (e.g. needs_review)' },
  workerId: { type: 'string', minLength: 1, maxLength: 200, pattern: UNICODE_PATTERN, description: 'a worker that ran any attempt of the task' },
  key: { type: 'string', minLength: 1, maxLength: 200, pattern: UNICODE_PATTERN, description: 'idempotency key' },
  jobId: { type: 'string', minLength: 1, maxLength: 200, pattern: UNICODE_PATTERN },
  code: { type: 'string', minLength: 1, maxLength: 200, pattern: UNICODE_PATTERN, description: 'error code of the last failure (e.g. TIMEOUT)' },
  createdAfter: { ...epochMs, description: 'created at or after this time, epoch ms' },
  createdBefore: { ...epochMs, description: 'created before this time, epoch ms' },
} as const;

export const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...taskFilterProperties,
    order: { type: 'string', enum: ['asc', 'desc'], default: 'asc', description: 'submission order; desc is newest first' },
    limit: { type: 'string', pattern: '^([1-9][0-9]{0,2}|1000)$', description: 'page size, 1 to 1000; default 100' },
    after: { type: 'string', pattern: '^[0-9]{1,16}$', description: 'cursor: `next` from the previous page (same order)' },
  },
} as const;

/** Body of `POST /tasks/retry`: which settled tasks to requeue. */
export const retryFilterBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...taskFilterProperties,
    state: { type: 'string', enum: ['failed', 'cancelled'], default: 'failed', description: 'failed (the dead-letter list, default) or cancelled' },
  },
} as const;

export const waitQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    timeoutMs: { type: 'string', pattern: '^[0-9]{1,6}$', description: 'longest wait, in ms, 0 to 120000; default 30000' },
    progressSeen: {
      type: 'string',
      pattern: '^-?[0-9][0-9.eE+-]{0,30}$',
      description: 'also answer when the progress fraction differs from this one (-1: none seen yet)',
    },
  },
} as const;

export const resultsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { follow: { type: 'string', enum: ['true', 'false'], default: 'true', description: 'false: only the tasks settled so far, then the stream ends' } },
} as const;

export const restartQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { mode: { type: 'string', enum: ['graceful', 'hard'], default: 'graceful' } },
} as const;
