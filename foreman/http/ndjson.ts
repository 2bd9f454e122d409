/**
 * NDJSON job bodies (`content-type: application/x-ndjson`): one task per line.
 * Parsing, and checking each line against the task schema, run in slices that
 * yield to the event loop between them, so a 200,000-line import does not stall
 * dispatch, heartbeats or other requests (the route's own schema then checks only
 * that the body is a non-empty array: one pass over 200,000 items held the loop).
 * An error names `body/line N/…` (1-based, as an editor shows it); the line number
 * of each item is remembered, so later errors naming an item's index do too.
 */
import { StringDecoder } from 'node:string_decoder';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { FastifyInstance, FastifyRequest, FastifySchema } from 'fastify';
import { type AjvError, schemaFailure } from './schema-errors.js';
import { jobTaskInputSchema } from './schemas.js';

/** Largest job body, in bytes; NDJSON lets a client send this many without building one JSON array. */
export const MAX_JOB_BODY_BYTES = 256 * 1024 * 1024;

/**
 * Characters parsed (and checked) between yields to the event loop: one socket chunk, ~1,800 lines of
 * short tasks, about 2 ms (256 K characters made turns of ~8 ms, more with a GC in them).
 */
const SLICE_CHARS = 64 * 1024;

/**
 * The NDJSON body's schema as the route validates it: the items were checked while parsing.
 * Each line is one task object, as in the application/json array.
 */
export const ndjsonTasksSchema = { type: 'array', minItems: 1, description: 'one task object per line' };

/**
 * The documented schema (OpenAPI) of a route taking an NDJSON task list: each item the task schema, as
 * validated while parsing. For a route's `config.swaggerTransform`.
 */
export function documentNdjsonItems({ schema, url }: { schema: FastifySchema; url: string }): { schema: FastifySchema; url: string } {
  const body = schema.body as { content?: Record<string, unknown> } | undefined;
  if (!body?.content?.['application/x-ndjson']) return { schema, url };
  const ndjson = { schema: { ...ndjsonTasksSchema, items: jobTaskInputSchema } };
  return { schema: { ...schema, body: { ...body, content: { ...body.content, 'application/x-ndjson': ndjson } } }, url };
}

/** Checks one parsed line in place (the route's compiler: its coercions and defaults apply); sets `errors` when it fails. */
export type ItemCheck = ((item: unknown) => boolean) & { errors?: AjvError[] | null };

/** The line number of each item of a parsed NDJSON body, by the array the parser returned. */
const lineNumbers = new WeakMap<object, number[]>();

/** `body/12/type` of a parsed NDJSON body → `body/line 14/type`; other fields are returned as they are. */
export function ndjsonField(body: unknown, field: string): string {
  const lines = body !== null && typeof body === 'object' ? lineNumbers.get(body) : undefined;
  const m = lines ? /^body\/(\d+)(\/.*)?$/.exec(field) : null;
  if (!lines || !m) return field;
  const line = lines[Number(m[1])];
  return line === undefined ? field : `body/line ${line}${m[2] ?? ''}`;
}

function lineError(status: 400 | 413, code: 'INVALID_NDJSON' | 'LINE_TOO_LONG' | 'INVALID_REQUEST' | 'BODY_TOO_LARGE', message: string, field: string): Error {
  return Object.assign(new Error(message), { statusCode: status, code, field });
}

/**
 * Parses an NDJSON body as it arrives, chunk by chunk: one JSON value per non-empty line, each line at
 * most `maxLineBytes`, the whole at most `maxBodyBytes`. Reading it whole first cost one turn of
 * ~60 ms for 7.5 MB (concatenating and decoding the buffers); now each chunk's lines are decoded,
 * parsed and checked when it comes, with a yield to the event loop every SLICE_CHARS.
 * @throws Error with statusCode 400 (INVALID_NDJSON, INVALID_REQUEST) or 413 (LINE_TOO_LONG, BODY_TOO_LARGE) and its field.
 */
