/** Leaving drain by heartbeat (`heartbeat.draining: false`) works like `worker.state: ready`: queued work arrives at once. */
import { describe, expect, it } from 'vitest';
import { startForeman } from '../helpers/processes.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { submit, getTask } from '../helpers/tasks.js';
import { waitFor } from '../helpers/wait-for.js';

describe('draining', () => {
  it('a heartbeat with draining false takes the worker back to work, and one with draining true stops it', async () => {
    const foreman = await startForeman();
    const p = await RawPeer.connect(foreman.wsUrl);
    p.hello('drainer', { skills: [{ type: 'echo' }], capacity: 2 });
    await p.next((m) => m.kind === 'welcome');
    // Enter drain by heartbeat: the foreman's view must say so before the task is submitted.
    p.send({ kind: 'heartbeat', running: [], draining: true });
    await waitFor(async () => (await foreman.api.request('GET', '/workers')).workers.find((w: any) => w.id === 'drainer')?.state === 'draining', 'draining by heartbeat');
    const id = await submit(foreman.api, { type: 'echo', params: 1 });
    expect((await getTask(foreman.api, id)).state).toBe('queued');
    p.send({ kind: 'heartbeat', running: [], draining: false });
    const assign = await p.next((m) => m.kind === 'task.assign', 5000);
    expect(assign.tasks[0].taskId).toBe(id);
  });
});
