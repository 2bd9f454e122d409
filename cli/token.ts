/**
 * `gaffer token create|list|revoke`: individual worker tokens, kept as SHA-256 hashes in the foreman's
 * database. With `--foreman URL` (and the API token) the running foreman does it over its HTTP API, from any
 * machine; without it the foreman's SQLite file (`--db`) is edited directly, and a running foreman notices
 * within a fraction of a second and closes revoked sessions. A database file that does not exist is refused:
 * a token written into a new, empty file is one no foreman knows.
 */
import { existsSync } from 'node:fs';
import { Command, Option } from 'commander';
import { REVOKED, WorkerTokenStore, type WorkerTokenInfo } from '../foreman/auth/tokens.js';
import { DEFAULTS } from '../foreman/options.js';
import { openDatabase, type Db } from '../foreman/store/database.js';
import { fail, UsageError } from './fail.js';
import { foremanApi } from './foreman-api.js';

interface Where {
  db: string;
  foreman?: string;
  token?: string;
}

/** What the three commands need, from the database file or over the API. */
interface TokenAdmin {
  create(workerId: string, force: boolean): Promise<string>;
  list(): Promise<Array<Omit<WorkerTokenInfo, 'createdAt'> & { createdAt: string }>>;
  revoke(workerId: string): Promise<void>;
  close(): void;
}

function overApi(where: Where & { foreman: string }): TokenAdmin {
  const { client } = foremanApi({ foreman: where.foreman, ...(where.token ? { token: where.token } : {}) });
  return {
    create: async (workerId, force) => (await client.request<{ token: string }>('POST', '/tokens', { workerId, force })).token,
    list: async () => (await client.request<{ tokens: Array<WorkerTokenInfo & { createdAt: string }> }>('GET', '/tokens')).tokens,
    revoke: async (workerId) => {
      await client.request('DELETE', `/tokens/${encodeURIComponent(workerId)}`);
    },
    close: () => {},
  };
}

function inFile(file: string): TokenAdmin {
  if (file === ':memory:') throw new UsageError('an in-memory foreman has no file to hold tokens; pass --foreman URL to use its API, or start it with --db FILE');
  if (!existsSync(file)) {
    throw new UsageError(`no foreman database at ${file}: pass --db with the foreman's file, or --foreman URL (and --token) to manage a running foreman's tokens over its API`);
  }
  const db: Db = openDatabase(file, 'normal');
  const tokens = new WorkerTokenStore(db);
  return {
    create: async (workerId, force) => {
      const existing = tokens.hashOf(workerId);
      if (existing !== null && existing !== REVOKED && !force) throw new UsageError(`worker ${workerId} already has a token; pass --force to replace it`);
      return tokens.create(workerId);
    },
    list: async () => tokens.list().map((t) => ({ ...t, createdAt: new Date(t.createdAt).toISOString() })),
    revoke: async (workerId) => {
      if (!tokens.revoke(workerId)) throw new UsageError(`worker ${workerId} has no active token`);
    },
    close: () => db.close(),
  };
}

/** Runs `fn` against the tokens `where` names; errors become one stderr line and exit code 1. */
async function withTokens(where: Where, fn: (admin: TokenAdmin) => Promise<void>): Promise<void> {
  let admin: TokenAdmin | null = null;
  try {
    admin = where.foreman ? overApi({ ...where, foreman: where.foreman }) : inFile(where.db);
    await fn(admin);
  } catch (err) {
    admin?.close();
    fail('token', err);
  }
  admin?.close();
}

/** `--db`, or `--foreman` with `--token`: where the tokens are. */
function addWhere(cmd: Command): Command {
  return cmd
    .addOption(new Option('--db <file>', "the foreman's SQLite file (must exist)").env('GAFFER_DB').default(DEFAULTS.db))
    .addOption(new Option('--foreman <url>', 'manage a running foreman over its HTTP API instead (http:// or ws://)').env('GAFFER_FOREMAN'))
    .addOption(new Option('--token <token>', 'API token, with --foreman').env('GAFFER_API_TOKEN'));
}

export function tokenCommand(): Command {
  const cmd = new Command('token').description('Manage individual worker tokens (stored hashed in the foreman database), locally or with --foreman over the API.');

  addWhere(cmd.command('create'))
    .description('Issue a token bound to one worker id and print it (it is shown only this once).')
    .requiredOption('--worker <id>', 'the worker id the token is bound to')
    .option('--force', 'replace an existing token (the worker using it is disconnected)')
    .action((flags: Where & { worker: string; force?: boolean }) =>
      withTokens(flags, async (admin) => {
        if (flags.worker.length === 0 || flags.worker.length > 200) throw new UsageError('--worker must be 1-200 characters');
        process.stdout.write(`${await admin.create(flags.worker, flags.force === true)}\n`);
        process.stderr.write(`start the worker with: npx gaffer worker --id ${flags.worker} --worker-token <the token above> (or GAFFER_WORKER_TOKEN)\n`);
      }),
    );

  addWhere(cmd.command('list'))
    .description('List worker ids with tokens (never the tokens).')
    .option('--json', 'print JSON')
    .action((flags: Where & { json?: boolean }) =>
      withTokens(flags, async (admin) => {
        const list = await admin.list();
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(list)}\n`);
          return;
        }
        if (list.length === 0) process.stdout.write('no worker tokens\n');
        for (const t of list) process.stdout.write(`${t.workerId.padEnd(32)} ${t.revoked ? 'revoked' : 'active '}  ${t.createdAt}\n`);
      }),
    );

  addWhere(cmd.command('revoke'))
    .description("Revoke a worker's token: its live session is closed and the id is locked out until a new token is created.")
    .argument('<worker>', 'worker id')
    .action((worker: string, flags: Where) =>
      withTokens(flags, async (admin) => {
        await admin.revoke(worker);
        process.stderr.write(`revoked the token of ${worker}; ${flags.foreman ? 'its session is closed' : 'a running foreman closes its session within a second'}\n`);
      }),
    );
  return cmd;
}
