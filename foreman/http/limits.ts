/**
 * Limits on HTTP input beyond what the route schemas check: requests per
 * second per address (429) and task params size (413); NDJSON line length is
 * checked where NDJSON is parsed (ndjson.ts). Every refusal is a JSON error naming the problem.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { BLOB_HINT } from '../../shared/blob-ref.js';
import { valueProblem } from '../value-limits.js';
import { apiError } from './context.js';

/** Routes whose body is a task (`/tasks`) or a list of tasks, and where it sits in the body. */
const SUBMIT_ROUTES = new Set(['/tasks', '/jobs', '/jobs/:id/tasks']);

/**
 * Token bucket per client address: bursts up to `perSecond`, then `perSecond`
 * a second; past that, 429 with Retry-After. Installed before authentication
 * so that guessing tokens is throttled too.
 */
export function installRateLimit(app: FastifyInstance, perSecond: number, onLimited: () => void = () => {}): void {
  const buckets = new Map<string, { tokens: number; at: number }>();
  // Forget addresses idle long enough to have refilled: the map holds only recent clients.
  const cleanup = setInterval(() => {
    const cutoff = Date.now() - 10_000;
    for (const [address, b] of buckets) if (b.at < cutoff) buckets.delete(address);
  }, 10_000);
  cleanup.unref();
  app.addHook('onClose', async () => clearInterval(cleanup));
  app.addHook('onRequest', async (req, reply) => {
    const address = req.socket.remoteAddress ?? 'unknown';
    const now = Date.now();
    let b = buckets.get(address);
    if (!b) buckets.set(address, (b = { tokens: perSecond, at: now }));
    b.tokens = Math.min(perSecond, b.tokens + ((now - b.at) * perSecond) / 1000);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens--;
      return;
    }
    onLimited();
    return reply
      .code(429)
      .header('retry-after', '1')
      .send(apiError(429, 'RATE_LIMITED', `more than ${perSecond} requests per second from ${address} (maxRequestsPerSecond)`));
  });
}

/**
 * Refuses submissions whose params exceed `maxBytes` (413 PAYLOAD_TOO_LARGE) or
 * nest deeper than `maxDepth` (400 PARAMS_TOO_DEEP), naming the task's field.
 * Runs after schema validation, so the body is well-formed.
 */
/** Tasks whose params are measured between yields to the event loop. */
const CHECK_SLICE = 2000;

export function installParamsLimit(app: FastifyInstance, maxBytes: number, maxDepth: number): void {
  app.addHook('preHandler', async (req, reply) => {
    if (req.method !== 'POST' || !SUBMIT_ROUTES.has(req.routeOptions.url ?? '')) return;
    // Each level of JSON nesting takes two bytes, and params cannot be bigger than the body: small bodies need no checking.
    const length = Number(req.headers['content-length']);
    if (Number.isFinite(length) && length <= maxBytes && length <= 2 * maxDepth) return;
    const body = req.body as { params?: unknown; tasks?: Array<{ params?: unknown }> } | Array<{ params?: unknown }>;
    const tasks = Array.isArray(body) ? body : Array.isArray(body.tasks) ? body.tasks : [body];
    const prefix = Array.isArray(body) ? 'body/' : Array.isArray(body.tasks) ? 'body/tasks/' : null;
    for (let i = 0; i < tasks.length; i++) {
      // A 200,000-task body took ~55 ms in one turn: let the foreman serve others between slices.
      if (i > 0 && i % CHECK_SLICE === 0) await yieldToLoop();
      const field = prefix === null ? 'body/params' : `${prefix}${i}/params`;
      const problem = valueProblem(field, tasks[i].params, { maxBytes, maxDepth, bytesOption: 'maxParamsBytes', sizeHint: BLOB_HINT });
      if (problem === null) continue;
      const [status, code] = problem.kind === 'depth' ? ([400, 'PARAMS_TOO_DEEP'] as const) : ([413, 'PAYLOAD_TOO_LARGE'] as const);
      return reply.code(status).send(apiError(status, code, problem.message, field));
    }
  });
}
