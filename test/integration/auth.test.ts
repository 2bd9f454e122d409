import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CLOSE_CODES } from '../../shared/protocol.js';
import { client, LOCKED, runCli, TOKENS } from '../helpers/auth.js';
import { BIN, LoggedProcess, spawnWorker, startForeman, tempDir } from '../helpers/processes.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { STORES, storeArgs } from '../helpers/stores.js';
import { settled, waitForTask } from '../helpers/tasks.js';
import { waitFor } from '../helpers/wait-for.js';

async function hello(wsUrl: string, workerId: string, authToken?: string): Promise<RawPeer> {
  const p = await RawPeer.connect(wsUrl);
  // A skill no test submits: this peer never holds a task a real worker should run.
  p.hello(workerId, { skills: [{ type: 'raw-peer-only' }], ...(authToken === undefined ? {} : { authToken }) });
  return p;
}
const welcomed = (p: RawPeer) => p.next((m) => m.kind === 'welcome');
async function refused(p: RawPeer): Promise<void> {
  expect((await p.next((m) => m.kind === 'error')).code).toBe('UNAUTHORIZED');
  expect(await p.closed).toBe(CLOSE_CODES.unauthorized);
}

/** Opens the dashboard socket; resolves with 'open' or the HTTP status that refused the upgrade. */
function dashboardSocket(url: string): Promise<'open' | number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.on('open', () => {
      ws.close();
      resolve('open');
    });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => {});
  });
}

describe('worker authentication', () => {
  it('refuses a hello without a token or with a wrong one (4001), and admits the fleet token', async () => {
    const foreman = await startForeman(LOCKED);
    await refused(await hello(foreman.wsUrl, 'no-token'));
    await refused(await hello(foreman.wsUrl, 'wrong-token', 'x'.repeat(32)));
    // The API token is not a worker token.
    await refused(await hello(foreman.wsUrl, 'api-token', TOKENS.api));
    await welcomed(await hello(foreman.wsUrl, 'fleet', TOKENS.worker));

    // A real worker process with --worker-token registers and runs a task.
    const w = await spawnWorker(foreman.wsUrl, { args: ['--worker-token', TOKENS.worker] });
    const api = client(foreman.url);
    const { id } = await api.request('POST', '/tasks', { type: 'echo', params: 'authenticated' });
    expect(await waitForTask(api, id, settled, 'settled')).toMatchObject({ state: 'succeeded', workerId: w.id });
    const { workers } = await api.request('GET', '/workers');
    expect(workers.map((x: { id: string }) => x.id).sort()).toEqual(['fleet', w.id].sort());
  });

  it('binds an individual token to its worker id and closes the session at once when it is revoked', async () => {
    const foreman = await startForeman(LOCKED);
    const db = ['--db', foreman.dbPath];
    const created = await runCli(['token', 'create', '--worker', 'alice', ...db]);
    expect(created.code).toBe(0);
    const alice = created.stdout.trim();
    expect(alice).toMatch(/^\S{32}$/);
    expect((await runCli(['token', 'create', '--worker', 'alice', ...db])).code).toBe(1);

    await refused(await hello(foreman.wsUrl, 'bob', alice));
    // The fleet token cannot take over an id that has its own token.
    await refused(await hello(foreman.wsUrl, 'alice', TOKENS.worker));
    const session = await hello(foreman.wsUrl, 'alice', alice);
    await welcomed(session);

    const listed = await runCli(['token', 'list', '--json', ...db]);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ workerId: 'alice', revoked: false })]);
    expect(listed.stdout).not.toContain(alice);

    expect((await runCli(['token', 'revoke', 'alice', ...db])).code).toBe(0);
    // The open session is closed by the foreman's sweep (every 250 ms): nothing else would close a raw peer.
    await refused(session);
    await refused(await hello(foreman.wsUrl, 'alice', alice));
    await refused(await hello(foreman.wsUrl, 'alice', TOKENS.worker));
    expect(JSON.parse((await runCli(['token', 'list', '--json', ...db])).stdout)[0].revoked).toBe(true);
    expect((await runCli(['token', 'revoke', 'alice', ...db])).code).toBe(1);
  });
});

