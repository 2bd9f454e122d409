/** The `gaffer` command tree, built without running anything (so tests can walk its options). */
import { Command } from 'commander';
import { packageVersion } from '../shared/package-version.js';
import { cancelCommand } from './cancel.js';
import { demoCommand } from './demo.js';
import { foremanCommand } from './foreman.js';
import { leaderboardCommand } from './leaderboard.js';
import { resultsCommand } from './results.js';
import { runFnCommand } from './run-fn.js';
import { scheduleCommand } from './schedule.js';
import { statusCommand } from './status.js';
import { submitCommand } from './submit.js';
import { tokenCommand } from './token.js';
import { workerCommand } from './worker.js';

/** Every command, with `--version` and `--help` on each. */
export function buildProgram(): Command {
  return new Command('gaffer')
    .description('Push-based foreman and workers: one durable foreman, workers on any device.')
    .version(packageVersion(), '-V, --version', 'print the Gaffer version')
    .helpOption('-h, --help', 'show help for a command')
    .showHelpAfterError()
    .addCommand(foremanCommand())
    .addCommand(workerCommand())
    .addCommand(submitCommand())
    .addCommand(resultsCommand())
    .addCommand(cancelCommand())
    .addCommand(runFnCommand())
    .addCommand(statusCommand())
    .addCommand(leaderboardCommand())
    .addCommand(demoCommand())
    .addCommand(tokenCommand())
    .addCommand(scheduleCommand());
}
