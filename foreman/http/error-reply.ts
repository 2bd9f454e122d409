/**
 * The one formatter of HTTP errors. Whatever failed (a route's schema, the
 * JSON or NDJSON parser, a body limit, a bad URL, an unknown route, a bug),
 * the client gets Gaffer's shape `{ statusCode, code, message, field? }` with
 * a code from `API_ERRORS` and, where one part of the request is at fault,
 * the field that names it. Fastify's own codes (`FST_ERR_*`) never leak.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { API_ERRORS, type ApiErrorCode } from '../../shared/errors.js';
import { apiError, type ApiErrorBody } from './context.js';
import { ndjsonField } from './ndjson.js';
import { type AjvError, schemaFailure } from './schema-errors.js';

/** A route's schema failure, naming its field (an NDJSON body's item by its line). */
function validationError(err: FastifyError, req: FastifyRequest): ApiErrorBody {
  const context = err.validationContext ?? 'body';
  const chosen = schemaFailure(context, (err.validation ?? []) as AjvError[]);
  const field = context === 'body' ? ndjsonField(req.body, chosen.field) : chosen.field;
  return apiError(400, 'INVALID_REQUEST', `${field} ${chosen.message}`, field);
}

/** Fastify's framework errors by their `FST_ERR_*` code: our code, and the field at fault. */
function frameworkError(err: FastifyError, req: FastifyRequest): ApiErrorBody | null {
  switch (err.code) {
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return apiError(400, 'INVALID_JSON', 'the body is empty although content-type says JSON', 'body');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return apiError(400, 'INVALID_JSON', `the body is not valid JSON${err.cause instanceof Error ? `: ${err.cause.message}` : ''}`, 'body');
    case 'FST_ERR_CTP_BODY_TOO_LARGE': {
      const limit = req.routeOptions.bodyLimit;
      return apiError(413, 'BODY_TOO_LARGE', `the body is too large: over ${limit ?? 'the limit in'} bytes${req.routeOptions.url?.startsWith('/jobs') ? '' : ' (maxBodyBytes)'}`, 'body');
    }
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return apiError(415, 'UNSUPPORTED_MEDIA_TYPE', `content-type ${JSON.stringify(String(req.headers['content-type'] ?? ''))} is not accepted; send application/json (or application/x-ndjson to POST /jobs)`, 'headers/content-type');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return apiError(400, 'INVALID_REQUEST', 'content-length does not match the body', 'headers/content-length');
    case 'FST_ERR_BAD_URL':
      return apiError(400, 'BAD_URL', 'the URL has bad percent-encoding', 'url');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return apiError(414, 'URL_TOO_LONG', 'a path parameter is longer than 1,000 characters', 'url');
    default:
      return null;
  }
}

/** Any error thrown while serving `req`, in Gaffer's shape. */
export function toApiError(err: FastifyError & { field?: string }, req: FastifyRequest): ApiErrorBody {
  if (err.validation) return validationError(err, req);
  const framework = frameworkError(err, req);
  if (framework) return framework;
  const status = err.statusCode ?? 500;
  // A store that cannot be reached (PostgreSQL down) is worth a retry, not an internal error.
  if (status === 503 && err.code === 'STORE_UNAVAILABLE') return apiError(503, 'STORE_UNAVAILABLE', err.message);
  if (status >= 500) return apiError(500, 'INTERNAL', 'internal error');
  // Our own errors (thrown by parsers and limits) carry a catalogued code and their field.
  if (err.code in API_ERRORS) return apiError(status, err.code as ApiErrorCode, err.message, err.field === undefined ? undefined : ndjsonField(req.body, err.field));
  if (err instanceof SyntaxError) return apiError(400, 'INVALID_JSON', `the body is not valid JSON: ${err.message}`, 'body');
  return apiError(status === 413 ? 413 : 400, status === 413 ? 'BODY_TOO_LARGE' : 'INVALID_REQUEST', err.message, err.field);
}

/** Fastify's `frameworkErrors` option: bad URLs and over-long path parameters, before any route runs. */
export function frameworkErrorReply(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const body = toApiError(err, req);
  void reply.code(body.statusCode).send(body);
}

/**
 * Installs the error handler, the unknown-route handler, and the 503 answer while the foreman
 * closes (Fastify's own, `return503OnClosing`, has no code; it must be turned off on `app`).
 * Install before other hooks, so a closing foreman answers 503 before anything else runs.
 */
export function installErrorReplies(app: FastifyInstance, isClosing: () => boolean): void {
  app.addHook('onRequest', async (_req, reply) => {
    if (isClosing()) return reply.code(503).header('connection', 'close').send(apiError(503, 'SHUTTING_DOWN', 'the foreman is shutting down; retry shortly'));
  });
  // A route whose body schema is given per content type (the OpenAPI form) is not validated when the
  // request has no body at all: refuse it here rather than let the handler meet `undefined`.
  app.addHook('preValidation', async (req, reply) => {
    if (req.body === undefined && req.routeOptions.schema?.body !== undefined) {
      return reply.code(400).send(apiError(400, 'INVALID_REQUEST', 'body is required (application/json)', 'body'));
    }
  });
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const body = toApiError(err, req);
    if (body.statusCode >= 500 && body.code !== 'STORE_UNAVAILABLE') req.log.error({ err }, 'request failed');
    return reply.code(body.statusCode).send(body);
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send(apiError(404, 'ROUTE_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0].slice(0, 200)}`, 'url')),
  );
}
