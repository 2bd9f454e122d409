/**
 * `gaffer submit tasks.jsonl`: streams a file of tasks into one job (batch by batch, so a 2 GB file needs
 * no more memory than a batch and the map of unsettled task ids), prints the job id as soon as the job
 * exists, follows the results as they are accepted, and writes each with the input line it came from.
 */
import { createWriteStream } from 'node:fs';
import { SingleBar } from 'cli-progress';
import { Command, Option } from 'commander';
import type { JobHandle } from '../client/index.js';
import { formatDuration } from './duration.js';
import { fail, UsageError } from './fail.js';
import { addForemanApiOptions, foremanApi, type ForemanApi, type TaskLine } from './foreman-api.js';
import { promptFileCommand } from './submit-prompts.js';
import { readTaskLines } from './task-file.js';
import { AtPathUploader } from './upload-at-paths.js';

export interface SubmitSummary {
  jobId: string;
  count: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  elapsedMs: number;
}

export interface SubmitOptions {
  /** Where result lines go (NDJSON). Default: nowhere. */
  out?: NodeJS.WritableStream;
  /** Show a progress bar. Default false. */
  progress?: boolean;
  /** Where the progress bar and notices go. Default stderr. */
  stream?: NodeJS.WriteStream;
  /** Called once, as soon as the job exists (before the rest of the file is uploaded). */
  onJob?(jobId: string): void;
  /** Most tasks per request. Default 1000 (the most the API lists ids for). */
  batchTasks?: number;
  /** How often to ask which types wait for a worker, in ms. Default 2000. */
  waitCheckMs?: number;
}

/** Most bytes of task text per request; well under the foreman's JSON body limit (8 MiB by default). */
const BATCH_BYTES = 4 * 1024 * 1024;
/** Distinct task types watched for "no worker has this skill"; a file with more is unusual, and the rest go unwatched. */
const MAX_WATCHED_TYPES = 1000;

/**
 * The progress bar of `submit` (and `run-fn`). The time left is our own `{remaining}`: cli-progress's built-in
 * `{eta}` token would win over a payload of that name, and its `{eta_formatted}` printed `1m60s`.
 */
function progressBar(stream: NodeJS.WritableStream): SingleBar {
  return new SingleBar({ format: 'gaffer |{bar}| {value}/{total} done · {failed} failed · {rate}/s · ETA {remaining}', noTTYOutput: true, notTTYSchedule: 2000, stream: stream as NodeJS.WriteStream, hideCursor: null });
}

/** The bar's figures after `done` of `total` settled, `started` ms since the epoch. */
function barPayload(done: number, total: number, failed: number, started: number): { failed: number; rate: number; remaining: string } {
  const perSecond = done / Math.max(0.001, (Date.now() - started) / 1000);
  return { failed, rate: Math.round(perSecond), remaining: done === 0 ? '?' : formatDuration((total - done) / perSecond) };
}

/**
 * Which input line each task came from, held only until its result arrives. A result can overtake its
 * batch's response (tasks settle while the upload goes on), so such results wait in `early` for their line.
 */
class LineTracker {
  private readonly lines = new Map<string, number>();
  private readonly early = new Map<string, Record<string, unknown>>();
  constructor(private readonly emit: (line: number | null, result: Record<string, unknown>) => void) {}

  submitted(id: string, line: number): void {
    const result = this.early.get(id);
    if (result) {
      this.early.delete(id);
      this.emit(line, result);
    } else this.lines.set(id, line);
  }

  settled(result: Record<string, unknown>): void {
    const id = String(result.id);
    const line = this.lines.get(id);
    if (line === undefined) this.early.set(id, result);
    else {
      this.lines.delete(id);
      this.emit(line, result);
    }
  }

  /** Results never matched to a line (none expected; written without one rather than lost). */
  flushUnmatched(): void {
    for (const r of this.early.values()) this.emit(null, r);
    this.early.clear();
  }
}

/** Where in a batch a 400's `field` (e.g. `body/17/type`, or `body/tasks/17/type` for the first batch) points. */
function batchIndex(field: unknown): number | null {
  const m = /^body\/(?:tasks\/)?(\d+)/.exec(String(field ?? ''));
  return m ? Number(m[1]) : null;
}

