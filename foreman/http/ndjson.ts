/**
 * NDJSON job bodies (`content-type: application/x-ndjson`): one task per line.
 * Parsing, and checking each line against the task schema, run in slices that
 * yield to the event loop between them, so a 200,000-line import does not stall
 * dispatch, heartbeats or other requests (the route's own schema then checks nothing:
 * one pass over 200,000 items held the loop; the parser refuses an empty body itself).
 * A big body of plain tasks is not kept as one object per line either: the route
 * gets an NdjsonTaskList (ndjson-task-list.ts), which parses it again a slice at a
 * time as the tasks are written.
 * An error names `body/line N/…` (1-based, as an editor shows it); the line number
 * of each item is remembered, so later errors naming an item's index do too.
 */
import type { FastifyInstance, FastifyRequest, FastifySchema } from 'fastify';
import type { TaskInput } from '../task-types.js';
import { TurnBudget } from '../turn-budget.js';
import { isPlainTask, type ItemCheck, LineSplitter, lineError, NdjsonTaskList, piecesOf, STREAMED_TASKS_MIN } from './ndjson-task-list.js';
import { jobTaskInputSchema } from './schemas.js';

export type { ItemCheck } from './ndjson-task-list.js';
export { NdjsonTaskList } from './ndjson-task-list.js';

/** Largest job body, in bytes; NDJSON lets a client send this many without building one JSON array. */
export const MAX_JOB_BODY_BYTES = 256 * 1024 * 1024;

/**
 * The NDJSON body's schema as the route validates it: nothing left to check. Each line is one task
 * object, as in the application/json array, checked while parsing (an empty body too); the body is
 * an array of them, or the NdjsonTaskList of a big body of plain tasks.
 */
export const ndjsonTasksSchema = { description: 'one task object per line' };

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route takes an NdjsonTaskList for a big NDJSON body of plain tasks (see isPlainTask). */
    ndjsonTaskList?: boolean;
  }
}

/**
 * The documented schema (OpenAPI) of a route taking an NDJSON task list: each item the task schema, as
 * validated while parsing. For a route's `config.swaggerTransform`.
 */
export function documentNdjsonItems({ schema, url }: { schema: FastifySchema; url: string }): { schema: FastifySchema; url: string } {
  const body = schema.body as { content?: Record<string, unknown> } | undefined;
  if (!body?.content?.['application/x-ndjson']) return { schema, url };
  const ndjson = { schema: { type: 'array', minItems: 1, description: ndjsonTasksSchema.description, items: jobTaskInputSchema } };
  return { schema: { ...schema, body: { ...body, content: { ...body.content, 'application/x-ndjson': ndjson } } }, url };
}

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

/**
 * Parses an NDJSON body as it arrives, chunk by chunk: one JSON value per non-empty line, each line at
 * most `maxLineBytes`, the whole at most `maxBodyBytes`. Reading it whole first cost one turn of
 * ~60 ms for 7.5 MB (concatenating and decoding the buffers); now each chunk's lines are decoded,
 * parsed and checked when it comes, a piece at a time, yielding to the event loop as each turn's
 * budget runs out (turn-budget.ts).
 * @param taskList when set, a body of more than STREAMED_TASKS_MIN lines that are all plain tasks is
 *   returned as an NdjsonTaskList: the parsed lines are dropped, the body's buffers kept (outside the
 *   JS heap). 200,000 live line objects made the young-generation GC pause for 20-30 ms at a time.
 * @throws Error with statusCode 400 (INVALID_NDJSON, INVALID_REQUEST) or 413 (LINE_TOO_LONG, BODY_TOO_LARGE) and its field.
 */
export async function parseNdjson(
  body: string | AsyncIterable<Buffer | string>,
  maxLineBytes: number,
  check?: ItemCheck,
  maxBodyBytes = MAX_JOB_BODY_BYTES,
  taskList = false,
): Promise<unknown[] | NdjsonTaskList> {
  /** The parsed lines, until the body is known to become an NdjsonTaskList. */
  let out: unknown[] | null = [];
  const lines: number[] = [];
  let count = 0;
  let plain = true;
  const chunks: Array<Buffer | string> = [];
  const splitter = new LineSplitter(maxLineBytes, check, (item, line) => {
    count++;
    if (taskList) plain &&= isPlainTask(item as TaskInput);
    if (out === null) return;
    out.push(item);
    lines.push(line);
    if (taskList && plain && count > STREAMED_TASKS_MIN) {
      out = null;
      lines.length = 0;
    }
  });
  let received = 0;
  await feed(splitter, typeof body === 'string' ? [body] : body, (chunk) => {
    received += chunk.length;
    if (received > maxBodyBytes) throw lineError(413, 'BODY_TOO_LARGE', `the body is too large: over ${maxBodyBytes} bytes`, 'body');
    if (taskList) chunks.push(chunk);
  });
  if (count === 0) throw lineError(400, 'INVALID_REQUEST', 'body must hold at least one task (one JSON object per line)', 'body');
  if (out !== null) {
    lineNumbers.set(out, lines);
    return out;
  }
  if (plain) return new NdjsonTaskList(chunks, count, maxLineBytes, check);
  // A line after the first STREAMED_TASKS_MIN relates to other tasks: the route needs every line as an
  // object after all, so they are parsed again from the buffers kept.
  const all: unknown[] = [];
  const again = new LineSplitter(maxLineBytes, check, (item, line) => {
    all.push(item);
    lines.push(line);
  });
  await feed(again, chunks);
  lineNumbers.set(all, lines);
  return all;
}

/** Feeds each chunk of `source` to `splitter` (after `onChunk`) a piece at a time, yielding to the event loop as the turn budget runs out. */
async function feed(splitter: LineSplitter, source: Iterable<Buffer | string> | AsyncIterable<Buffer | string>, onChunk?: (chunk: Buffer | string) => void): Promise<void> {
  const budget = new TurnBudget();
  for await (const chunk of source) {
    onChunk?.(chunk);
    for (const piece of piecesOf(chunk)) {
      splitter.write(piece);
      await budget.pace();
    }
  }
  splitter.end();
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
    const check = itemCheck ?? (req.compileValidationSchema(jobTaskInputSchema, 'body') as ItemCheck);
    return parseNdjson(payload, maxLineBytes, check, limit, req.routeOptions.config.ndjsonTaskList === true);
  });
}
