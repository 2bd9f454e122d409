/**
 * The worker's own HTTP status server: what it runs, its counters, a restart
 * button, and a WebSocket of live updates for its dashboard.
 */
import websocket from '@fastify/websocket';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Worker } from './worker.js';

export interface StatusServer {
  url: string;
  app: FastifyInstance;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Starts the status server on the worker's statusHost/statusPort and records its URL on the worker. */
export async function startStatusServer(worker: Worker): Promise<StatusServer> {
  const { statusHost, statusPort, controlToken } = worker.options;
  const app = Fastify({ loggerInstance: worker.log.child({ component: 'status' }) as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }) });
  await app.register(websocket);
  const status = () => ({ ...worker.snapshot(), statusUrl: worker.statusUrl });

  app.get('/', async (req, reply) => {
    if ((req.headers.accept ?? '').includes('text/html')) {
      const { workerDashboardHtml } = await import('../dashboard/worker-page.js');
      return reply.type('text/html; charset=utf-8').send(workerDashboardHtml());
    }
    return status();
  });
  app.get('/stats', async () => worker.stats.snapshot());
  app.get('/health', async () => ({ ok: worker.state !== 'closed', state: worker.state }));
  app.post<{ Querystring: { mode?: string } }>(
    '/restart',
    { schema: { querystring: { type: 'object', additionalProperties: false, properties: { mode: { type: 'string', enum: ['graceful', 'hard'] } } } } },
    async (req, reply) => {
      // Off loopback, restarting needs the control token: anyone on the network could otherwise bounce the worker.
      if (!LOOPBACK.has(statusHost)) {
        const auth = req.headers.authorization ?? '';
        if (!controlToken || auth !== `Bearer ${controlToken}`) {
          return reply.code(401).send({ statusCode: 401, code: 'UNAUTHORIZED', message: 'POST /restart needs Authorization: Bearer <control token>' });
        }
      }
      const mode = (req.query.mode ?? 'graceful') as 'graceful' | 'hard';
      void worker.restart(mode);
      return reply.code(202).send({ restarting: true, mode });
    },
  );
  app.get('/ws', { websocket: true }, (socket) => {
    const push = () => {
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify({ status: status(), stats: worker.stats.snapshot() }));
    };
    // Aggregate: at most one update per 250 ms whatever the task rate, plus a steady 1 s tick.
    let pending = false;
    const onUpdate = () => {
      if (pending) return;
      pending = true;
      setTimeout(() => {
        pending = false;
        push();
      }, 250).unref();
    };
    const tick = setInterval(push, 1000);
    worker.on('update', onUpdate);
    worker.on('state', onUpdate);
    socket.on('close', () => {
      clearInterval(tick);
      worker.off('update', onUpdate);
      worker.off('state', onUpdate);
    });
    push();
  });

  await app.listen({ host: statusHost, port: statusPort });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : statusPort;
  const url = `http://${statusHost.includes(':') ? `[${statusHost}]` : statusHost}:${port}`;
  worker.statusUrl = url;
  worker.log.info({ statusUrl: url }, 'status server listening');
  return { url, app, close: () => app.close() };
}
