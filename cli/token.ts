/**
 * `gaffer token create|list|revoke`: individual worker tokens, kept as
 * SHA-256 hashes in the foreman's SQLite file. A running foreman notices
 * changes within a fraction of a second and closes revoked sessions.
 */
import { Command, Option } from 'commander';
import { REVOKED, WorkerTokenStore } from '../foreman/auth/tokens.js';
import { DEFAULTS } from '../foreman/options.js';
import { openDatabase, type Db } from '../foreman/store/database.js';

const dbOption = () => new Option('--db <file>', 'the foreman\'s SQLite file').env('GAFFER_DB').default(DEFAULTS.db);

/** Opens the store, runs `fn`, closes it; errors become one stderr line and exit code 1. */
function withStore(file: string, fn: (tokens: WorkerTokenStore) => number | void): void {
  let db: Db | null = null;
  try {
    if (file === ':memory:') throw new Error('an in-memory foreman has no file to hold tokens; start it with --db FILE');
    db = openDatabase(file, 'normal');
    process.exitCode = fn(new WorkerTokenStore(db)) ?? 0;
  } catch (err) {
    process.stderr.write(`gaffer token: ${(err as Error).message}\n`);
    process.exitCode = 1;
  } finally {
    db?.close();
  }
}

export function tokenCommand(): Command {
  const cmd = new Command('token').description('Manage individual worker tokens (stored hashed in the foreman database).');

  cmd
    .command('create')
    .description('Issue a token bound to one worker id and print it (it is shown only this once).')
    .requiredOption('--worker <id>', 'the worker id the token is bound to')
    .option('--force', 'replace an existing token (the worker using it is disconnected)')
    .addOption(dbOption())
    .action((flags: { worker: string; force?: boolean; db: string }) =>
      withStore(flags.db, (tokens) => {
        if (flags.worker.length === 0 || flags.worker.length > 200) throw new Error('--worker must be 1-200 characters');
        const existing = tokens.hashOf(flags.worker);
        if (existing !== null && existing !== REVOKED && !flags.force) {
          process.stderr.write(`gaffer token: worker ${flags.worker} already has a token; pass --force to replace it\n`);
          return 1;
        }
        const token = tokens.create(flags.worker);
        process.stdout.write(`${token}\n`);
        process.stderr.write(`start the worker with: npx gaffer worker --id ${flags.worker} --worker-token <the token above> (or GAFFER_WORKER_TOKEN)\n`);
      }),
    );

  cmd
    .command('list')
    .description('List worker ids with tokens (never the tokens).')
    .option('--json', 'print JSON')
    .addOption(dbOption())
    .action((flags: { json?: boolean; db: string }) =>
      withStore(flags.db, (tokens) => {
        const list = tokens.list();
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(list.map((t) => ({ ...t, createdAt: new Date(t.createdAt).toISOString() })))}\n`);
          return;
        }
        if (list.length === 0) process.stdout.write('no worker tokens\n');
        for (const t of list) {
          process.stdout.write(`${t.workerId.padEnd(32)} ${t.revoked ? 'revoked' : 'active '}  ${new Date(t.createdAt).toISOString()}\n`);
        }
      }),
    );

  cmd
    .command('revoke')
    .description('Revoke a worker\'s token: its live session is closed and the id is locked out until a new token is created.')
    .argument('<worker>', 'worker id')
    .addOption(dbOption())
    .action((worker: string, flags: { db: string }) =>
      withStore(flags.db, (tokens) => {
        if (!tokens.revoke(worker)) {
          process.stderr.write(`gaffer token: worker ${worker} has no active token\n`);
          return 1;
        }
        process.stderr.write(`revoked the token of ${worker}; a running foreman closes its session within a second\n`);
      }),
    );
  return cmd;
}
