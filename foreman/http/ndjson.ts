/**
 * NDJSON job bodies (`content-type: application/x-ndjson`): one task per line.
 * Parsing, and checking each line against the task schema, run in slices that
 * yield to the event loop between them, so a 200,000-line import does not stall
 * dispatch, heartbeats or other requests (the route's own schema then checks only
 * that the body is a non-empty array: one pass over 200,000 items held the loop).
 * An error names `body/line N/…` (1-based, as an editor shows it); the line number
 * of each item is remembered, so later errors naming an item's index do too.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { FastifyInstance, FastifyRequest, FastifySchema } from 'fastify';
import { type AjvError, schemaFailure } from './schema-errors.js';
import { jobTaskInputSchema } from './schemas.js';

/** Largest job body, in bytes; NDJSON lets a client send this many without building one JSON array. */
export const MAX_JOB_BODY_BYTES = 256 * 1024 * 1024;

/** Characters parsed (and checked) between yields to the event loop: about 1 ms of JSON.parse. */
const SLICE_CHARS = 256 * 1024;

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

function lineError(status: 400 | 413, code: 'INVALID_NDJSON' | 'LINE_TOO_LONG' | 'INVALID_REQUEST', message: string, field: string): Error {
  return Object.assign(new Error(message), { statusCode: status, code, field });
}

/**
 * Parses an NDJSON body: one JSON value per non-empty line, each line at most `maxLineBytes`.
 * @throws Error with statusCode 400 (INVALID_NDJSON) or 413 (LINE_TOO_LONG) and the field `body/line N`.
 */
export async function parseNdjson(body: string, maxLineBytes: number, check?: ItemCheck): Promise<unknown[]> {
  const out: unknown[] = [];
  const lines: number[] = [];
  let start = 0;
  let sliceEnd = SLICE_CHARS;
  for (let line = 1; start <= body.length; line++) {
    let end = body.indexOf('\n', start);
    if (end < 0) end = body.length;
    const chars = end - start;
    // n UTF-16 units are at most 3n UTF-8 bytes: only long lines need measuring.
    if (chars > maxLineBytes || (chars * 3 > maxLineBytes && Buffer.byteLength(body.slice(start, end)) > maxLineBytes)) {
      throw lineError(413, 'LINE_TOO_LONG', `line ${line} is longer than ${maxLineBytes} bytes (maxNdjsonLineBytes)`, `body/line ${line}`);
    }
    const text = body.slice(start, end).trim();
    if (text !== '') {
      let item: unknown;
      try {
        item = JSON.parse(text);
      } catch (err) {
        throw lineError(400, 'INVALID_NDJSON', `line ${line} is not valid JSON: ${(err as Error).message}`, `body/line ${line}`);
      }
      if (check && !check(item)) {
        const { field, message } = schemaFailure(`body/line ${line}`, check.errors ?? []);
        throw lineError(400, 'INVALID_REQUEST', `${field} ${message}`, field);
      }
      out.push(item);
      lines.push(line);
    }
    start = end + 1;
    if (start >= sliceEnd) {
      sliceEnd = start + SLICE_CHARS;
      await yieldToLoop();
    }
  }
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
  app.addContentTypeParser('application/x-ndjson', { parseAs: 'string', bodyLimit: MAX_JOB_BODY_BYTES }, async (req: FastifyRequest, body: string | Buffer) =>
    parseNdjson(body as string, maxLineBytes, req.compileValidationSchema(jobTaskInputSchema, 'body') as ItemCheck));
}
