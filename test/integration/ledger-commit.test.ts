/**
 * What the foreman does when the store refuses or cannot take a write, with a real foreman
 * process on a real SQLite file. A trigger added to the file is a real refusal of one write
 * (issue 9.18).
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../foreman/store/database.js';
import { startForeman, tempDir } from '../helpers/processes.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { submit } from '../helpers/tasks.js';
import { join } from 'node:path';

describe('the store refusing a write', () => {
  it('an assignment is sent only once the write of its own attempt committed (a refused one is never sent)', async () => {
    const dbPath = join(tempDir(), 'gaffer.db');
    const setup = openDatabase(dbPath, 'normal');
    setup.exec(`CREATE TRIGGER refuse_start BEFORE UPDATE OF state ON tasks WHEN NEW.state = 'running' AND NEW.type = 'doomed'
                BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END`);
    setup.close();
    const foreman = await startForeman(['--retry-backoff-ms', '100'], { dbPath });
    const peer = await RawPeer.connect(foreman.wsUrl);
    peer.hello('refused-writes', { capacity: 4, skills: [{ type: 'doomed' }, { type: 'echo' }] });
    await peer.next((m) => m.kind === 'welcome');
    const assigned = (id: string) => peer.received.filter((m) => m.kind === 'task.assign').flatMap((m) => m.tasks).filter((t: any) => t.taskId === id);

    const doomed = await submit(foreman.api, { type: 'doomed', params: 1 });
    const echo = await submit(foreman.api, { type: 'echo', params: 2 });
    await peer.next((m) => m.kind === 'task.assign' && m.tasks.some((t: any) => t.taskId === echo));
    expect(assigned(doomed)).toEqual([]);
    const reader = new Database(dbPath, { readonly: true });
    const row = () => reader.prepare('SELECT state, attempt FROM tasks WHERE id = ?').get(doomed) as { state: string; attempt: number };
    expect(row()).toEqual({ state: 'queued', attempt: 0 });
    expect((await foreman.api.request('GET', `/tasks/${doomed}`)).state).toBe('queued');

    // Once the store takes the write, the task starts under attempt 1, written before it is sent.
    const fix = new Database(dbPath);
    fix.exec('DROP TRIGGER refuse_start');
    fix.close();
    await peer.next((m) => m.kind === 'task.assign' && m.tasks.some((t: any) => t.taskId === doomed));
    expect(assigned(doomed).map((t: any) => t.attempt)).toEqual([1]);
    expect(row()).toEqual({ state: 'running', attempt: 1 });
    reader.close();
  });

  it('a cancel is pushed to the worker only once the write that records it committed (a refused one is not)', async () => {
    const dbPath = join(tempDir(), 'gaffer.db');
    const setup = openDatabase(dbPath, 'normal');
    setup.exec(`CREATE TRIGGER refuse_cancel BEFORE UPDATE OF state ON tasks WHEN NEW.state = 'cancelling'
                BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END`);
    setup.close();
    const foreman = await startForeman([], { dbPath });
    const peer = await RawPeer.connect(foreman.wsUrl);
    peer.hello('refused-cancel', { capacity: 1 });
    await peer.next((m) => m.kind === 'welcome');
    const id = await submit(foreman.api, { type: 'echo', params: 1 });
    const assign = await peer.next((m) => m.kind === 'task.assign');

    const refused = await fetch(`${foreman.url}/tasks/${id}/cancel`, { method: 'POST' });
    expect(refused.status).toBe(500);
    // Nothing was pushed, and the task runs on: its result is accepted as a success.
    expect((await foreman.api.request('GET', `/tasks/${id}`)).state).toBe('running');
    peer.send({ kind: 'task.result', results: [{ taskId: id, attempt: assign.tasks[0].attempt, outcome: 'succeeded', value: 'ran', durationMs: 1 }] });
    await peer.next((m) => m.kind === 'task.ack' && m.results.some((a: any) => a.taskId === id && a.accepted));
    expect(peer.received.filter((m) => m.kind === 'task.cancel')).toEqual([]);
    expect((await foreman.api.request('GET', `/tasks/${id}`)).state).toBe('succeeded');
  });
});
