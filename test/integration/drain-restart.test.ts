/**
 * What PROTOCOL.md says a drain and a restart leave behind, with a real worker process: after a
 * drain the worker stays connected and draining; a restart closes with 4014, and the new session
 * takes work again; a worker that was draining when it lost its foreman says so again after the
 * next welcome.
 */
import { describe, expect, it } from 'vitest';
import { spawnWorker, startForeman } from '../helpers/processes.js';
import { getTask, settled, submit, waitForTask } from '../helpers/tasks.js';
import { waitFor } from '../helpers/wait-for.js';

const stateOf = async (api: { request(m: string, p: string): Promise<any> }, id: string) =>
  (await api.request('GET', '/workers')).workers.find((w: any) => w.id === id)?.state;

describe('drain and restart', () => {
  it('a drained worker stays connected and idle until a restart (close 4014) brings it back to work', async () => {
    const foreman = await startForeman();
    const worker = await spawnWorker(foreman.wsUrl);
    await foreman.api.request('POST', `/workers/${worker.id}/drain`);
    await waitFor(async () => (await stateOf(foreman.api, worker.id)) === 'draining', 'draining');
    const id = await submit(foreman.api, { type: 'echo', params: 'after restart' });
    expect((await getTask(foreman.api, id)).state).toBe('queued');
    await foreman.api.request('POST', `/workers/${worker.id}/restart`);
    const closed = await foreman.waitForLine((l) => l.msg === 'worker disconnected' && l.workerId === worker.id, 'restart close');
    expect(closed.code).toBe(4014);
    expect((await waitForTask(foreman.api, id, settled, 'task after restart')).result).toBe('after restart');
  });

  it('a worker draining when its foreman restarts is draining again after the next welcome', async () => {
    const first = await startForeman();
    const worker = await spawnWorker(first.wsUrl);
    await first.api.request('POST', `/workers/${worker.id}/drain`);
    await waitFor(async () => (await stateOf(first.api, worker.id)) === 'draining', 'draining');
    first.kill('SIGTERM');
    await first.exited();
    const second = await startForeman([], { dbPath: first.dbPath, port: first.port });
    await worker.registered(2);
    await waitFor(async () => (await stateOf(second.api, worker.id)) === 'draining', 'draining after the new welcome');
    const id = await submit(second.api, { type: 'echo' });
    expect((await getTask(second.api, id)).state).toBe('queued');
  });
});
