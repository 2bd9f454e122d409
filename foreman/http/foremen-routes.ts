/** GET /foremen: the foremen sharing this store, with their health (one row, this foreman, on SQLite). */
import type { FastifyInstance } from 'fastify';
import type { ForemanRow } from '../store/postgres/pg-foremen.js';
import { doc, object } from './openapi.js';

const foremanSchema = object({
  id: { type: 'string' },
  url: { type: ['string', 'null'], description: 'its HTTP address as it sees itself' },
  host: { type: ['string', 'null'] },
  pid: { type: ['integer', 'null'] },
  startedAt: { type: 'number' },
  heartbeatAgeMs: { type: 'number', description: 'since its last heartbeat in the foremen table, by the database clock' },
  alive: { type: 'boolean', description: 'heartbeat younger than --foreman-ttl-ms' },
  self: { type: 'boolean', description: 'the foreman answering' },
});

export function foremenRoutes(app: FastifyInstance, list: () => Promise<ForemanRow[]>): void {
  app.get('/foremen', {
    schema: doc({
      summary: 'The foremen sharing this store, with their health',
      tag: 'operations',
      operationId: 'listForemen',
      description: 'With --store postgres://…, every foreman registered in the database; with SQLite, this one.',
      responses: { 200: { description: 'the foremen', ...object({ foremen: { type: 'array', items: foremanSchema } }) } },
    }),
  }, async () => ({ foremen: await list() }));
}
