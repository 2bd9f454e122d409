/** The foreman dashboard: the page at `/` and its live-update WebSocket (to be filled in). */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from './context.js';

export async function dashboardRoutes(_app: FastifyInstance, _ctx: ApiContext): Promise<void> {}
