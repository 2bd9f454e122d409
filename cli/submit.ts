/** `gaffer submit tasks.jsonl`: submits a file of tasks as one job, shows progress, writes results as they arrive. */
import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Command, Option } from 'commander';
import { SingleBar } from 'cli-progress';
import { Client, type JobHandle } from '../client/index.js';
import { promptFileCommand } from './submit-prompts.js';
import { AtPathUploader } from './upload-at-paths.js';

export interface SubmitSummary {
  jobId: string;
  count: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  elapsedMs: number;
}

/**
 * The tasks of a JSONL file, read as they are sent (a file of a million lines is never held whole).
 * @throws Error naming the line that is not JSON.
 */
export async function* tasksOfFile(file: string, uploader?: AtPathUploader): AsyncGenerator<any> {
  let line = 0;
  for await (const text of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    line++;
    if (text.trim() === '') continue;
    let task: { params?: unknown };
    try {
      task = JSON.parse(text);
    } catch (err) {
      throw new Error(`${file} line ${line} is not valid JSON: ${(err as Error).message}`);
    }
    if (uploader && task !== null && typeof task === 'object' && task.params !== undefined) task.params = await uploader.replace(task.params);
    yield task;
  }
}

/** Submits tasks as one job (streamed) and follows its results, writing each result line to `out` as it arrives. */
export async function submitAndFollow(
  client: Client,
  tasks: Iterable<any> | AsyncIterable<any>,
  opts: { out?: NodeJS.WritableStream; progress?: boolean; stream?: NodeJS.WriteStream } = {},
): Promise<SubmitSummary> {
  const started = Date.now();
  const job = await client.submitJob(tasks);
  return followJob(job, job.count ?? 0, started, opts);
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
  const jobId = job.id;
  const bar = opts.progress
    ? new SingleBar({
        format: 'gaffer |{bar}| {value}/{total} done · {failed} failed · {rate}/s · ETA {eta_formatted}',
        noTTYOutput: true,
        notTTYSchedule: 2000,
        stream: opts.stream ?? process.stderr,
        etaBuffer: 200,
      })
    : null;
  bar?.start(count, 0, { failed: 0, rate: 0 });
  const summary: SubmitSummary = { jobId, count, succeeded: 0, failed: 0, cancelled: 0, elapsedMs: 0 };
  let done = 0;
  for await (const r of job.results()) {
    done++;
    if (r.state === 'succeeded') summary.succeeded++;
    else if (r.state === 'failed') summary.failed++;
    else summary.cancelled++;
    opts.out?.write(`${JSON.stringify(opts.format ? opts.format(r) : r)}\n`);
    const rate = Math.round(done / Math.max(0.001, (Date.now() - started) / 1000));
    bar?.update(done, { failed: summary.failed, rate });
  }
  bar?.stop();
  summary.elapsedMs = Date.now() - started;
  return summary;
}

export function submitCommand(): Command {
  return new Command('submit')
    .description('Submit a JSONL file of tasks ({"type":…, "params":…} per line) as one job and follow it. A params string "@path" naming a file is uploaded as a blob and replaced by its reference.')
    .argument('<file>', 'tasks, one JSON object per line')
    .addOption(new Option('--foreman <url>', 'foreman HTTP URL').env('GAFFER_FOREMAN_URL').default('http://127.0.0.1:9000'))
    .addOption(new Option('--token <token>', 'API token').env('GAFFER_API_TOKEN'))
    .option('--out <file>', 'write results here as NDJSON (default: stdout)')
    .option('--type <type>', 'every line is the params of one task of this type (an object, or a prompt: a JSON string or plain text), keyed by file and line; needs --out')
    .option('--no-resume', 'with --type: start --out over instead of appending the results it lacks')
    .action(async (file: string, flags: { foreman: string; token?: string; out?: string; type?: string; resume: boolean }) => {
      const client = new Client({ foreman: flags.foreman, token: flags.token ?? null });
      if (flags.type !== undefined) return promptFileCommand(client, file, { type: flags.type, out: flags.out, resume: flags.resume });
      const out = flags.out ? createWriteStream(flags.out) : process.stdout;
      try {
        const summary = await submitAndFollow(client, tasksOfFile(file, new AtPathUploader(client)), { out, progress: true });
        process.stderr.write(
          `job ${summary.jobId}: ${summary.succeeded} succeeded, ${summary.failed} failed, ${summary.cancelled} cancelled of ${summary.count} in ${(summary.elapsedMs / 1000).toFixed(1)} s\n`,
        );
        if (flags.out) await new Promise<void>((r) => (out as NodeJS.WritableStream).end(() => r()));
        process.exitCode = summary.failed > 0 ? 2 : 0;
      } catch (err) {
        process.stderr.write(`gaffer submit: ${(err as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