describe('token management', () => {
  it('refuses to create a token in a folder with no foreman database (it would be a token no foreman knows)', async () => {
    const db = join(tempDir(), 'gaffer.db');
    const run = await runCli(['token', 'create', '--worker', 'alice', '--db', db]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`gaffer token: no foreman database at ${db}: pass --db with the foreman's file, or --foreman URL (and --token) to manage a running foreman's tokens over its API\n`);
    expect(existsSync(db)).toBe(false);
  });

  it.each(STORES)('creates, lists and revokes tokens over the API (API token only), and the CLI does it with --foreman (%s)', async (store) => {
    const foreman = await startForeman([...LOCKED, ...(await storeArgs(store))]);
    const api = client(foreman.url);
    const reader = client(foreman.url, TOKENS.read);
    await expect(reader.request('GET', '/tokens')).rejects.toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    await expect(reader.request('POST', '/tokens', { workerId: 'alice' })).rejects.toMatchObject({ status: 403 });
    const { token: alice } = await api.request('POST', '/tokens', { workerId: 'alice' });
    await expect(api.request('POST', '/tokens', { workerId: 'alice' })).rejects.toMatchObject({ status: 409, body: { code: 'TOKEN_EXISTS', field: 'body/workerId' } });
    const session = await hello(foreman.wsUrl, 'alice', alice);
    await welcomed(session);

    // The CLI against the remote foreman: no database file involved.
    const remote = ['--foreman', foreman.url, '--token', TOKENS.api, '--db', join(tempDir(), 'absent.db')];
    const bob = await runCli(['token', 'create', '--worker', 'bob', ...remote]);
    expect(bob.code).toBe(0);
    await welcomed(await hello(foreman.wsUrl, 'bob', bob.stdout.trim()));
    const listed = JSON.parse((await runCli(['token', 'list', '--json', ...remote])).stdout);
    expect(listed.map((t: { workerId: string; revoked: boolean }) => [t.workerId, t.revoked])).toEqual([['alice', false], ['bob', false]]);
    expect(JSON.stringify(listed)).not.toContain(alice);

    expect((await runCli(['token', 'revoke', 'alice', ...remote])).code).toBe(0);
    await refused(session);
    await refused(await hello(foreman.wsUrl, 'alice', alice));
    const again = await runCli(['token', 'revoke', 'alice', ...remote]);
    expect(again).toMatchObject({ code: 1, stderr: 'gaffer token: HTTP 404: worker alice has no active token\n' });
    expect((await runCli(['token', 'list', ...remote.slice(0, 2)])).stderr).toMatch(/^gaffer token: HTTP 401/);
  });
});

