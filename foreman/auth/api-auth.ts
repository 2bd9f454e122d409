/**
 * HTTP API authentication: one `onRequest` hook in front of every route.
 *
 * - API token: everything.
 * - Read token: GET/HEAD routes and the dashboard WebSocket only (403 elsewhere).
 * - Join token (the /join link a volunteer opens): GET /leaderboard only, so the page can show its points.
 * - No token: only the routes that hold no data (see `isPublic`).
 *
 * Browsers cannot put headers on a WebSocket, so `/ws/dashboard` also takes
 * `?token=`; the dashboard page reads its token from the URL fragment, which
 * browsers never send to the server.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CLIENT_WS_PATH, WORKER_WS_PATH } from '../../shared/protocol.js';
import { apiError } from '../http/context.js';
import { doc, object } from '../http/openapi.js';
import type { Credentials } from './credentials.js';
import { tokenMatches } from './tokens.js';

export type ApiRole = 'api' | 'read';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The read token is refused (403) on this route even for GET (token management). */
    apiTokenOnly?: boolean;
  }
}

const DASHBOARD_WS_PATH = '/ws/dashboard';
const READ_METHODS = new Set(['GET', 'HEAD']);

/**
 * Routes served without a token, each because it holds no data:
 * the health probe (load balancers), the dashboard page shell and its static
 * files (a browser must load them before it can send a token), and the API
 * documentation (it describes the open-source API, not this foreman's state).
 * The join page and its files are public too: the volunteer's browser loads them
 * first, and the join token stays in the URL fragment, which is never sent.
 * The worker socket authenticates in `hello` instead.
 */
export function isPublic(method: string, route: string | undefined): boolean {
  if (route === WORKER_WS_PATH) return true;
  // The blob routes take worker tokens as well, so they check credentials themselves (foreman/blobs/blob-access.ts).
  if (route === '/blobs' || route === '/blobs/:ref') return true;
  if (!READ_METHODS.has(method) || route === undefined) return false;
  return route === '/health' || route === '/' || route.startsWith('/dashboard/') || route === '/docs' || route.startsWith('/docs/') || route === '/join' || route === '/join/*';
}

/** WebSocket routes whose clients may be browsers (which cannot set headers): they may carry `?token=`. */
const QUERY_TOKEN_ROUTES = new Set([DASHBOARD_WS_PATH, CLIENT_WS_PATH]);
/** GET routes that change things: the client channel submits tasks, so the read token is not enough. */
const WRITING_GETS = new Set([CLIENT_WS_PATH]);

/** The bearer token of a request, or null. Only the WebSocket routes of QUERY_TOKEN_ROUTES may carry it in the query string. */
function presentedToken(req: FastifyRequest, route: string | undefined): string | null {
  const header = req.headers.authorization;
  if (typeof header === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return m ? m[1] : null;
  }
  if (route !== undefined && QUERY_TOKEN_ROUTES.has(route)) {
    const q = (req.query as Record<string, unknown> | undefined)?.token;
    return typeof q === 'string' && q !== '' ? q : null;
  }
  return null;
}

/** Which role a token grants, comparing against both tokens every time so timing does not tell which one was close. */
export function roleOf(token: string | null, creds: Pick<Credentials, 'apiToken' | 'readToken'>): ApiRole | null {
  const isApi = tokenMatches(token, creds.apiToken);
  const isRead = tokenMatches(token, creds.readToken);
  return isApi ? 'api' : isRead ? 'read' : null;
}

function deny(reply: FastifyReply, status: 401 | 403, message: string): FastifyReply {
  if (status === 401) reply.header('www-authenticate', 'Bearer realm="gaffer"');
  // Answered before the body is read, and the connection closed after the answer: a refused client
  // must not hold it open by trickling a large body (Node would otherwise read it to keep the connection alive).
  reply.header('connection', 'close');
  return reply.code(status).send(apiError(status, status === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN', message));
}

/**
 * Installs the hook. With no API token configured (loopback only) every route is open.
 * @param onDenied called once per refused request, for metrics.
 */
export function installApiAuth(app: FastifyInstance, creds: Credentials, onDenied: (status: 401 | 403) => void = () => {}): void {
  if (creds.apiToken === null) return;
  app.addHook('onRequest', async (req, reply) => {
    const route = req.routeOptions.url;
    if (isPublic(req.method, route)) return;
    const role = roleOf(presentedToken(req, route), creds);
    if (role === null && route === '/leaderboard' && READ_METHODS.has(req.method) && tokenMatches(presentedToken(req, route), creds.joinToken)) return;
    if (role === null) {
      onDenied(401);
      return deny(reply, 401, 'this route needs Authorization: Bearer <API token> (or the read token for GET routes)');
    }
    // Routes configured apiTokenOnly (token management) refuse the read token even for GET.
    const apiTokenOnly = req.routeOptions.config?.apiTokenOnly === true;
    if (role === 'read' && (!READ_METHODS.has(req.method) || WRITING_GETS.has(route ?? '') || apiTokenOnly)) {
      onDenied(403);
      return deny(reply, 403, 'the read token allows GET routes only; this route needs the API token');
    }
  });
}

/**
 * `GET /access`: what the presented token may do, so a page can hide the buttons it could not use.
 * With no API token configured every route is open, so the answer is `api`.
 */
export function accessRoute(app: FastifyInstance, creds: Pick<Credentials, 'apiToken' | 'readToken'>): void {
  app.get('/access', {
    schema: doc({
      summary: 'What the presented token may do',
      tag: 'operations',
      operationId: 'getAccess',
      description: '`api`: every route; `read`: GET routes only (the dashboard hides its buttons).',
      responses: { 200: { description: 'the role of the token', ...object({ role: { type: 'string', enum: ['api', 'read'] } }) } },
    }),
  }, async (req) => ({ role: creds.apiToken === null ? 'api' : (roleOf(presentedToken(req, req.routeOptions.url), creds) ?? 'read') }));
}
