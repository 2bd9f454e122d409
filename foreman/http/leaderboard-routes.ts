/** GET /leaderboard: each worker's points, valid, invalid and error counts and reputation from quorum tasks. */
import type { FastifyInstance } from 'fastify';
import { LEADERBOARD_SORTS, type LeaderboardSort } from '../quorum/quorum-store.js';
import type { ApiContext } from './context.js';
import { doc, object } from './openapi.js';

export const leaderboardQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    sort: { type: 'string', enum: LEADERBOARD_SORTS, default: 'points', description: 'column to sort by' },
    order: { type: 'string', enum: ['asc', 'desc'], default: 'desc' },
    limit: { type: 'string', pattern: '^([1-9][0-9]{0,2}|1000)$', description: 'page size, 1 to 1000; default 100' },
    offset: { type: 'string', pattern: '^[0-9]{1,9}$', description: 'rows to skip; default 0' },
  },
} as const;

export function leaderboardRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get<{ Querystring: { sort?: LeaderboardSort; order?: 'asc' | 'desc'; limit?: string; offset?: string } }>(
    '/leaderboard',
    {
      schema: {
        ...doc({
          summary: 'Rank workers by their quorum results',
          tag: 'workers',
          operationId: 'getLeaderboard',
          description: 'Points, valid, invalid and error counts, reputation and quarantine of every worker that ran a judged quorum replica.',
          responses: {
            200: {
              description: 'one page of the leaderboard',
              ...object({
                workers: {
                  type: 'array',
                  items: object({
                    workerId: { type: 'string' }, points: { type: 'number' }, valid: { type: 'integer' }, invalid: { type: 'integer' }, errors: { type: 'integer' },
                    reputation: { type: 'number' }, streak: { type: 'integer' }, quarantined: { type: 'boolean' }, quarantinedAt: { type: ['integer', 'null'] }, updatedAt: { type: 'integer' },
                  }),
                },
                total: { type: 'integer' },
                next: { type: ['string', 'null'], description: 'offset of the following page, or null' },
              }),
            },
          },
          errors: [400],
        }),
        querystring: leaderboardQuery,
      },
    },
    async (req) => {
      const limit = req.query.limit ? Number(req.query.limit) : 100;
      const offset = req.query.offset ? Number(req.query.offset) : 0;
      const page = await ctx.quorum.store.leaderboard(req.query.sort ?? 'points', req.query.order ?? 'desc', limit, offset);
      return {
        workers: page.workers.map((w) => ({ ...w, quarantined: w.quarantinedAt !== null })),
        total: page.total,
        next: offset + limit < page.total ? String(offset + limit) : null,
      };
    },
  );
}
