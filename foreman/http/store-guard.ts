/**
 * While the store cannot write (disk full, I/O error, read-only file), routes that would write
 * answer `503 STORE_UNAVAILABLE` with `Retry-After` at once, before their body is read, rather
 * than queueing more work behind a commit that keeps failing. Reads keep working.
 */
import type { FastifyInstance } from 'fastify';
import type { StoreState } from '../store/group-commit.js';
import { apiError } from './context.js';

/** Routes that write to the store (by route pattern, any method they are registered with). */
const WRITE_ROUTES = new Set([
  '/tasks', '/jobs', '/jobs/:id/tasks', '/tasks/:id/cancel', '/tasks/:id/retry', '/jobs/:id/cancel', '/jobs/:id/close',
  '/jobs/:id/retry-failed', '/ops/requeue-stale', '/ops/reset',
]);

/** The store's state as the HTTP layer sees it. */
export interface StoreHealth {
  state: StoreState;
  /** Hint for clients: how long until the next retry, in ms (0 when writable). */
  retryInMs: number;
}

/** Seconds for a Retry-After header: at least 1. */
export const retryAfterSeconds = (ms: number): string => String(Math.max(1, Math.ceil(ms / 1000)));

export function installStoreGuard(app: FastifyInstance, health: () => StoreHealth): void {
  app.addHook('onRequest', async (req, reply) => {
    if (req.method !== 'POST' || !WRITE_ROUTES.has(req.routeOptions.url ?? '')) return;
    const h = health();
    if (h.state === 'writable') return;
    reply.header('retry-after', retryAfterSeconds(h.retryInMs));
    return reply.code(503).send(apiError(503, 'STORE_UNAVAILABLE', 'the store cannot write now (disk full, I/O error or read-only); retry later'));
  });
}