/**
 * Submits task lines as one job and follows its results.
 * @throws UsageError naming the line when the foreman refuses a task (the job is then cancelled).
 */
export async function submitAndFollow(api: ForemanApi, lines: AsyncIterable<TaskLine> | Iterable<TaskLine>, opts: SubmitOptions = {}): Promise<SubmitSummary> {
  const started = Date.now();
  const stream = opts.stream ?? process.stderr;
  const batchTasks = opts.batchTasks ?? 1000;
  const summary: SubmitSummary = { jobId: '', count: 0, succeeded: 0, failed: 0, cancelled: 0, elapsedMs: 0 };
  let done = 0;
  const bar = opts.progress
    ? progressBar(stream)
    : null;
  const tracker = new LineTracker((line, r) => {
    done++;
    if (r.state === 'succeeded') summary.succeeded++;
    else if (r.state === 'failed') summary.failed++;
    else summary.cancelled++;
    opts.out?.write(`${JSON.stringify({ line, ...r })}\n`);
    bar?.update(done, barPayload(done, summary.count, summary.failed, started));
  });

  let jobId: string | null = null;
  let following: Promise<void> | null = null;
  const follow = async (id: string) => {
    for await (const r of api.results(id, { follow: true })) tracker.settled(r);
  };
  const types = new Set<string>();
  let batch: TaskLine[] = [];
  let batchBytes = 0;
  const send = async () => {
    if (batch.length === 0) return;
    const tasks = batch.map((b) => b.task);
    let ids: string[];
    try {
      if (jobId === null) {
        const created = await api.createOpenJob(tasks);
        jobId = summary.jobId = created.jobId;
        opts.onJob?.(jobId);
        bar?.start(0, 0, barPayload(0, 0, 0, started));
        following = follow(jobId);
        // An unhandled rejection before we await it would end the process; it is awaited below.
        following.catch(() => {});
        ids = created.taskIds ?? [];
      } else ids = (await api.appendTasks(jobId, tasks)).taskIds;
    } catch (err) {
      throw await refused(err);
    }
    ids.forEach((id, i) => tracker.submitted(id, batch[i].line));
    summary.count += batch.length;
    bar?.setTotal(summary.count);
    batch = [];
    batchBytes = 0;
  };
  // The foreman refused a task: name its line.
  const refused = async (err: unknown): Promise<unknown> => {
    const body = (err as { body?: { field?: unknown; message?: unknown } }).body;
    const index = batchIndex(body?.field);
    if (index === null || index >= batch.length) return err;
    return new UsageError(`line ${batch[index].line}: ${String(body?.message)}`);
  };
  // A bad line after the job exists: cancel what was already submitted, so nothing half-runs unnoticed.
  let closed = false;
  const abandon = async (err: unknown): Promise<unknown> => {
    if (jobId === null || closed || !(err instanceof UsageError)) return err;
    await api.cancel(jobId).catch(() => {});
    await api.closeJob(jobId).catch(() => {});
    return new UsageError(`${err.message}; job ${jobId} (${summary.count} tasks so far) was cancelled`);
  };

  const watcher = setInterval(() => void warnWaiting(), opts.waitCheckMs ?? 2000);
  watcher.unref();
  const warned = new Set<string>();
  const warnWaiting = async () => {
    const byType = await api.queueByType().catch(() => ({}) as Awaited<ReturnType<ForemanApi['queueByType']>>);
    for (const [type, q] of Object.entries(byType)) {
      if (!types.has(type) || warned.has(type) || q.depth === 0 || q.workersWithSkill > 0) continue;
      warned.add(type);
      stream.write(`\ngaffer submit: ${q.depth} tasks of type "${type}" wait: no connected worker has this skill (start a worker whose --handlers registers "${type}")\n`);
    }
  };

  try {
    for await (const tl of lines) {
      const type = (tl.task as { type?: unknown }).type;
      if (typeof type === 'string' && types.size < MAX_WATCHED_TYPES) types.add(type);
      batch.push(tl);
      batchBytes += tl.bytes;
      if (batch.length >= batchTasks || batchBytes >= BATCH_BYTES) await send();
    }
    await send();
    if (jobId === null) throw new UsageError('the file holds no tasks');
    await api.closeJob(jobId);
    closed = true;
    await warnWaiting();
    await following;
    tracker.flushUnmatched();
  } catch (err) {
    throw await abandon(err);
  } finally {
    clearInterval(watcher);
    bar?.stop();
  }
  summary.elapsedMs = Date.now() - started;
  return summary;
}

