/** JSON schemas of the HTTP API; Fastify validates with them and @fastify/swagger documents them. */

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
  },
} as const;

export const jobBodySchema = {
  anyOf: [
    { type: 'array', items: taskInputSchema, minItems: 1 },
    {
      type: 'object',
      required: ['tasks'],
      additionalProperties: false,
      properties: {
        tasks: { type: 'array', items: taskInputSchema, minItems: 1 },
        open: { type: 'boolean', description: 'keep accepting tasks until POST /jobs/:id/close' },
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

export const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    state: { type: 'string', enum: ['queued', 'running', 'cancelling', 'succeeded', 'failed', 'cancelled'] },
    jobId: { type: 'string', maxLength: 200, pattern: UNICODE_PATTERN },
    limit: { type: 'string', pattern: '^([1-9][0-9]{0,2}|1000)$', description: 'page size, 1 to 1000; default 100' },
    after: { type: 'string', pattern: '^[0-9]{1,16}$', description: 'cursor from the previous page' },
  },
} as const;

export const restartQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { mode: { type: 'string', enum: ['graceful', 'hard'], default: 'graceful' } },
} as const;
