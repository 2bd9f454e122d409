/**
 * `gaffer demo`: the whole loop on one machine — a foreman on a fresh SQLite
 * file, two real worker processes, and a job of mixed tasks with a progress bar.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { Client } from '../client/index.js';
import { ForemanApi } from './foreman-api.js';
import { submitAndFollow } from './submit.js';
import { numberedTasks } from './task-file.js';

// cli/ in a checkout, dist/cli/ in the built package: bin/ is one or two levels up.
const BIN = ['../bin/gaffer.js', '../../bin/gaffer.js'].map((rel) => fileURLToPath(new URL(rel, import.meta.url))).find((path) => existsSync(path)) as string;

/** A demo workload: mostly quick tasks, some sleeps, a few that fail once and then succeed, a few permanent failures. */
export function* demoTasks(n: number): Generator<Record<string, unknown>> {
  for (let i = 0; i < n; i++) {
    const k = i % 20;
    const task =
      k < 6 ? { type: 'reverse', params: { text: `task number ${i}` } }
      : k < 11 ? { type: 'sha256', params: { text: `payload ${i}` } }
      : k < 15 ? { type: 'sum', params: { numbers: [i, i * 2, i * 3] } }
      : k < 18 ? { type: 'sleep', params: { ms: 20 + (i % 5) * 10 }, priority: 1 }
      : k < 19 ? { type: 'fail', params: { kind: 'transient', succeedOnAttempt: 2 } }
      : { type: 'fail', params: { kind: 'permanent', message: 'demo: this one is meant to fail' }, maxAttempts: 1 };
    yield { ...task, key: `demo-${i}` };
  }
}

export function demoCommand(): Command {
  return new Command('demo')
    .description('Run a foreman, two workers and a demo job on this machine, then print a summary.')
    .option('--tasks <n>', 'tasks in the demo job', '2000')
    .option('--port <port>', 'foreman port (0 picks a free one)', '0')
    .option('--keep', 'keep the foreman and workers running afterwards (Ctrl-C to stop)')
    .action(async (flags: { tasks: string; port: string; keep?: boolean }) => {
      const dir = mkdtempSync(join(tmpdir(), 'gaffer-demo-'));
      // Loaded here, not with the command tree (see foreman.ts).
      const { Foreman } = await import('../foreman/foreman.js');
      const foreman = await Foreman.start({ port: Number(flags.port), host: '127.0.0.1', db: join(dir, 'gaffer.db'), logLevel: 'warn', retryBackoffMs: 100 });
      const wsUrl = `ws://127.0.0.1:${foreman.port}`;
      process.stderr.write(`foreman on ${foreman.url} (store ${join(dir, 'gaffer.db')}); dashboard: ${foreman.url}/\n`);
      const workers: ChildProcess[] = ['demo-worker-1', 'demo-worker-2'].map((id) =>
        spawn(process.execPath, [BIN, 'worker', '--foreman', wsUrl, '--id', id, '--concurrency', '8', '--status-port', '0', '--log-level', 'warn'], {
          stdio: ['ignore', 'ignore', 'inherit'],
        }),
      );
      const stopAll = async () => {
        for (const w of workers) w.kill('SIGTERM');
        await Promise.all(workers.map((w) => new Promise((r) => (w.exitCode !== null ? r(null) : w.once('exit', r)))));
        await foreman.close();
      };
      try {
        const api = new ForemanApi(new Client({ foreman: foreman.url }));
        const summary = await submitAndFollow(api, numberedTasks(demoTasks(Number(flags.tasks))), { progress: true });
        const fleet = await api.workers();
        process.stderr.write(
          `\ndemo job ${summary.jobId}: ${summary.succeeded} succeeded, ${summary.failed} failed (by design), ${summary.cancelled} cancelled of ${summary.count} in ${(summary.elapsedMs / 1000).toFixed(2)} s\n`,
        );
        for (const w of fleet) process.stderr.write(`  worker ${w.id}: ${w.state}, status page ${w.statusUrl}\n`);
        if (flags.keep) {
          process.stderr.write('running; press Ctrl-C to stop\n');
          await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
        }
      } finally {
        await stopAll();
      }
    });
}
