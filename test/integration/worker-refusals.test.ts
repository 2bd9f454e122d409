/**
 * A worker the foreman refuses for good (bad token 4001, id in use 4009 after a bounded number of tries)
 * stops: the CLI exits non-zero with one line saying what to pass, the SDK's whenReady() rejects with a
 * typed error, and the foreman logs each refused hello (rate-limited).
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Worker, WorkerRefusedError } from '../../index.js';
import { CLOSE_CODES } from '../../shared/protocol.js';
import { LOCKED, TOKENS } from '../helpers/auth.js';
import { BIN, LoggedProcess, spawnWorker, startForeman } from '../helpers/processes.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { waitFor } from '../helpers/wait-for.js';

function workerProcess(args: string[], env: NodeJS.ProcessEnv = {}): LoggedProcess {
  const base = ['worker', '--status-port', '0', '--reconnect-min-ms', '20', '--reconnect-max-ms', '50'];
  return new LoggedProcess(spawn(process.execPath, [BIN, ...base, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GAFFER_WORKER_TOKEN: undefined, ...env } }));
}

describe('refused workers', () => {
  it('a worker without the token, or with a wrong one, exits non-zero with one line naming --worker-token', async () => {
    const foreman = await startForeman(LOCKED);
    for (const args of [[], ['--worker-token', 'wrong-token-0123456789abcdef']]) {
      const w = workerProcess(['--foreman', foreman.wsUrl, '--id', 'no-entry', ...args]);
      expect(await w.exited()).toBe(1);
      expect(w.stderr.trim().split('\n')).toHaveLength(1);
      expect(w.stderr).toMatch(/^gaffer worker: .*--worker-token TOKEN .*GAFFER_WORKER_TOKEN/);
      expect(w.stderr).not.toMatch(/\n\s+at /);
    }
    // The foreman logged the refusals with the address, the claimed id and the code.
    const refused = await foreman.waitForLine((l) => l.msg === 'refused a worker hello', 'refusal log');
    expect(refused).toMatchObject({ claimedWorkerId: 'no-entry', code: 'UNAUTHORIZED', address: '127.0.0.1' });
  });

  it('rate-limits the refusal log: a peer refused ten times in a row gets one line', async () => {
    const foreman = await startForeman(LOCKED);
    for (let i = 0; i < 10; i++) {
      const p = await RawPeer.connect(foreman.wsUrl);
      p.hello(`knocker-${i}`);
      expect(await p.closed).toBe(CLOSE_CODES.unauthorized);
    }
    // An admitted worker afterwards proves the foreman processed (and logged) everything before it.
    await spawnWorker(foreman.wsUrl, { args: ['--worker-token', TOKENS.worker] });
    expect(foreman.lines.filter((l) => l.msg === 'refused a worker hello')).toHaveLength(1);
  });

  it("the SDK's whenReady() rejects with WorkerRefusedError, and the SDK reads GAFFER_* variables for options not passed", async () => {
    const foreman = await startForeman(LOCKED);
    const refused = new Worker({ foreman: foreman.wsUrl, id: 'sdk-refused', status: false, env: {}, logLevel: 'silent' }).task('echo', (p) => p);
    await refused.start();
    const err = await refused.whenReady().then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerRefusedError);
    expect(err).toMatchObject({ code: 'UNAUTHORIZED', closeCode: CLOSE_CODES.unauthorized });
    expect(refused.state).toBe('closed');

    // Token, address and id from the environment, as the CLI reads them.
    const joined = new Worker({ env: { GAFFER_FOREMAN: foreman.url, GAFFER_WORKER_TOKEN: TOKENS.worker, GAFFER_ID: 'from-env', GAFFER_LIMITS: 'gpu=1' }, status: false, logLevel: 'silent' });
    joined.task('echo', (p) => p);
    await joined.start();
    await joined.whenReady();
    expect(joined.options).toMatchObject({ id: 'from-env', foreman: `${foreman.wsUrl}/ws/worker`, limits: { gpu: 1 } });
    await joined.close();
  });

  it('a second worker with an id in use gives up after --id-in-use-max-tries and says to pass --id', async () => {
    const foreman = await startForeman();
    await spawnWorker(foreman.wsUrl, { id: 'twin' });
    const second = workerProcess(['--foreman', foreman.wsUrl, '--id', 'twin', '--id-in-use-max-tries', '3']);
    expect(await second.exited()).toBe(1);
    expect(second.stderr).toMatch(/^gaffer worker: another live worker holds the id twin \(refused 3 times\): .*--id NAME/);
    expect(second.lines.filter((l) => l.code === 4009 && /retrying/.test(String(l.msg)))).toHaveLength(2);
    await waitFor(() => foreman.lines.some((l) => l.msg === 'refused a worker hello' && l.code === 'WORKER_ID_IN_USE' && l.claimedWorkerId === 'twin'), 'id-in-use refusal logged');
  });
});