/**
 * Follows a submitted job's results to the end, with a progress bar on stderr when `progress`.
 * @param format turns each result line into what is written to `out` (default: the line as is).
 */
export async function followJob(
  job: JobHandle,
  count: number,
  started: number,
  opts: { out?: NodeJS.WritableStream; progress?: boolean; stream?: NodeJS.WriteStream; format?: (r: Record<string, any>) => unknown } = {},
): Promise<SubmitSummary> {
  const bar = opts.progress
    ? progressBar(opts.stream ?? process.stderr)
    : null;
  bar?.start(count, 0, barPayload(0, count, 0, started));
  const summary: SubmitSummary = { jobId: job.id, count, succeeded: 0, failed: 0, cancelled: 0, elapsedMs: 0 };
  let done = 0;
  for await (const r of job.results()) {
    done++;
    if (r.state === 'succeeded') summary.succeeded++;
    else if (r.state === 'failed') summary.failed++;
    else summary.cancelled++;
    opts.out?.write(`${JSON.stringify(opts.format ? opts.format(r) : r)}\n`);
    bar?.update(done, barPayload(done, count, summary.failed, started));
  }
  bar?.stop();
  summary.elapsedMs = Date.now() - started;
  return summary;
}

export function submitCommand(): Command {
  return addForemanApiOptions(new Command('submit'))
    .description('Submit a JSONL file of tasks ({"type":…, "params":…} per line) as one job and follow its results. A params string "@path" naming a file is uploaded as a blob and replaced by its reference.')
    .argument('<file>', 'tasks, one JSON object per line; read as a stream')
    .addOption(new Option('--out <file>', 'write results here as NDJSON, each with its input "line" (default: stdout)'))
    .option('--type <type>', 'every line is the params of one task of this type (an object, or a prompt: a JSON string or plain text), keyed by file and line; needs --out')
    .option('--no-resume', 'with --type: start --out over instead of appending the results it lacks')
    .action(async (file: string, flags: { foreman: string; token?: string; out?: string; type?: string; resume: boolean }) => {
      if (flags.type !== undefined) return promptFileCommand(foremanApi(flags).client, file, { type: flags.type, out: flags.out, resume: flags.resume });
      const out = flags.out ? createWriteStream(flags.out) : process.stdout;
      let jobId: string | null = null;
      // Ctrl-C leaves the job running on the foreman: say how to reach it again.
      process.once('SIGINT', () => {
        if (jobId) process.stderr.write(`\njob ${jobId} keeps running on the foreman: gaffer results ${jobId} --follow, or gaffer cancel ${jobId}\n`);
        process.exit(130);
      });
      try {
        const api = foremanApi(flags);
        const summary = await submitAndFollow(api, readTaskLines(file, new AtPathUploader(api.client)), {
          out,
          progress: true,
          onJob: (id) => {
            jobId = id;
            process.stderr.write(`job ${id} (gaffer results ${id} --follow · gaffer cancel ${id})\n`);
          },
        });
        process.stderr.write(
          `job ${summary.jobId}: ${summary.succeeded} succeeded, ${summary.failed} failed, ${summary.cancelled} cancelled of ${summary.count} in ${(summary.elapsedMs / 1000).toFixed(1)} s\n`,
        );
        if (flags.out) await new Promise<void>((r) => (out as NodeJS.WritableStream).end(() => r()));
        process.exitCode = summary.failed > 0 ? 2 : 0;
      } catch (err) {
        fail('submit', err);
      }
    });
}
