/**
 * Worker token management over the API, so a foreman on another machine can be administered:
 * `POST /tokens` issues a token bound to a worker id (shown once), `GET /tokens` lists ids (never tokens),
 * `DELETE /tokens/:workerId` revokes one and closes that worker's live session at once. Every route needs the
 * API token, even the list: the read token is for watching work, not for the fleet's credentials.
 */
import type { FastifyInstance } from 'fastify';
import { REVOKED, type WorkerTokenAdmin } from '../auth/tokens.js';
import type { WorkerAuth } from '../auth/worker-auth.js';
import { apiError } from './context.js';
import { doc, object } from './openapi.js';

/** Route config read by the API auth hook (auth/api-auth.ts): the read token is refused (403) even on GET. */
const API_TOKEN_ONLY = { apiTokenOnly: true };

const tokenInfoSchema = object({
  workerId: { type: 'string' },
  createdAt: { type: 'string', description: 'ISO 8601' },
  revoked: { type: 'boolean' },
});

const workerIdParams = {
  type: 'object',
  required: ['workerId'],
  properties: { workerId: { type: 'string', minLength: 1, maxLength: 200 } },
} as const;

/**
 * @param tokens the store's tokens: with PostgreSQL, written there and announced to every foreman,
 *   whose own sweep then closes the sessions it holds.
 */
export function tokenRoutes(app: FastifyInstance, ctx: { tokens: WorkerTokenAdmin; workerAuth: WorkerAuth }): void {
  const { tokens } = ctx;

  app.post<{ Body: { workerId: string; force?: boolean } }>('/tokens', {
    config: API_TOKEN_ONLY,
    schema: {
      ...doc({
        summary: 'Issue a worker token',
        tag: 'workers',
        operationId: 'createWorkerToken',
        description: 'A token bound to one worker id, returned only in this answer (stored hashed). With force, replaces an existing one and disconnects the worker using it.',
        responses: { 201: { description: 'the token', ...object({ workerId: { type: 'string' }, token: { type: 'string' } }) } },
        errors: [400, 403, 409],
        write: true,
      }),
      body: {
        type: 'object',
        required: ['workerId'],
        additionalProperties: false,
        properties: { workerId: { type: 'string', minLength: 1, maxLength: 200 }, force: { type: 'boolean' } },
      },
    },
  }, async (req, reply) => {
    const { workerId, force } = req.body;
    const existing = await tokens.hashOf(workerId);
    if (existing !== null && existing !== REVOKED && !force) {
      return reply.code(409).send(apiError(409, 'TOKEN_EXISTS', `worker ${workerId} already has a token; pass "force": true to replace it`, 'body/workerId'));
    }
    const token = await tokens.create(workerId);
    // A replaced token must stop working now, not at the next sweep of another process's writes.
    ctx.workerAuth.sweep();
    return reply.code(201).send({ workerId, token });
  });

  app.get('/tokens', {
    config: API_TOKEN_ONLY,
    schema: doc({
      summary: 'List worker tokens',
      tag: 'workers',
      operationId: 'listWorkerTokens',
      description: 'Worker ids with individual tokens, and whether each was revoked; never the tokens.',
      responses: { 200: { description: 'the tokens', ...object({ tokens: { type: 'array', items: tokenInfoSchema } }) } },
      errors: [403],
    }),
  }, async () => ({ tokens: (await tokens.list()).map((t) => ({ ...t, createdAt: new Date(t.createdAt).toISOString() })) }));

  app.delete<{ Params: { workerId: string } }>('/tokens/:workerId', {
    config: API_TOKEN_ONLY,
    schema: {
      ...doc({
        summary: 'Revoke a worker token',
        tag: 'workers',
        operationId: 'revokeWorkerToken',
        description: "Revokes the worker's token: its live session is closed (4001) and the id is locked out until a new token is issued. `disconnected` counts the sessions closed on this foreman; with several foremen, the one holding the session closes it when it hears of the revocation.",
        responses: { 200: { description: 'revoked', ...object({ workerId: { type: 'string' }, revoked: { type: 'boolean' }, disconnected: { type: 'integer' } }) } },
        errors: [400, 403, 404],
        write: true,
      }),
      params: workerIdParams,
    },
  }, async (req, reply) => {
    const { workerId } = req.params;
    if (!(await tokens.revoke(workerId))) return reply.code(404).send(apiError(404, 'TOKEN_NOT_FOUND', `worker ${workerId} has no active token`, 'params/workerId'));
    return { workerId, revoked: true, disconnected: ctx.workerAuth.sweep() };
  });
}