describe('API authentication', () => {
  it('needs a token on every route that holds data; the read token only reads', async () => {
    const foreman = await startForeman(LOCKED);
    const anonymous = client(foreman.url, null);
    const spec = await fetch(`${foreman.url}/docs/json`).then((r) => r.json());
    const routes: Array<[string, string]> = [];
    for (const [path, ops] of Object.entries(spec.paths as Record<string, Record<string, unknown>>)) {
      for (const method of Object.keys(ops)) routes.push([method.toUpperCase(), path.replace(/\{\w+\}/g, 'x1')]);
    }
    expect(routes.length).toBeGreaterThan(12);
    for (const [method, path] of routes) {
      const res = await fetch(`${foreman.url}${path}`, { method });
      // Open by design: the health probe, and the dashboard page shell and its static files (they hold no data).
      if (['/health', '/', '/dashboard/x1'].includes(path)) {
        expect(res.status, `${method} ${path}`).not.toBe(401);
        continue;
      }
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(await res.json()).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    await expect(anonymous.request('GET', '/stats')).rejects.toMatchObject({ status: 401 });
    await expect(client(foreman.url, 'Bearer-but-wrong-0123456789').request('GET', '/stats')).rejects.toMatchObject({ status: 401 });

    const reader = client(foreman.url, TOKENS.read);
    expect((await reader.request('GET', '/stats')).tasks).toBeDefined();
    await expect(reader.request('POST', '/tasks', { type: 'echo' })).rejects.toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    expect((await client(foreman.url).request('POST', '/tasks', { type: 'echo' })).id).toMatch(/^t_/);

    // Browsers cannot set headers on a WebSocket: the dashboard socket takes ?token= instead.
    const ws = `${foreman.wsUrl}/ws/dashboard`;
    expect(await dashboardSocket(ws)).toBe(401);
    expect(await dashboardSocket(`${ws}?token=wrong-token-0123456789`)).toBe(401);
    expect(await dashboardSocket(`${ws}?token=${TOKENS.read}`)).toBe('open');
    // Only the dashboard socket: elsewhere a query token is ignored.
    expect((await fetch(`${foreman.url}/stats?token=${TOKENS.api}`)).status).toBe(401);
  });

  it('never shows a token in logs, /workers or /stats', async () => {
    const foreman = await startForeman(LOCKED);
    const w = await spawnWorker(foreman.wsUrl, { env: { GAFFER_WORKER_TOKEN: TOKENS.worker }, args: ['--control-token', 'control-token-0123456789abcdef'] });
    const api = client(foreman.url);
    await api.request('GET', '/stats');
    const shown = JSON.stringify([await api.request('GET', '/workers'), await api.request('GET', '/stats')]);
    const logs = JSON.stringify([foreman.lines, w.lines, w.stderr]);
    expect(logs).toContain('[set]');
    for (const secret of [...Object.values(TOKENS), 'control-token-0123456789abcdef']) {
      expect(shown).not.toContain(secret);
      expect(logs).not.toContain(secret);
    }
    // The terminal (stderr) carries the join command with the worker token, and no other token.
    expect(foreman.stderr).toContain(`--worker-token ${TOKENS.worker}`);
    for (const secret of [TOKENS.api, TOKENS.read]) expect(foreman.stderr).not.toContain(secret);
  });
});

describe('safe default', () => {
  it('runs open only on loopback, and says so', async () => {
    const foreman = await startForeman();
    await foreman.waitForLine((l) => l.open === true && /open to anyone on this machine/.test(String(l.msg)), 'open warning');
    expect((await fetch(`${foreman.url}/stats`)).status).toBe(200);
  });

  it('generates tokens off loopback, keeps them in a 0600 file, and prints them once', async () => {
    const foreman = await startForeman(['--host', '0.0.0.0']);
    const file = `${foreman.dbPath}.tokens.json`;
    await waitFor(() => foreman.stderr.includes('start a worker with'), 'join command on the terminal');
    expect(foreman.lines.find((l) => l.msg === 'effective settings')?.settings).toMatchObject({ workerToken: '[set]', apiToken: '[set]', readToken: '[set]' });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const tokens = JSON.parse(readFileSync(file, 'utf8'));
    expect(foreman.stderr).toContain(`--worker-token ${tokens.workerToken}`);
    expect(foreman.stderr).toContain(`#token=${tokens.apiToken}`);
    expect(JSON.stringify(foreman.lines)).not.toContain(tokens.workerToken);
    expect((await fetch(`${foreman.url}/stats`)).status).toBe(401);
    expect((await client(foreman.url, tokens.apiToken).request('GET', '/stats')).tasks).toBeDefined();
    await refused(await hello(foreman.wsUrl, 'anon'));
    await welcomed(await hello(foreman.wsUrl, 'joined', tokens.workerToken));

    // A restart on the same database keeps the same tokens and does not print the API tokens again, but the
    // join command it prints still carries the worker token, names a non-loopback address, and works as printed.
    foreman.kill('SIGTERM');
    await foreman.exited();
    const again = await startForeman(['--host', '0.0.0.0'], { dbPath: foreman.dbPath });
    await again.waitForLine((l) => typeof l.msg === 'string' && l.msg.startsWith('authentication on'), 'auth notice');
    await waitFor(() => again.stderr.includes('dashboard:'), 'join command and dashboard on the terminal');
    expect(again.stderr).not.toContain(tokens.apiToken);
    expect(again.stderr).toContain(`<apiToken (tokens in ${file})>`);
    expect(again.lines.find((l) => l.msg === 'effective settings')?.settings).toMatchObject({ workerToken: '[set]' });
    expect(JSON.stringify(again.lines)).not.toContain(tokens.workerToken);
    const printed = /start a worker with: +npx gaffer (worker .*)$/m.exec(again.stderr)?.[1];
    expect(printed).toContain(`--worker-token ${tokens.workerToken}`);
    expect(printed).not.toMatch(/127\.0\.0\.1|localhost/);
    expect(again.stderr).toMatch(new RegExp(`dashboard: +http://[^/]+:${again.port}/#token=<apiToken`));
    const joined = new LoggedProcess(spawn(process.execPath, [BIN, ...(printed as string).split(' '), '--id', 'as-printed', '--status-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] }));
    await joined.waitForLine((l) => l.msg === 'registered with foreman', 'the printed join command registers');
    expect((await client(again.url, tokens.apiToken).request('GET', '/stats')).tasks).toBeDefined();
  });
});

describe('worker status server', () => {
  it('needs the control token for POST /restart when bound off loopback', async () => {
    const foreman = await startForeman();
    const control = 'control-token-0123456789abcdef';
    const w = await spawnWorker(foreman.wsUrl, { args: ['--status-host', '0.0.0.0', '--control-token', control] });
    const url = `${(w.statusUrl as string).replace('0.0.0.0', '127.0.0.1')}/restart`;
    const post = (auth?: string) => fetch(url, { method: 'POST', headers: auth ? { authorization: auth } : {} });
    expect((await post()).status).toBe(401);
    expect((await post('Bearer wrong-token-0123456789abcd')).status).toBe(401);
    expect((await post(control)).status).toBe(401);
    expect((await post(`Bearer ${control}`)).status).toBe(202);
    await w.registered(2);
  });
});
