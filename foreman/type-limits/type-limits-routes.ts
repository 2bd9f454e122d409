/** `PUT|GET|DELETE /types/:type/limits` and `GET /types/limits`: fleet-wide limits per task type (type-limits.ts). */
import type { FastifyInstance } from 'fastify';
import { doc, object } from '../http/openapi.js';
import { UNICODE_PATTERN } from '../http/schemas.js';
import type { TypeLimit, TypeLimits } from './type-limits.js';

const typeParams = {
  type: 'object',
  required: ['type'],
  properties: { type: { type: 'string', minLength: 1, maxLength: 200, pattern: UNICODE_PATTERN } },
} as const;

const limitsBody = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    maxRunning: { type: ['integer', 'null'], minimum: 1, maximum: 1_000_000, description: 'most tasks of the type running at once, fleet-wide; null: no cap' },
    ratePerSecond: { type: ['number', 'null'], exclusiveMinimum: 0, maximum: 1_000_000, description: 'most task starts per second, fleet-wide (token bucket, burst of one second); null: no rate' },
  },
} as const;

const limitView = object(
  {
    type: { type: 'string' },
    maxRunning: { type: ['integer', 'null'] },
    ratePerSecond: { type: ['number', 'null'] },
    running: { type: 'integer', description: 'tasks of the type running now' },
    heldBy: { type: ['string', 'null'], enum: ['maxRunning', 'rate', null], description: 'what holds the next task of the type back now, if anything' },
    pausedUntil: { type: ['number', 'null'], description: "epoch ms until which a handler's RateLimitedError paused the type" },
  },
);

export function typeLimitsRoutes(app: FastifyInstance, limits: TypeLimits): void {
  const view = async (type: string) => {
    await limits.refresh();
    return { type, ...(limits.describe()[type] ?? { maxRunning: null, ratePerSecond: null, running: 0, heldBy: null, pausedUntil: null }) };
  };

  app.put<{ Params: { type: string }; Body: Partial<TypeLimit> }>('/types/:type/limits', {
    schema: {
      ...doc({
        summary: 'Set the fleet-wide limits of a task type',
        tag: 'operations',
        operationId: 'setTypeLimits',
        description: 'Replaces both limits (one left out is none); durable before the answer, and honoured by the next dispatch.',
        responses: { 200: { description: 'the limits now', ...limitView } },
        errors: [400],
        write: true,
      }),
      params: typeParams,
      body: limitsBody,
    },
  }, async (req) => {
    const limit: TypeLimit = { maxRunning: req.body.maxRunning ?? null, ratePerSecond: req.body.ratePerSecond ?? null };
    await limits.set(req.params.type, limit);
    return view(req.params.type);
  });

  app.get<{ Params: { type: string } }>('/types/:type/limits', {
    schema: {
      ...doc({ summary: 'Read the fleet-wide limits of a task type', tag: 'operations', operationId: 'getTypeLimits', responses: { 200: { description: 'the limits (null: none) and the state now', ...limitView } }, errors: [400] }),
      params: typeParams,
    },
  }, async (req) => view(req.params.type));

  app.delete<{ Params: { type: string } }>('/types/:type/limits', {
    schema: {
      ...doc({
        summary: 'Remove the fleet-wide limits of a task type',
        tag: 'operations',
        operationId: 'deleteTypeLimits',
        responses: { 200: { description: 'removed (false: the type had none)', ...object({ type: { type: 'string' }, removed: { type: 'boolean' } }) } },
        errors: [400],
        write: true,
      }),
      params: typeParams,
    },
  }, async (req) => ({ type: req.params.type, removed: await limits.remove(req.params.type) }));

  app.get('/types/limits', {
    schema: doc({
      summary: 'Every limited or paused task type',
      tag: 'operations',
      operationId: 'listTypeLimits',
      responses: { 200: { description: 'by type', ...object({ types: { type: 'array', items: limitView } }) } },
    }),
  }, async () => {
    await limits.refresh();
    return { types: Object.entries(limits.describe()).map(([type, l]) => ({ type, ...l })) };
  });
}
