/** `gaffer schedule add|list|rm`: recurring schedules over the foreman's HTTP API (POST/GET/DELETE /schedules). */
import { Command, Option } from 'commander';
import { fail, UsageError } from './fail.js';
import { addForemanApiOptions, foremanApi } from './foreman-api.js';

type ApiFlags = { foreman: string; token?: string };

export function scheduleCommand(): Command {
  const cmd = new Command('schedule').description('Recurring schedules: submit a task at every tick of a cron expression, exactly once per tick.');

  addForemanApiOptions(cmd.command('add'))
    .description('Create or replace a schedule.')
    .argument('<name>', 'schedule name')
    .argument('<cron>', "cron expression, 5 fields or 6 with seconds first (quote it: '*/5 * * * *')")
    .requiredOption('--type <type>', 'task type submitted at each tick')
    .option('--params <json>', 'task params, as JSON', 'null')
    .option('--timezone <zone>', "IANA time zone the expression is read in (default: the foreman's)")
    .addOption(new Option('--catch-up <mode>', 'ticks missed while the foreman was down: fire once on start, or skip').choices(['once', 'skip']).default('once'))
    .action(async (name: string, cron: string, flags: ApiFlags & { type: string; params: string; timezone?: string; catchUp: 'once' | 'skip' }) => {
      try {
        let params: unknown;
        try {
          params = JSON.parse(flags.params);
        } catch {
          throw new UsageError('--params must be JSON');
        }
        const body = { name, cron, catchUp: flags.catchUp, task: { type: flags.type, params }, ...(flags.timezone ? { timezone: flags.timezone } : {}) };
        const s = await foremanApi(flags).client.request<{ nextRunAt: number | null }>('POST', '/schedules', body);
        process.stdout.write(`schedule ${name}: next tick ${s.nextRunAt === null ? 'none' : new Date(s.nextRunAt).toISOString()}\n`);
      } catch (err) {
        fail('schedule', err);
      }
    });

  addForemanApiOptions(cmd.command('list'))
    .description('List schedules.')
    .option('--json', 'print JSON')
    .action(async (flags: ApiFlags & { json?: boolean }) => {
      try {
        const { schedules } = await foremanApi(flags).client.request<{ schedules: Array<{ name: string; cron: string; timezone: string | null; task: { type: string }; nextRunAt: number | null; firings: number }> }>('GET', '/schedules');
        if (flags.json) return void process.stdout.write(`${JSON.stringify(schedules)}\n`);
        if (schedules.length === 0) process.stdout.write('no schedules\n');
        for (const s of schedules) {
          process.stdout.write(`${s.name.padEnd(24)} ${s.cron.padEnd(18)} ${(s.timezone ?? '').padEnd(16)} ${s.task.type.padEnd(16)} next ${s.nextRunAt === null ? 'none' : new Date(s.nextRunAt).toISOString()}  fired ${s.firings}\n`);
        }
      } catch (err) {
        fail('schedule', err);
      }
    });

  addForemanApiOptions(cmd.command('rm'))
    .description('Delete a schedule (the tasks it submitted stay).')
    .argument('<name>', 'schedule name')
    .action(async (name: string, flags: ApiFlags) => {
      try {
        await foremanApi(flags).client.request('DELETE', `/schedules/${encodeURIComponent(name)}`);
        process.stdout.write(`schedule ${name} deleted\n`);
      } catch (err) {
        fail('schedule', err);
      }
    });
  return cmd;
}
