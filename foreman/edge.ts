/**
 * Everything at the foreman's network edge, installed in one call early in
 * `Foreman.setup()` (before the routes, which the OpenAPI generator must see
 * being added): who may connect (tokens), how much they may send (limits),
 * and what operators can see (metrics, docs).
 */
import { packageVersion } from '../shared/package-version.js';
import type { FastifyInstance } from 'fastify';
import type { AttemptLogStore } from './attempt-logs.js';
import { installApiAuth } from './auth/api-auth.js';
import { resolveCredentials, type Credentials } from './auth/credentials.js';
import { WorkerAuth } from './auth/worker-auth.js';
import type { ForemanEvents } from './events.js';
import type { Fleet } from './fleet.js';
import { installConnectionCloser } from './http/connection-closer.js';
import { installConnectionLimits } from './http/connection-limits.js';
import { registerDocs } from './http/docs.js';
import { installParamsLimit, installRateLimit } from './http/limits.js';
import { ForemanMetrics } from './metrics.js';
import { filesNeeded, openFileLimit } from './open-file-limit.js';
import type { ForemanOptions } from './options.js';
import { SessionGuard } from './session-guard.js';
import type { Db } from './store/database.js';
import type { TaskLedger } from './ledger.js';

/** The parts of the foreman the edge needs. */
export interface EdgeHost {
  /** The base HTTP URL clients reach this foreman at (known once it listens). */
  readonly url: string;
  options: Readonly<ForemanOptions>;
  db: Db;
  /** Where the ctx.log() lines that results carry are kept. */
  attemptLogs: AttemptLogStore;
  fleet: Fleet;
  tasks: TaskLedger;
  events: ForemanEvents;
}

export interface Edge {
  credentials: Credentials;
  /** Admits worker sockets and is their sessions' handler. */
  sessions: SessionGuard;
  workerAuth: WorkerAuth;
  metrics: ForemanMetrics;
}

const SUBMIT_ROUTES = new Set(['/tasks', '/jobs', '/jobs/:id/tasks']);

/**
 * Installs authentication, limits, metrics and docs on `app`.
 * @throws Error when the tokens file beside the database cannot be read or written.
 */
export async function installEdge(app: FastifyInstance, host: EdgeHost): Promise<Edge> {
  const { options } = host;
  const credentials = resolveCredentials(options);
  const workerAuth = new WorkerAuth(host.db, credentials, host.fleet);
  let sessions: SessionGuard | null = null;
  const metrics = new ForemanMetrics({ events: host.events, tasks: host.tasks, fleet: host.fleet, openSessions: () => sessions?.open ?? 0 });
  const { attemptLogs } = host;
  sessions = new SessionGuard(host.fleet, workerAuth, options, {
    onRefused: (reason) => metrics.refused.inc({ reason }),
    onAttemptLogs: (taskId, attempt, workerId, lines) => attemptLogs.save(taskId, attempt, workerId, lines),
  });

  installConnectionLimits(app.server, options, () => metrics.httpDenied.inc({ status: '503' }));
  const files = { openFileLimit: openFileLimit(), needed: filesNeeded(options) };
  if (files.openFileLimit !== null && files.openFileLimit < files.needed) {
    app.log.warn(files, 'the open-file limit is below what maxSessions + maxPreHelloSockets + maxHttpConnections need: raise it (ulimit -n, or LimitNOFILE= under systemd) or lower those limits');
  } else {
    app.log.info(files, 'open-file limit');
  }
  await registerDocs(app, { version: packageVersion(), secured: credentials.apiToken !== null, url: () => host.url });
  // Order matters: the rate limit runs first so that token guessing is throttled as well.
  installRateLimit(app, options.maxRequestsPerSecond, () => metrics.httpDenied.inc({ status: '429' }));
  installApiAuth(app, credentials, (status) => metrics.httpDenied.inc({ status: String(status) }));
  installParamsLimit(app, options.maxParamsBytes, options.maxValueDepth);
  app.addHook('onResponse', async (req, reply) => {
    if (reply.statusCode !== 202 || req.method !== 'POST' || !SUBMIT_ROUTES.has(req.routeOptions.url ?? '')) return;
    const body = req.body as { type: string } | Array<{ type: string }> | { tasks: Array<{ type: string }> };
    const tasks = Array.isArray(body) ? body : 'tasks' in body ? body.tasks : [body];
    metrics.countSubmitted(tasks);
  });
  metrics.route(app);
  installConnectionCloser(app, options.shutdownGraceMs);

  workerAuth.start();
  // Attempt logs go when their tasks would: after retentionMs, checked hourly.
  const purgeLogs = setInterval(() => attemptLogs.purgeBefore(Date.now() - options.retentionMs), Math.min(3_600_000, Math.max(1000, options.retentionMs)));
  purgeLogs.unref();
  app.addHook('onClose', async () => {
    workerAuth.stop();
    clearInterval(purgeLogs);
    metrics.close();
  });
  return { credentials, sessions, workerAuth, metrics };
}
