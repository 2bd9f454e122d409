/** The `gaffer` command line: foreman, worker, submit, status, demo. */
import { Command } from 'commander';
import { foremanCommand } from './foreman.js';
import { workerCommand } from './worker.js';
import { submitCommand } from './submit.js';
import { runFnCommand } from './run-fn.js';
import { statusCommand } from './status.js';
import { demoCommand } from './demo.js';
import { tokenCommand } from './token.js';

const program = new Command('gaffer')
  .description('Push-based foreman and workers: one durable foreman, workers on any device.')
  .showHelpAfterError()
  .addCommand(foremanCommand())
  .addCommand(workerCommand())
  .addCommand(submitCommand())
  .addCommand(runFnCommand())
  .addCommand(statusCommand())
  .addCommand(demoCommand())
  .addCommand(tokenCommand());

await program.parseAsync(process.argv);
