/**
 * The join page: `GET /join` (and its files under `/join/`) turns a browser tab
 * into a worker; `GET /join/link` gives the dashboard the link to share (with
 * the join token in its fragment) and a QR code of it. The page's files are
 * built elsewhere (worker/browser/join-assets.ts) and handed in by the entry
 * point, so the foreman serves them without importing the worker's code.
 */
import type { FastifyInstance } from 'fastify';
import { apiError } from './context.js';
import { doc } from './openapi.js';

/** The QR code library, loaded at the first link asked for rather than at every start. */
const qrCode = async () => (await import('qrcode')).default;

/** The page's files by name under /join/ ('' is the page itself). */
export type JoinFiles = () => Promise<ReadonlyMap<string, { contentType: string; body: Buffer }>>;

const linkResponse = {
  type: 'object',
  required: ['url', 'qrSvg', 'token'],
  properties: {
    url: { type: 'string', description: 'the link to share: it carries the join token in its fragment' },
    qrSvg: { type: 'string', description: 'the link as a QR code (SVG)' },
    token: { type: 'boolean', description: 'whether the link needs a token (false on an open, loopback-only foreman)' },
  },
} as const;

export function joinRoutes(app: FastifyInstance, files: JoinFiles, joinToken: string | null): void {
  const serve = async (name: string, reply: import('fastify').FastifyReply) => {
    const file = (await files()).get(name);
    if (!file) return reply.code(404).send(apiError(404, 'ROUTE_NOT_FOUND', `no file /join/${name}`));
    return reply.header('content-type', file.contentType).header('cache-control', 'no-cache').send(file.body);
  };
  const hide = { schema: { hide: true } };
  // The page at /join/ so that its relative URLs (app.js, sandbox.js, quickjs.wasm) resolve under /join/.
  app.get('/join', hide, (req, reply) => reply.redirect(`/join/${req.url.slice('/join'.length)}`));
  app.get('/join/*', hide, (req, reply) => serve((req.params as { '*': string })['*'], reply));
  app.get(
    '/join/link',
    {
      schema: doc({
        summary: 'The browser-worker join link and its QR code',
        tag: 'workers',
        operationId: 'getJoinLink',
        responses: { 200: { description: 'the link to share and its QR code', ...linkResponse } },
      }),
    },
    async (req) => {
      const proto = (req.headers['x-forwarded-proto'] as string | undefined) ?? req.protocol;
      const url = `${proto}://${req.headers.host}/join/${joinToken ? `#token=${joinToken}` : ''}`;
      return { url, qrSvg: await (await qrCode()).toString(url, { type: 'svg', margin: 1 }), token: joinToken !== null };
    },
  );
}
