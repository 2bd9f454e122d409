/** `gaffer leaderboard`: workers' points and reputation from quorum tasks, one page, as a table or JSON. */
import { Command, Option } from 'commander';
import { addForemanApiOptions, foremanApi } from './foreman-api.js';

interface Row {
  workerId: string;
  points: number;
  valid: number;
  invalid: number;
  errors: number;
  reputation: number;
  quarantined: boolean;
}

export function leaderboardCommand(): Command {
  return addForemanApiOptions(new Command('leaderboard'))
    .description('Print the workers ranked by points (or valid, invalid, errors, reputation) from quorum tasks.')
    .addOption(new Option('--sort <column>', 'column to rank by').choices(['points', 'valid', 'invalid', 'errors', 'reputation']).default('points'))
    .addOption(new Option('--order <order>', 'ranking order').choices(['asc', 'desc']).default('desc'))
    .option('--limit <n>', 'rows per page (1-1000)', '20')
    .option('--offset <n>', 'rows to skip', '0')
    .option('--json', 'print JSON')
    .action(async (flags: { foreman: string; token?: string; sort: string; order: string; limit: string; offset: string; json?: boolean }) => {
      const client = foremanApi(flags).client;
      try {
        const query = new URLSearchParams({ sort: flags.sort, order: flags.order, limit: flags.limit, offset: flags.offset });
        const page = await client.request<{ workers: Row[]; total: number }>('GET', `/leaderboard?${query}`);
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(page, null, 2)}\n`);
          return;
        }
        process.stdout.write(`${'#'.padStart(4)}  ${'worker'.padEnd(28)} ${'points'.padStart(9)} ${'valid'.padStart(7)} ${'invalid'.padStart(7)} ${'errors'.padStart(7)}  reputation\n`);
        page.workers.forEach((w, i) => {
          const rank = Number(flags.offset) + i + 1;
          process.stdout.write(
            `${String(rank).padStart(4)}  ${w.workerId.padEnd(28)} ${String(w.points).padStart(9)} ${String(w.valid).padStart(7)} ${String(w.invalid).padStart(7)} ${String(w.errors).padStart(7)}  ${w.reputation.toFixed(3)}${w.quarantined ? '  QUARANTINED' : ''}\n`,
          );
        });
        process.stdout.write(`${page.total} workers scored\n`);
      } catch (err) {
        process.stderr.write(`gaffer leaderboard: ${(err as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
