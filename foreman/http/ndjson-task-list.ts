/**
 * Lines of an NDJSON body, and a big body of plain tasks kept as its buffers (outside the JS heap)
 * rather than one object per line: the submission parses it again a slice at a time as it writes the
 * tasks, so only a slice of line objects is alive at once (ndjson.ts says why).
 */
import { StringDecoder } from 'node:string_decoder';
import type { TaskInput, TaskSlices } from '../task-types.js';
import { TurnBudget } from '../turn-budget.js';
import { type AjvError, schemaFailure } from './schema-errors.js';

/** Bodies of more tasks than this may become an NdjsonTaskList; smaller ones stay an array (and get `taskIds`). */
export const STREAMED_TASKS_MIN = 1000;

/** Characters parsed between looks at the turn budget: ~110 short tasks, well under a millisecond once warm. */
const PIECE_CHARS = 4 * 1024;

/** `chunk` in pieces of PIECE_CHARS (the splitter's decoder joins a character cut between two). */
export function* piecesOf(chunk: Buffer | string): Generator<Buffer | string> {
  for (let at = 0; at < chunk.length; at += PIECE_CHARS) yield typeof chunk === 'string' ? chunk.slice(at, at + PIECE_CHARS) : chunk.subarray(at, at + PIECE_CHARS);
}

/** Checks one parsed line in place (the route's compiler: its coercions and defaults apply); sets `errors` when it fails. */
export type ItemCheck = ((item: unknown) => boolean) & { errors?: AjvError[] | null };

/** Whether a task can be written on its own, a slice at a time: a key, a dependency or a quorum relates it to other tasks. */
export const isPlainTask = (t: TaskInput): boolean =>
  t.key === undefined && t.dependsOn === undefined && t.dependsOnKeys === undefined && t.quorum === undefined;

export function lineError(status: 400 | 413, code: 'INVALID_NDJSON' | 'LINE_TOO_LONG' | 'INVALID_REQUEST' | 'BODY_TOO_LARGE', message: string, field: string): Error {
  return Object.assign(new Error(message), { statusCode: status, code, field });
}

/**
 * Splits NDJSON as its chunks come into lines, and parses and checks each non-empty one: `onItem` gets
 * it with its line number (1-based). A line longer than `maxLineBytes` is refused before the rest of it arrives.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  /** The start of a line whose end has not arrived yet. */
  private pending = '';
  private line = 0;

  constructor(
    private readonly maxLineBytes: number,
    private readonly check: ItemCheck | undefined,
    private readonly onItem: (item: unknown, line: number) => void,
  ) {}

  /** Takes the next chunk. */
  write(chunk: Buffer | string): void {
    const piece = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    let start = 0;
    for (let end = piece.indexOf('\n'); end >= 0; end = piece.indexOf('\n', start)) {
      this.take(this.pending + piece.slice(start, end));
      this.pending = '';
      start = end + 1;
    }
    this.pending += piece.slice(start);
    if (this.pending.length > this.maxLineBytes) this.take(this.pending);
  }

  /** The body is over: takes its last line. */
  end(): void {
    this.take(this.pending + this.decoder.end());
    this.pending = '';
  }

  private take(text: string): void {
    const line = ++this.line;
    const max = this.maxLineBytes;
    // n UTF-16 units are at most 3n UTF-8 bytes: only long lines need measuring.
    if (text.length > max || (text.length * 3 > max && Buffer.byteLength(text) > max)) {
      throw lineError(413, 'LINE_TOO_LONG', `line ${line} is longer than ${max} bytes (maxNdjsonLineBytes)`, `body/line ${line}`);
    }
    const trimmed = text.trim();
    if (trimmed === '') return;
    let item: unknown;
    try {
      item = JSON.parse(trimmed);
    } catch (err) {
      throw lineError(400, 'INVALID_NDJSON', `line ${line} is not valid JSON: ${(err as Error).message}`, `body/line ${line}`);
    }
    const check = this.check;
    if (check && !check(item)) {
      const { field, message } = schemaFailure(`body/line ${line}`, check.errors ?? []);
      throw lineError(400, 'INVALID_REQUEST', `${field} ${message}`, field);
    }
    this.onItem(item, line);
  }
}

/** A checked NDJSON body of `count` plain tasks (isPlainTask), as the buffers it came in. */
export class NdjsonTaskList implements TaskSlices {
  constructor(
    private readonly chunks: ReadonlyArray<Buffer | string>,
    readonly count: number,
    private readonly maxLineBytes: number,
    private readonly check: ItemCheck | undefined,
  ) {}

  /**
   * The tasks, parsed again (and checked again, for the schema's coercions and defaults), `size()` at a
   * time (asked before each slice is cut, so the caller can adapt it).
   */
  async *slices(size: () => number): AsyncGenerator<TaskInput[]> {
    let ready: TaskInput[] = [];
    const splitter = new LineSplitter(this.maxLineBytes, this.check, (item) => void ready.push(item as TaskInput));
    const budget = new TurnBudget();
    for (const chunk of this.chunks) {
      for (const piece of piecesOf(chunk)) {
        splitter.write(piece);
        let start = 0;
        for (let n = size(); ready.length - start >= n; n = size()) {
          yield ready.slice(start, start + n);
          start += n;
        }
        ready = ready.slice(start);
        await budget.pace();
      }
    }
    splitter.end();
    if (ready.length > 0) yield ready;
  }
}
