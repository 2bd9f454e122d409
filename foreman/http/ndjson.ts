/**
 * NDJSON job bodies (`content-type: application/x-ndjson`): one task per line.
 * Parsing runs in slices that yield to the event loop between them, so a
 * 200,000-line import does not stall dispatch, heartbeats or other requests.
 * The line number of each parsed item is remembered, so a validation error
 * names `body/line N/…` (1-based, as an editor shows it) rather than the item's index.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';

/** Largest job body, in bytes; NDJSON lets a client send this many without building one JSON array. */
export const MAX_JOB_BODY_BYTES = 256 * 1024 * 1024;

/** Characters parsed between yields to the event loop: about 1 ms of JSON.parse. */
const SLICE_CHARS = 256 * 1024;

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

function lineError(status: 400 | 413, code: 'INVALID_NDJSON' | 'LINE_TOO_LONG', line: number, message: string): Error {
  return Object.assign(new Error(message), { statusCode: status, code, field: `body/line ${line}` });
}

/**
 * Parses an NDJSON body: one JSON value per non-empty line, each line at most `maxLineBytes`.
 * @throws Error with statusCode 400 (INVALID_NDJSON) or 413 (LINE_TOO_LONG) and the field `body/line N`.
 */
export async function parseNdjson(body: string, maxLineBytes: number): Promise<unknown[]> {
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
      throw lineError(413, 'LINE_TOO_LONG', line, `line ${line} is longer than ${maxLineBytes} bytes (maxNdjsonLineBytes)`);
    }
    const text = body.slice(start, end).trim();
    if (text !== '') {
      try {
        out.push(JSON.parse(text));
      } catch (err) {
        throw lineError(400, 'INVALID_NDJSON', line, `line ${line} is not valid JSON: ${(err as Error).message}`);
      }
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
  app.addContentTypeParser('application/x-ndjson', { parseAs: 'string', bodyLimit: MAX_JOB_BODY_BYTES }, async (_req: unknown, body: string | Buffer) => parseNdjson(body as string, maxLineBytes));
}