export async function parseNdjson(
  body: string | AsyncIterable<Buffer | string>,
  maxLineBytes: number,
  check?: ItemCheck,
  maxBodyBytes = MAX_JOB_BODY_BYTES,
): Promise<unknown[]> {
  const out: unknown[] = [];
  const lines: number[] = [];
  let line = 0;
  const take = (text: string): void => {
    line++;
    // n UTF-16 units are at most 3n UTF-8 bytes: only long lines need measuring.
    if (text.length > maxLineBytes || (text.length * 3 > maxLineBytes && Buffer.byteLength(text) > maxLineBytes)) {
      throw lineError(413, 'LINE_TOO_LONG', `line ${line} is longer than ${maxLineBytes} bytes (maxNdjsonLineBytes)`, `body/line ${line}`);
    }
    const trimmed = text.trim();
    if (trimmed === '') return;
    let item: unknown;
    try {
      item = JSON.parse(trimmed);
    } catch (err) {
      throw lineError(400, 'INVALID_NDJSON', `line ${line} is not valid JSON: ${(err as Error).message}`, `body/line ${line}`);
    }
    if (check && !check(item)) {
      const { field, message } = schemaFailure(`body/line ${line}`, check.errors ?? []);
      throw lineError(400, 'INVALID_REQUEST', `${field} ${message}`, field);
    }
    out.push(item);
    lines.push(line);
  };
  const decoder = new StringDecoder('utf8');
  /** The start of a line whose end has not arrived yet. */
  let pending = '';
  let received = 0;
  let sinceYield = 0;
  for await (const chunk of typeof body === 'string' ? [body] : body) {
    received += chunk.length;
    if (received > maxBodyBytes) throw lineError(413, 'BODY_TOO_LARGE', `the body is too large: over ${maxBodyBytes} bytes`, 'body');
    const piece = typeof chunk === 'string' ? chunk : decoder.write(chunk);
    let start = 0;
    for (let end = piece.indexOf('\n'); end >= 0; end = piece.indexOf('\n', start)) {
      take(pending + piece.slice(start, end));
      pending = '';
      start = end + 1;
    }
    pending += piece.slice(start);
    // A line already too long is refused before the rest of it arrives.
    if (pending.length > maxLineBytes) take(pending);
    sinceYield += piece.length;
    if (sinceYield >= SLICE_CHARS) {
      sinceYield = 0;
      await yieldToLoop();
    }
  }
  pending += decoder.end();
  take(pending);
  lineNumbers.set(out, lines);
  return out;
}

/**
 * Registers the NDJSON body parser on `app`, and removes Fastify's text/plain parser: the API
 * takes JSON and NDJSON only, and a route whose schema lists its content types does not validate
 * any other, so a text body would reach a handler unchecked (a 500). Other types get 415.
 */
export function installNdjsonParser(app: FastifyInstance, maxLineBytes: number): void {
  app.removeContentTypeParser('text/plain');
  // Compiled with the routes' own compiler (the same coercions and defaults) once they are, at start:
  // compiled at the first NDJSON request instead, it held the event loop for 30-60 ms in that request.
  let itemCheck: ItemCheck | null = null;
  app.addHook('onReady', async () => {
    itemCheck = (app.validatorCompiler?.({ schema: jobTaskInputSchema, method: 'POST', url: '/jobs', httpPart: 'body' }) as ItemCheck | undefined) ?? null;
  });
  // No parseAs: the parser reads the stream itself (and enforces the route's body limit).
  app.addContentTypeParser('application/x-ndjson', async (req: FastifyRequest, payload: AsyncIterable<Buffer>) => {
    const limit = req.routeOptions.bodyLimit ?? MAX_JOB_BODY_BYTES;
    const length = Number(req.headers['content-length']);
    if (Number.isFinite(length) && length > limit) throw lineError(413, 'BODY_TOO_LARGE', `the body is too large: over ${limit} bytes`, 'body');
    return parseNdjson(payload, maxLineBytes, itemCheck ?? (req.compileValidationSchema(jobTaskInputSchema, 'body') as ItemCheck), limit);
  });
}
