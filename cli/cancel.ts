/** `gaffer cancel JOB|TASK`: cancels a whole job (j_…) or one task (t_…). */
import { Command } from 'commander';
import { fail, UsageError } from './fail.js';
import { addForemanApiOptions, foremanApi } from './foreman-api.js';

export function cancelCommand(): Command {
  return addForemanApiOptions(new Command('cancel'))
    .description('Cancel a job (every task not yet settled) or one task; running tasks get their abort signal.')
    .argument('<id>', 'a job id (j_…) or a task id (t_…)')
    .action(async (id: string, flags: { foreman: string; token?: string }) => {
      try {
        if (!/^[jt]_/.test(id)) throw new UsageError(`${id} is neither a job id (j_…) nor a task id (t_…)`);
        const res = await foremanApi(flags).cancel(id);
        if (id.startsWith('j_')) process.stdout.write(`job ${id}: ${String(res.cancelled)} tasks cancelled\n`);
        else process.stdout.write(`task ${id}: ${String(res.state ?? 'cancel requested')}\n`);
      } catch (err) {
        fail('cancel', err);
      }
    });
}
