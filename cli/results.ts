/** `gaffer results JOB [--out FILE] [--follow]`: a job's results as NDJSON, so far or until the job completes. */
import { createWriteStream } from 'node:fs';
import { Command, Option } from 'commander';
import { fail } from './fail.js';
import { addForemanApiOptions, foremanApi } from './foreman-api.js';

export function resultsCommand(): Command {
  return addForemanApiOptions(new Command('results'))
    .description("Print a job's results as NDJSON (id, key, type, state, status, result, error, attempt, workerId).")
    .argument('<job>', 'job id (j_…), as printed by gaffer submit')
    .addOption(new Option('--out <file>', 'write the results here (default: stdout)'))
    .addOption(new Option('--follow', 'keep writing results as they are accepted until the job completes'))
    .action(async (job: string, flags: { foreman: string; token?: string; out?: string; follow?: boolean }) => {
      const out = flags.out ? createWriteStream(flags.out) : process.stdout;
      let count = 0;
      try {
        for await (const r of foremanApi(flags).results(job, { follow: flags.follow === true })) {
          out.write(`${JSON.stringify(r)}\n`);
          count++;
        }
        if (flags.out) await new Promise<void>((r) => (out as NodeJS.WritableStream).end(() => r()));
        process.stderr.write(`${count} results of job ${job}${flags.follow ? ' (complete)' : ' so far'}\n`);
      } catch (err) {
        fail('results', err);
      }
    });
}
