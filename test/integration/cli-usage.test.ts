/**
 * User errors end in one line naming the flag, never a stack trace; a second worker on one machine finds
 * the default status port taken and takes a free one; --version and --help work.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/auth.js';
import { BIN, LoggedProcess, startForeman } from '../helpers/processes.js';

const STACK = /\n\s+at /;

/** Holds `port` on 127.0.0.1 for the test; a port someone else already holds is just as taken. */
async function occupy(port: number): Promise<Server | null> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(null));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

function worker(args: string[]): LoggedProcess {
  return new LoggedProcess(spawn(process.execPath, [BIN, 'worker', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GAFFER_STATUS_PORT: undefined } }));
}

describe('the CLI with a user at the keyboard', () => {
  it('a second worker on one machine: the default status port is taken, so it takes a free one and logs it', async () => {
    const foreman = await startForeman();
    const held = await occupy(8001);
    try {
      const w = worker(['--foreman', foreman.url, '--id', 'second-on-this-machine']);
      const fellBack = await w.waitForLine((l) => /status port 8001 is in use/.test(String(l.msg)), 'fallback notice');
      expect(fellBack.wantedPort).toBe(8001);
      const listening = await w.waitForLine((l) => l.msg === 'status server listening', 'status server');
      expect(listening.statusUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(listening.statusUrl).not.toMatch(/:8001$/);
      expect((await fetch(`${listening.statusUrl as string}/health`)).status).toBe(200);
      await w.waitForLine((l) => l.msg === 'registered with foreman', 'registration');

      // Chosen explicitly, a taken port is an error: one line, exit 2.
      const explicit = worker(['--foreman', foreman.url, '--status-port', '8001']);
      expect(await explicit.exited()).toBe(2);
      expect(explicit.stderr).toBe('gaffer worker: --status-port 8001 is in use (another worker on this machine?): pass another port, --status-port 0 for any free one, or --no-status\n');
    } finally {
      held?.close();
    }
  });

  it('bad flag values, a missing handler file and an unreachable foreman each get one line, no stack', async () => {
    // A port nobody listens on: one that was free a moment ago.
    const probe = (await occupy(0)) as Server;
    const closedPort = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const cases: Array<[string[], RegExp]> = [
      [['worker', '--concurrency', 'lots'], /^gaffer worker: --concurrency must be a number, got lots\n$/],
      [['worker', '--concurrency', '0'], /^gaffer worker: --concurrency \(GAFFER_CONCURRENCY\) must be an integer between 1 and 100000, got 0\n$/],
      [['worker', '--foreman', 'ftp://x'], /^gaffer worker: --foreman \(GAFFER_FOREMAN\) must be a ws:\/\/, wss:\/\/, http:\/\/ or https:\/\/ URL/],
      [['worker', '--handlers', './no-such-file.ts'], /^gaffer worker: --handlers \.\/no-such-file\.ts: no such file\n$/],
      [['foreman', '--heartbeat-interval-ms', '5'], /^gaffer foreman: --heartbeat-interval-ms \(GAFFER_HEARTBEAT_INTERVAL_MS\) must be an integer/],
      [['status', '--foreman', `http://127.0.0.1:${closedPort}`], /^gaffer status: cannot reach the foreman: .*ECONNREFUSED/],
      [['submit', 'no-such-tasks.jsonl', '--foreman', `http://127.0.0.1:${closedPort}`], /^gaffer submit: ENOENT: no such file or directory/],
    ];
    const runs = await Promise.all(cases.map(([args]) => runCli(args)));
    runs.forEach((run, i) => {
      expect(run.code, cases[i][0].join(' ')).toBeGreaterThan(0);
      expect(run.stderr, cases[i][0].join(' ')).toMatch(cases[i][1]);
      expect(run.stderr, cases[i][0].join(' ')).not.toMatch(STACK);
    });
  });

  it('--version prints the package version; --help describes the options', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(await runCli(['--version'])).toMatchObject({ code: 0, stdout: `${version}\n` });
    const help = await runCli(['worker', '--help']);
    // commander wraps long descriptions: compare with the whitespace folded.
    const text = help.stdout.replace(/\s+/g, ' ');
    expect(text).toContain('--worker-token <value> token to join the foreman with (fleet or individual) (GAFFER_WORKER_TOKEN; default null)');
    expect(text).toContain('--foreman <value> foreman URL (ws://, wss://, http:// or https://; the other scheme is derived)');
  });
});
