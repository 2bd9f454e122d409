/**
 * Graceful-then-forceful end of HTTP connections when the foreman closes.
 *
 * Fastify's close waits for every in-flight request, but a job's result
 * stream (`GET /jobs/:id/results`) ends only when the job completes, and with
 * dispatch stopped it never will: one open stream would hold the shutdown
 * forever. So result streams are cut at once (clients re-read results after a
 * restart; nothing is lost, results are durable), and any other request gets
 * `graceMs` to finish before its connection is closed too.
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';

/** Routes whose responses never end on their own while dispatch is stopped. */
const ENDLESS_ROUTES = new Set(['/jobs/:id/results']);

/** Installs the hooks on `app`. */
export function installConnectionCloser(app: FastifyInstance, graceMs: number): void {
  const streams = new Set<IncomingMessage>();
  let timer: NodeJS.Timeout | null = null;
  app.addHook('onRequest', async (req) => {
    if (!ENDLESS_ROUTES.has(req.routeOptions.url ?? '')) return;
    streams.add(req.raw);
    req.raw.once('close', () => streams.delete(req.raw));
  });
  app.addHook('preClose', async () => {
    for (const raw of streams) raw.socket.destroy();
    streams.clear();
    timer = setTimeout(() => {
      const server = app.server as { closeAllConnections?: () => void };
      server.closeAllConnections?.();
    }, graceMs);
    timer.unref();
  });
  app.addHook('onClose', async () => {
    if (timer) clearTimeout(timer);
  });
}
