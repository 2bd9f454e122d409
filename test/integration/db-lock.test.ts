/**
 * One foreman per database file, and a start that fails leaves nothing behind (issue 9.1, 9.3),
 * with real foreman processes: a second foreman on a live foreman's file refuses before writing
 * anything and the first one's running task is untouched; a foreman killed with -9 leaves a lock
 * the next start takes over; a foreman that cannot bind its port leaves no database or tokens
 * file; a read-only file system gives one line naming the path and the reason.
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, LoggedProcess, spawnWorker, startForeman, tempDir } from '../helpers/processes.js';
import { submit, waitForTask } from '../helpers/tasks.js';

/** Runs `gaffer foreman` expecting it to fail; resolves with its exit code and stderr. */
async function failedStart(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const p = new LoggedProcess(spawn(process.execPath, [BIN, 'foreman', '--port', '0', '--host', '127.0.0.1', ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
  const code = await p.exited();
  return { code, stderr: p.stderr };
}

/** Every file in `dir` with its size and modification time. */
const listing = (dir: string) => readdirSync(dir).sort().map((f) => [f, statSync(join(dir, f)).size, statSync(join(dir, f)).mtimeMs]);

const mounts: string[] = [];
afterEach(() => {
  for (const dir of mounts.splice(0)) execFileSync('umount', ['-l', dir]);
});

describe('one foreman per database file', () => {
  it('a second foreman on the same file refuses to start, names the file and the pid, writes nothing, and disturbs nothing', async () => {
    const a = await startForeman(['--grace-ms', '200']);
    const worker = await spawnWorker(a.wsUrl);
    const id = await submit(a.api, { type: 'sleep', params: { ms: 1500 } });
    await waitForTask(a.api, id, (t) => t.state === 'running', 'the task running on the first foreman');
    const dir = join(a.dbPath, '..');
    const before = readdirSync(dir).sort();

    const second = await failedStart(['--db', a.dbPath]);
    expect(second.code).toBe(1);
    const lines = second.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(a.dbPath);
    expect(lines[0]).toContain(`pid ${a.proc.pid}`);
    expect(readdirSync(dir).sort()).toEqual(before);

    const done = await waitForTask(a.api, id, (t) => t.state === 'succeeded', 'the task to finish on the first foreman');
    expect(done.attempts.map((x: any) => [x.attempt, x.outcome])).toEqual([[1, 'succeeded']]);
    worker.kill();

    // Killed with -9, the first leaves its lock behind; the next start takes it over.
    a.kill('SIGKILL');
    await a.exited();
    const c = await startForeman([], { dbPath: a.dbPath });
    expect((await c.api.request('GET', `/tasks/${id}`)).state).toBe('succeeded');
  });

  it('a foreman that cannot bind its port leaves no database, tokens file or blob directory behind', async () => {
    const a = await startForeman(['--host', '0.0.0.0']);
    const dir = tempDir();
    const failed = await failedStart(['--host', '0.0.0.0', '--port', String(a.port), '--db', join(dir, 'gaffer.db')]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/EADDRINUSE|address already in use/);
    expect(readdirSync(dir)).toEqual([]);
    // The running foreman's own files are untouched by the failed start beside it.
    expect(readdirSync(join(a.dbPath, '..'))).toContain('gaffer.db.tokens.json');
  });

  it('a read-only file system gives one line naming the database and the reason, for a new and an existing file', async () => {
    const dir = tempDir('gaffer-ro-');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', dir]);
    mounts.push(dir);
    const db = join(dir, 'gaffer.db');
    const existing = await startForeman([], { dbPath: db });
    existing.kill('SIGTERM');
    expect(await existing.exited()).toBe(0);
    const files = listing(dir);
    execFileSync('mount', ['-o', 'remount,ro', dir]);

    for (const path of [db, join(dir, 'new.db')]) {
      const failed = await failedStart(['--db', path]);
      expect(failed.code).toBe(1);
      const lines = failed.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(path);
      expect(lines[0]).toMatch(/read-only/);
    }
    expect(listing(dir)).toEqual(files);
  });
});
