/**
 * PUT /blobs (the body, streamed, is the blob) and GET /blobs/:ref (with
 * single byte ranges). Registered in a scope of their own whose one content
 * parser leaves the body unread, so an upload of gigabytes streams through the
 * hash into the store instead of into memory.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { blobDigest, blobRef } from '../../shared/blob-ref.js';
import { apiError } from '../http/context.js';
import { doc, object } from '../http/openapi.js';
import type { BlobAccess } from './blob-access.js';
import { BlobTooLargeError, type BlobStore } from './blob-store.js';

/** The byte range a `Range` header asks of a blob of `size` bytes: null for the whole blob, 'bad' when unsatisfiable. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | 'bad' {
  if (header === undefined) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'bad';
  if (m[1] === '') {
    // A suffix: the last n bytes.
    const n = Number(m[2]);
    if (n === 0 || size === 0) return 'bad';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  return start >= size || end < start ? 'bad' : { start, end };
}

function deny(reply: FastifyReply, status: 401 | 403, message: string) {
  if (status === 401) reply.header('www-authenticate', 'Bearer realm="gaffer"');
  return reply.code(status).send(apiError(status, status === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN', message));
}

export async function blobRoutes(app: FastifyInstance, store: BlobStore, access: BlobAccess, maxBlobBytes: number): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));

    const stored = { ref: { type: 'string', description: 'blob:sha256:<hex>' }, size: { type: 'integer' }, created: { type: 'boolean' } };
    const putSchema = doc({
      summary: 'Upload a blob',
      tag: 'blobs',
      operationId: 'putBlob',
      description: 'The request body (any bytes, streamed) is the blob; it is stored once by its SHA-256. API token, or a worker token with x-gaffer-worker-id.',
      responses: { 201: { description: 'stored', ...object(stored) }, 200: { description: 'already stored', ...object(stored) } },
      errors: [413],
      write: true,
    });
    scope.put('/blobs', { schema: putSchema }, async (req, reply) => {
      const caller = access.identify(req);
      if (caller === null) return deny(reply, 401, 'uploading a blob needs the API token, or a worker token with x-gaffer-worker-id');
      if (caller.kind === 'client' && !caller.mayWrite) return deny(reply, 403, 'the read token cannot upload blobs');
      const declared = Number(req.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBlobBytes) {
        return reply.code(413).send(apiError(413, 'BLOB_TOO_LARGE', `the blob is ${declared} bytes; the limit is ${maxBlobBytes} (maxBlobBytes)`, 'body'));
      }
      try {
        const { digest, size, created } = await store.put(req.raw, maxBlobBytes);
        return reply.code(created ? 201 : 200).send({ ref: blobRef(digest), size, created });
      } catch (err) {
        if (!(err instanceof BlobTooLargeError)) throw err;
        // The client may still be sending: answer and close rather than read the rest.
        reply.header('connection', 'close');
        return reply.code(413).send(apiError(413, 'BLOB_TOO_LARGE', err.message, 'body'));
      }
    });

    const bytes = (description: string) => ({ description, content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } });
    const getSchema = doc({
      summary: 'Download a blob (or a byte range of it)',
      tag: 'blobs',
      operationId: 'getBlob',
      description: 'API or read token, or a worker token with x-gaffer-worker-id for blobs its assigned tasks reference. One byte range with Range.',
      responses: { 200: bytes('the blob'), 206: bytes('the requested range') },
      errors: [400, 403, 404, 416],
    });
    scope.get<{ Params: { ref: string } }>('/blobs/:ref', { schema: { ...getSchema, params: { type: 'object', required: ['ref'], properties: { ref: { type: 'string', description: 'blob:sha256:<hex>, or the bare hex digest' } } } } }, async (req, reply) => {
      const caller = access.identify(req);
      if (caller === null) return deny(reply, 401, 'downloading a blob needs the API or read token, or a worker token with x-gaffer-worker-id');
      const digest = blobDigest(req.params.ref) ?? (/^[0-9a-f]{64}$/.test(req.params.ref) ? req.params.ref : null);
      if (digest === null) return reply.code(400).send(apiError(400, 'INVALID_REQUEST', 'params/ref must be blob:sha256:<64 lowercase hex digits>', 'params/ref'));
      const ref = blobRef(digest);
      if (caller.kind === 'worker' && !(await access.assigned(caller.workerId, ref))) {
        return reply.code(403).send(apiError(403, 'BLOB_NOT_ASSIGNED', `no task assigned to worker ${caller.workerId} references ${ref}`, 'params/ref'));
      }
      const stored = await store.stat(digest);
      if (!stored) return reply.code(404).send(apiError(404, 'BLOB_NOT_FOUND', `no blob ${ref}`, 'params/ref'));
      const range = parseRange(req.headers.range, stored.size);
      reply.header('accept-ranges', 'bytes');
      if (range === 'bad') {
        reply.header('content-range', `bytes */${stored.size}`);
        return reply.code(416).send(apiError(416, 'RANGE_NOT_SATISFIABLE', `range ${req.headers.range} is not inside ${stored.size} bytes`, 'headers/range'));
      }
      reply.header('etag', `"${digest}"`).type('application/octet-stream');
      if (range === null) {
        reply.header('content-length', stored.size);
        return reply.send(stored.size === 0 ? '' : store.read(digest));
      }
      reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${stored.size}`).header('content-length', range.end - range.start + 1);
      return reply.send(store.read(digest, range));
    });
  });
}
