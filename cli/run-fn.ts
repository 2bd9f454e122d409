/**
 * `gaffer run-fn file.js --args inputs.jsonl --out results.jsonl`: runs a
 * JavaScript function over every input line as one job of `js` tasks (the
 * source sent once, on the job), on workers started with `--allow-code`.
 */
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { Command, Option } from 'commander';
import { addForemanApiOptions, foremanApi } from './foreman-api.js';
import { followJob } from './submit.js';

/** One input line → the function's arguments: a JSON array is the argument list, anything else the one argument. */
export function argsOfLine(line: string, lineNo: number): unknown[] {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new Error(`line ${lineNo} is not JSON: ${(err as Error).message}`);
  }
  return Array.isArray(value) ? value : [value];
}

export function runFnCommand(): Command {
  return addForemanApiOptions(new Command('run-fn'))
    .description('Run a JavaScript function (a function expression, or a module with a default export) over each line of an inputs file, in the sandbox of workers started with --allow-code.')
    .argument('<file>', 'the function, e.g. (a, b) => a + b, or export default function (x) { … }')
    .requiredOption('--args <file>', 'inputs, one JSON value per line: an array is the argument list, anything else the single argument')
    .option('--out <file>', 'write {line, state, result, error} per input here as NDJSON, in completion order (default: stdout)')
    .option('--max-attempts <n>', 'attempts per input (a wall-clock CODE_TIMEOUT or a crashed sandbox is retried)', (v) => Number(v))
    .action(async (file: string, flags: { args: string; out?: string; foreman: string; token?: string; maxAttempts?: number }) => {
      const out = flags.out ? createWriteStream(flags.out) : process.stdout;
      try {
        const source = (await readFile(file, 'utf8')).trim();
        const lines = (await readFile(flags.args, 'utf8')).split('\n');
        // Keys tie each result back to its input line; the run id keeps them apart from other runs' keys.
        const run = randomUUID();
        const tasks: object[] = [];
        lines.forEach((text, i) => {
          if (text.trim() === '') return;
          tasks.push({ type: 'js', key: `run-fn:${run}:${i + 1}`, params: { args: argsOfLine(text, i + 1) }, ...(flags.maxAttempts ? { maxAttempts: flags.maxAttempts } : {}) });
        });
        if (tasks.length === 0) throw new Error(`${flags.args} has no inputs`);
        const client = foremanApi(flags).client;
        const started = Date.now();
        const { jobId, count } = await client.request<{ jobId: string; count: number }>('POST', '/jobs', { params: { source }, tasks });
        const summary = await followJob(client.job(jobId), count, started, {
          out,
          progress: true,
          format: (r) => ({ line: Number(String(r.key).split(':').pop()), state: r.state, result: r.result, error: r.error }),
        });
        process.stderr.write(`job ${jobId}: ${summary.succeeded} succeeded, ${summary.failed} failed of ${summary.count} in ${(summary.elapsedMs / 1000).toFixed(1)} s\n`);
        if (flags.out) await new Promise<void>((r) => (out as NodeJS.WritableStream).end(() => r()));
        process.exitCode = summary.failed + summary.cancelled > 0 ? 2 : 0;
      } catch (err) {
        process.stderr.write(`gaffer run-fn: ${(err as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
