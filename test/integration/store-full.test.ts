/**
 * A full disk under a real foreman process (issue 9.3): the database lives on a small tmpfs that
 * the test fills with a real file. Results that arrive meanwhile are held, not lost and not refused;
 * writes get 503 with Retry-After and /health says so; once space returns the held changes commit,
 * the job completes and every result was accepted exactly once.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startForeman, tempDir } from '../helpers/processes.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { waitFor } from '../helpers/wait-for.js';

const mounts: string[] = [];
afterEach(() => {
  // Lazy: the foreman may still hold the file open until the process helper kills it.
  for (const dir of mounts.splice(0)) execFileSync('umount', ['-l', dir]);
});

/** A directory on a tmpfs of `sizeMb` MiB (needs root, as the test machine and CI run). */
function smallDisk(sizeMb: number): string {
  const dir = tempDir('gaffer-full-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir]);
  mounts.push(dir);
  return dir;
}

/** Writes zeros into `file` until the filesystem refuses (ENOSPC). */
function fillDisk(file: string): void {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}

async function health(url: string): Promise<{ status: number; retryAfter: string | null; body: any }> {
  const res = await fetch(`${url}/health`);
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.json() };
}

describe('a full disk', () => {
  it('holds results until space returns, answers 503 meanwhile, then completes the job with every result once', async () => {
    const disk = smallDisk(8);
    const foreman = await startForeman([], { dbPath: join(disk, 'gaffer.db') });
    const peer = await RawPeer.connect(foreman.wsUrl);
    peer.hello('full-disk', { capacity: 100 });
    await peer.next((m) => m.kind === 'welcome');
    const n = 40;
    const { jobId } = await foreman.api.request('POST', '/jobs', Array.from({ length: n }, (_, i) => ({ type: 'echo', params: i })));
    await waitFor(() => peer.received.filter((m) => m.kind === 'task.assign').flatMap((m) => m.tasks).length === n, 'all assigned');
    const tasks = peer.received.filter((m) => m.kind === 'task.assign').flatMap((m) => m.tasks);

    const filler = join(disk, 'filler');
    fillDisk(filler);
    // Results big enough that their commit needs new pages of the WAL.
    peer.send({ kind: 'task.result', results: tasks.map((t: any) => ({ taskId: t.taskId, attempt: t.attempt, outcome: 'succeeded', value: 'r'.repeat(2000), durationMs: 1 })) });

    const down = await waitFor(async () => {
      const h = await health(foreman.url);
      return h.status === 503 && h;
    }, '/health to report the store unavailable');
    expect(down.body).toMatchObject({ ok: false, store: 'unavailable' });
    expect(Number(down.retryAfter)).toBeGreaterThanOrEqual(1);
    const refused = await fetch(`${foreman.url}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'echo' }) });
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await refused.json()).toMatchObject({ statusCode: 503, code: 'STORE_UNAVAILABLE' });
    expect((await foreman.api.request('GET', `/jobs/${jobId}`)).complete).toBe(false);
    // Nothing was acknowledged (accepted or refused) while nothing could be written.
    expect(peer.received.filter((m) => m.kind === 'task.ack')).toEqual([]);
    await foreman.waitForLine((l) => l.msg === 'store cannot write; holding every change and retrying until it can', 'the outage logged');

    // The worker reconnects meanwhile and resends what it holds: neither revoked nor refused, acknowledged once durable.
    peer.close();
    const again = await RawPeer.connect(foreman.wsUrl);
    again.hello('full-disk', { capacity: 100, running: tasks.map((t: any) => ({ taskId: t.taskId, attempt: t.attempt })) });
    const welcome = await again.next((m) => m.kind === 'welcome');
    expect(welcome.revoked).toEqual([]);
    again.send({ kind: 'task.result', results: tasks.map((t: any) => ({ taskId: t.taskId, attempt: t.attempt, outcome: 'succeeded', value: 'r'.repeat(2000), durationMs: 1 })) });
    await foreman.api.request('GET', '/health').catch(() => {});
    expect(again.received.filter((m) => m.kind === 'task.ack')).toEqual([]);

    rmSync(filler);
    await waitFor(async () => (await foreman.api.request('GET', `/jobs/${jobId}`)).complete === true, 'the job to complete once space returns');
    const lines: any[] = [];
    for await (const line of foreman.api.results(jobId)) lines.push(line);
    expect(lines.map((l) => l.id).sort()).toEqual(tasks.map((t: any) => t.taskId).sort());
    expect(new Set(lines.map((l) => l.state))).toEqual(new Set(['succeeded']));
    await waitFor(() => again.received.filter((m) => m.kind === 'task.ack').flatMap((m) => m.results).length >= n, 'the resent results acknowledged');
    const acks = again.received.filter((m) => m.kind === 'task.ack').flatMap((m) => m.results);
    expect(acks.filter((a: any) => a.accepted).length).toBe(n);
    expect(acks.filter((a: any) => !a.accepted)).toEqual([]);
    expect((await health(foreman.url)).status).toBe(200);
    expect(foreman.lines.filter((l) => l.msg === 'store cannot write; holding every change and retrying until it can').length).toBe(1);
  });
});
