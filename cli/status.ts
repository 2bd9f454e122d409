/** `gaffer status`: workers and queue depth at a glance. */
import { Command } from 'commander';
import { fail } from './fail.js';
import { addForemanApiOptions, foremanApi } from './foreman-api.js';

export function statusCommand(): Command {
  return addForemanApiOptions(new Command('status'))
    .description('Print the workers and the queue.')
    .option('--json', 'print JSON')
    .action(async (flags: { foreman: string; token?: string; json?: boolean }) => {
      const client = foremanApi(flags);
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
        fail('status', err);
      }
    });
}
