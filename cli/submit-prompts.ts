/**
 * `gaffer submit prompts.jsonl --type llm --out results.jsonl`: one task per
 * line of a file, keyed by file and line, so the same command run again
 * after a crash, a Ctrl-C or a foreman restart submits nothing twice and
 * appends only the results missing from `--out`.
 *
 * How: the file is one job whose idempotency key names the file and type; it
 * is created open, and each line's task carries the key `<job key>:<line>`.
 * A rerun finds the same job (or creates it, if the first run never got that
 * far), resends the lines not yet in `--out` (tasks that exist come back as
 * duplicates), closes the job, and reads the job's result stream, which holds
 * every settled task, past and future. Lines already in `--out` are skipped.
 * The job is closed only once every line of the file has a task in it, so a
 * closed job means a rerun has nothing to add; lines appended to the file
 * after that are reported, not silently dropped.
 * Output lines are in completion order and carry their input `line` number.
 */
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { SingleBar } from 'cli-progress';
import { ApiError, type Client } from '../client/index.js';
import { AtPathUploader } from './upload-at-paths.js';

/** Lines per request while submitting. */
const CHUNK_LINES = 500;

export interface PromptRunOptions {
  type: string;
  out: string;
  /** Append to `out`, skipping the lines it already has (true), or start it over (false). */
  resume: boolean;
  /** Called as lines are submitted and results written. */
  onProgress?: (p: { total: number | null; done: number; failed: number }) => void;
}

export interface PromptRunSummary {
  jobId: string;
  lines: number;
  /** Results written by this run. */
  written: number;
  /** Lines `out` already had. */
  skipped: number;
  succeeded: number;
  failed: number;
  cancelled: number;
}

/** Params of one input line: an object is the params, a JSON string or any text that is not JSON is the prompt. */
export function paramsOfLine(text: string): unknown {
  try {
    const v = JSON.parse(text) as unknown;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v;
    if (typeof v === 'string') return { prompt: v };
  } catch {
    // Plain text: the line is the prompt.
  }
  return { prompt: text };
}

/**
 * The line numbers `out` already holds. A last line cut off by a crash mid-write is removed from
 * the file so that appending continues on a fresh line.
 */
export function linesDone(out: string): Set<number> {
  const done = new Set<number>();
  if (!existsSync(out)) return done;
  const text = readFileSync(out, 'utf8');
  const end = text.lastIndexOf('\n') + 1;
  if (end < text.length) {
    const fd = openSync(out, 'r+');
    try {
      ftruncateSync(fd, Buffer.byteLength(text.slice(0, end)));
    } finally {
      closeSync(fd);
    }
  }
  for (const line of text.slice(0, end).split('\n')) {
    if (line === '') continue;
    const n = (JSON.parse(line) as { line?: unknown }).line;
    if (typeof n === 'number') done.add(n);
  }
  return done;
}

/** Submits the file's missing lines as tasks of `type` and appends their results to `out`. */
export async function runPromptFile(client: Client, file: string, options: PromptRunOptions): Promise<PromptRunSummary> {
  const jobKey = `file:${createHash('sha256').update(`${await realpath(file)}\0${options.type}`).digest('hex').slice(0, 32)}`;
  const done = options.resume ? linesDone(options.out) : new Set<number>();
  const fd = openSync(options.out, options.resume ? 'a' : 'w');
  const summary: PromptRunSummary = { jobId: '', lines: 0, written: 0, skipped: done.size, succeeded: 0, failed: 0, cancelled: 0 };
  let total: number | null = null;
  const report = () => options.onProgress?.({ total, done: summary.skipped + summary.written, failed: summary.failed });
  try {
    let chunk: Array<{ type: string; params: unknown; key: string }> = [];
    let jobClosed = false;
    const uploader = new AtPathUploader(client);
    let blank = 0;
    const send = async () => {
      if (chunk.length === 0 || jobClosed) return;
      const tasks = chunk;
      chunk = [];
      if (summary.jobId === '') {
        const created = await client.request<{ jobId: string; duplicate?: boolean }>('POST', '/jobs', { key: jobKey, open: true, tasks });
        summary.jobId = created.jobId;
        if (!created.duplicate) return;
      }
      try {
        await client.request('POST', `/jobs/${summary.jobId}/tasks`, tasks);
      } catch (err) {
        // A closed job already has every line: an earlier run submitted them all and closed it.
        if (err instanceof ApiError && err.status === 409) jobClosed = true;
        else throw err;
      }
    };
    const input = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
    for await (const text of input) {
      const line = ++summary.lines;
      if (text.trim() === '') blank++;
      if (text.trim() === '' || done.has(line)) continue;
      chunk.push({ type: options.type, params: await uploader.replace(paramsOfLine(text)), key: `${jobKey}:${line}` });
      if (chunk.length >= CHUNK_LINES) await send();
    }
    await send();
    total = summary.lines;
    report();
    // Every line is in --out already: nothing was sent, so there is no job to follow.
    if (summary.jobId === '') return summary;
    if (!jobClosed) await client.request('POST', `/jobs/${summary.jobId}/close`);
    for await (const r of client.job(summary.jobId).results()) {
      const line = Number(String(r.key).slice(jobKey.length + 1));
      if (!Number.isSafeInteger(line) || done.has(line)) continue;
      done.add(line);
      const { key: _key, type: _type, ...rest } = r;
      // One write per line: a crash leaves at most one partial line, which the next run removes.
      writeSync(fd, `${JSON.stringify({ line, ...rest })}\n`);
      summary.written++;
      if (r.state === 'succeeded') summary.succeeded++;
      else if (r.state === 'failed') summary.failed++;
      else summary.cancelled++;
      report();
    }
    // Lines added to the file after its job was closed have no task in it (see the module comment).
    const missing = summary.lines - done.size - blank;
    if (missing > 0) {
      throw new Error(`${missing} lines of ${file} have no task: its job ${summary.jobId} was closed before they were added (the file changed after a complete run; give the new lines a file of their own)`);
    }
    return summary;
  } finally {
    closeSync(fd);
  }
}

/** The `--type` mode of `gaffer submit`: runs the file with a progress bar on stderr and sets the exit code (2 if any task failed). */
export async function promptFileCommand(client: Client, file: string, flags: { type: string; out?: string; resume: boolean }): Promise<void> {
  if (!flags.out) {
    process.stderr.write('gaffer submit: --type needs --out (the results file a rerun resumes)\n');
    process.exitCode = 1;
    return;
  }
  const started = Date.now();
  const bar = new SingleBar({
    format: 'gaffer |{bar}| {value}/{total} lines · {failed} failed · ETA {eta_formatted}',
    noTTYOutput: true,
    notTTYSchedule: 2000,
    stream: process.stderr,
    etaBuffer: 200,
  });
  bar.start(0, 0, { failed: 0 });
  try {
    const s = await runPromptFile(client, file, {
      type: flags.type,
      out: flags.out,
      resume: flags.resume,
      onProgress: (p) => {
        if (p.total !== null) bar.setTotal(p.total);
        bar.update(p.done, { failed: p.failed });
      },
    });
    bar.stop();
    process.stderr.write(
      `${s.lines} lines: ${s.written} results written (${s.succeeded} succeeded, ${s.failed} failed, ${s.cancelled} cancelled), ${s.skipped} already in ${flags.out}` +
        `${s.jobId ? `; job ${s.jobId}` : ''} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
    );
    process.exitCode = s.failed > 0 ? 2 : 0;
  } catch (err) {
    bar.stop();
    process.stderr.write(`gaffer submit: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
