/**
 * What each route tells the OpenAPI document: a summary, a tag, an
 * operationId, and its responses with their real status codes and schemas.
 * Fastify serializes replies with these response schemas, so the document
 * cannot drift from what a route sends; objects allow additional properties,
 * so a field added to a view is sent (and should be added here too).
 * test/integration/openapi.test.ts walks every route and checks both.
 */
import { API_ERRORS } from '../../shared/errors.js';

/** Tags, in the order the docs list them. */
export const TAGS = [
  { name: 'tasks', description: 'Submit one task, read it, wait for it, find, cancel and retry tasks' },
  { name: 'jobs', description: 'Submit many tasks as one job (JSON or NDJSON), follow its results, cancel, close, retry' },
  { name: 'workers', description: 'The fleet: connected and recent workers, commands pushed to them' },
  { name: 'blobs', description: 'Large params and results, stored by content hash' },
  { name: 'operations', description: 'Health, statistics, metrics, dispatch control' },
] as const;

export type Tag = (typeof TAGS)[number]['name'];

const nullable = (t: string) => ({ type: [t, 'null'] });

/** Gaffer's error body, for every 4xx and 5xx. */
export const errorSchema = {
  type: 'object',
  required: ['statusCode', 'code', 'message'],
  properties: {
    statusCode: { type: 'integer' },
    code: { type: 'string', enum: Object.keys(API_ERRORS) },
    message: { type: 'string' },
    field: { type: 'string', description: 'the part of the request at fault, e.g. body/tasks/3/type' },
  },
} as const;

const taskError = {
  type: ['object', 'null'],
  required: ['code', 'message'],
  additionalProperties: true,
  properties: {
    code: { type: 'string' },
    message: { type: 'string' },
    retryable: { type: 'boolean', description: 'false on a final failure' },
    errorClass: { type: 'string', description: 'the class of the error the handler threw, e.g. TypeError' },
    stack: { type: 'string', description: 'its stack, at most 4,000 characters' },
  },
} as const;

const attempt = {
  type: 'object',
  required: ['attempt', 'workerId', 'startedAt', 'finishedAt', 'outcome', 'error'],
  additionalProperties: true,
  properties: {
    attempt: { type: 'integer' },
    workerId: { type: 'string' },
    startedAt: { type: 'number' },
    finishedAt: nullable('number'),
    outcome: { type: ['string', 'null'], description: 'succeeded, failed, lost, released, cancelled; null while running' },
    error: taskError,
  },
} as const;

const progress = {
  type: ['object', 'null'],
  required: ['fraction'],
  properties: { fraction: { type: 'number' }, message: { type: 'string' } },
} as const;

export const taskStateSchema = { type: 'string', enum: ['queued', 'running', 'cancelling', 'succeeded', 'failed', 'cancelled'] } as const;

export const taskSchema = {
  type: 'object',
  additionalProperties: true,
  required: ['id', 'jobId', 'key', 'type', 'state', 'status', 'priority', 'attempt', 'failures', 'losses', 'maxAttempts', 'createdAt', 'params', 'result', 'error'],
  properties: {
    id: { type: 'string' },
    jobId: nullable('string'),
    key: nullable('string'),
    type: { type: 'string' },
    state: taskStateSchema,
    status: { type: ['string', 'null'], description: 'the status a handler returned (e.g. needs_review); succeeded once succeeded' },
    priority: { type: 'number' },
    attempt: { type: 'integer' },
    failures: { type: 'integer' },
    losses: { type: 'integer' },
    maxAttempts: { type: 'integer' },
    timeoutMs: nullable('number'),
    workerId: nullable('string'),
    createdAt: { type: 'number' },
    runAt: { type: 'number' },
    startedAt: nullable('number'),
    finishedAt: nullable('number'),
    progress,
    params: { description: 'any JSON value' },
    result: { description: 'any JSON value; null until succeeded' },
    error: taskError,
    heldBy: {
      type: 'string',
      enum: ['delay', 'maxRunning', 'rate', 'dependencies'],
      description: "why a queued task is held back: 'delay' (a delayed task before its runAt), 'maxRunning' or 'rate' (its type's fleet-wide limits, or a handler's RateLimitedError pause), 'dependencies' (a parent in dependsOn has not succeeded yet)",
    },
    dependsOn: { type: 'array', items: { type: 'string' }, description: 'the tasks this one depends on (while it waits, and once released)' },
    waitingFor: { type: 'string', description: 'why a queued task is not dispatched (no connected worker has the skill)' },
    attempts: { type: 'array', items: attempt, description: 'every attempt, oldest first (GET /tasks/:id; a settled task from /wait)' },
    logs: {
      type: 'array',
      description: "each attempt's last ctx.log() lines, as its worker sent them with the result (GET /tasks/:id)",
      items: object({ attempt: { type: 'integer' }, workerId: nullable('string'), lines: { type: 'array', items: { type: 'string' } } }),
    },
  },
} as const;

