/** GET /foremen: the foremen sharing this store, with their health (one row, this foreman, on SQLite). */
import type { FastifyInstance } from 'fastify';
import type { ForemanRow } from '../store/postgres/pg-foremen.js';

export function foremenRoutes(app: FastifyInstance, list: () => Promise<ForemanRow[]>): void {
  app.get('/foremen', { schema: { summary: 'The foremen sharing this store, with their health', tags: ['fleet'], operationId: 'listForemen' } }, async () => ({ foremen: await list() }));
}
