/** `gaffer status`: workers and queue depth at a glance. */
import { Command, Option } from 'commander';
import { Client } from '../client/index.js';

export function statusCommand(): Command {
  return new Command('status')
    .description('Print the workers and the queue.')
    .addOption(new Option('--foreman <url>', 'foreman HTTP URL').env('GAFFER_FOREMAN_URL').default('http://127.0.0.1:9000'))
    .addOption(new Option('--token <token>', 'API token').env('GAFFER_API_TOKEN'))
    .option('--json', 'print JSON')
    .action(async (flags: { foreman: string; token?: string; json?: boolean }) => {
      const client = new Client({ foreman: flags.foreman, token: flags.token ?? null });
      try {
        const [stats, workers] = await Promise.all([client.stats(), client.workers()]);
        if (flags.json) {
          process.stdout.write(`${JSON.stringify({ stats, workers }, null, 2)}\n`);
          return;
        }
        const t = stats.tasks;
        process.stdout.write(
          `tasks: ${t.queued} queued, ${t.running} running, ${t.cancelling} cancelling, ${t.succeeded} succeeded, ${t.failed} failed, ${t.cancelled} cancelled\n`,
        );
        for (const [type, q] of Object.entries(stats.queue.byType) as Array<[string, { depth: number; workersWithSkill: number }]>) {
          process.stdout.write(`  queue ${type}: ${q.depth} waiting${q.workersWithSkill === 0 ? ' (no connected worker has this skill)' : ''}\n`);
        }
        process.stdout.write(`workers (${workers.length}):\n`);
        for (const w of workers) {
          const hb = w.lastHeartbeatAgeMs === null ? '-' : `${(w.lastHeartbeatAgeMs / 1000).toFixed(1)}s ago`;
          process.stdout.write(`  ${w.id.padEnd(24)} ${w.state.padEnd(9)} ${w.slotsInUse}/${w.capacity} slots  heartbeat ${hb}  ${w.address ?? ''}\n`);
        }
      } catch (err) {
        process.stderr.write(`gaffer status: ${(err as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