export const jobSchema = {
  type: 'object',
  additionalProperties: true,
  required: ['id', 'key', 'createdAt', 'closedAt', 'cancelledAt', 'total', 'counts', 'settled', 'progress', 'complete'],
  properties: {
    id: { type: 'string' },
    key: nullable('string'),
    createdAt: { type: 'number' },
    closedAt: nullable('number'),
    cancelledAt: nullable('number'),
    total: { type: 'integer' },
    counts: { type: 'object', additionalProperties: { type: 'integer' }, description: 'tasks by state' },
    settled: { type: 'integer' },
    progress: { type: 'number', description: 'settled / total, 0 to 1' },
    complete: { type: 'boolean', description: 'closed, and every task settled durably' },
  },
} as const;

/** One line of `GET /jobs/:id/results`. */
export const resultLineSchema = {
  type: 'object',
  required: ['id', 'key', 'type', 'state', 'status', 'result', 'error', 'attempt', 'workerId'],
  properties: {
    id: { type: 'string' },
    key: nullable('string'),
    type: { type: 'string' },
    state: { type: 'string', enum: ['succeeded', 'failed', 'cancelled'] },
    status: { type: 'string' },
    result: { description: 'any JSON value' },
    error: taskError,
    attempt: { type: 'integer' },
    workerId: nullable('string'),
  },
} as const;

export const workerSchema = {
  type: 'object',
  additionalProperties: true,
  required: ['id', 'state', 'skills', 'capacity', 'slotsInUse', 'running'],
  properties: {
    id: { type: 'string' },
    state: { type: 'string', enum: ['active', 'draining', 'stale', 'offline'] },
    draining: { type: 'boolean' },
    skills: { type: 'array', items: { type: 'object', additionalProperties: true, properties: { type: { type: 'string' }, group: { type: 'string' } } } },
    capacity: { type: 'integer' },
    slotsInUse: { type: 'integer' },
    running: { type: 'array', items: { type: 'object', additionalProperties: true } },
    lastHeartbeatAgeMs: nullable('number'),
    address: nullable('string'),
    statusUrl: nullable('string'),
  },
} as const;

/** An object of the given properties, each required; other properties may be added later. */
export function object(properties: Record<string, unknown>, optional: string[] = []) {
  return { type: 'object', additionalProperties: true, required: Object.keys(properties).filter((k) => !optional.includes(k)), properties } as const;
}

type ErrorStatus = 400 | 401 | 403 | 404 | 408 | 409 | 413 | 414 | 415 | 416 | 429 | 503;

/** The description of each error status, from the codes in the catalogue that use it. */
function errorDescription(status: number): string {
  const codes = Object.entries(API_ERRORS).filter(([, e]) => e.status === status).map(([code]) => code);
  return `error: ${codes.join(', ')}`;
}

/**
 * A route's documentation: summary, tag, operationId, and responses. Every route may also answer
 * 429 (rate limit), and, unless `public`, 401 (no token) and 403 (read token on a write).
 */
export function doc(opts: {
  summary: string;
  tag: Tag;
  operationId: string;
  description?: string;
  responses: Record<number, unknown>;
  errors?: ErrorStatus[];
  public?: boolean;
  write?: boolean;
}) {
  const statuses = new Set<number>(opts.errors ?? []);
  statuses.add(429);
  if (!opts.public) statuses.add(401);
  if (!opts.public && opts.write) statuses.add(403);
  if (opts.write) statuses.add(503);
  const response: Record<string, unknown> = {};
  for (const [status, schema] of Object.entries(opts.responses)) response[status] = schema;
  for (const status of [...statuses].sort()) response[status] = { description: errorDescription(status), ...errorSchema };
  return {
    summary: opts.summary,
    tags: [opts.tag],
    operationId: opts.operationId,
    ...(opts.description ? { description: opts.description } : {}),
    ...(opts.public ? { security: [] } : {}),
    response,
  };
}
