import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, LoggedProcess, spawnWorker, startForeman, tempDir } from '../helpers/processes.js';

describe('the gaffer CLI', () => {
  it('submits a JSONL file as one job and writes every result', async () => {
    const foreman = await startForeman();
    await spawnWorker(foreman.wsUrl);
    const dir = tempDir();
    const tasks = Array.from({ length: 300 }, (_, i) => JSON.stringify({ type: 'reverse', params: { text: `n${i}` }, key: `k${i}` }));
    writeFileSync(join(dir, 'tasks.jsonl'), `${tasks.join('\n')}\n`);
    const out = join(dir, 'results.jsonl');
    const proc = new LoggedProcess(spawn(process.execPath, [BIN, 'submit', join(dir, 'tasks.jsonl'), '--foreman', foreman.url, '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] }));
    expect(await proc.exited()).toBe(0);
    expect(proc.stderr).toMatch(/300 succeeded, 0 failed/);
    const results = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(results).toHaveLength(300);
    const byKey = new Map(results.map((r) => [r.key, r]));
    expect(byKey.get('k42')).toMatchObject({ state: 'succeeded', result: '24n' });
  });

  it('prints workers and queue depth with status', async () => {
    const foreman = await startForeman();
    const w = await spawnWorker(foreman.wsUrl);
    await foreman.api.request('POST', '/tasks', { type: 'nobody-has-this' });
    const proc = new LoggedProcess(spawn(process.execPath, [BIN, 'status', '--foreman', foreman.url], { stdio: ['ignore', 'pipe', 'pipe'] }));
    expect(await proc.exited()).toBe(0);
    const text = proc.lines.map((l) => l.msg).join('\n');
    expect(text).toMatch(/1 queued/);
    expect(text).toMatch(/nobody-has-this: 1 waiting \(no connected worker has this skill\)/);
    expect(text).toContain(w.id);
  });

  it('refuses a bad flag value with a message naming it', async () => {
    const proc = new LoggedProcess(spawn(process.execPath, [BIN, 'foreman', '--port', 'ninety'], { stdio: ['ignore', 'pipe', 'pipe'] }));
    expect(await proc.exited()).toBe(1);
    expect(proc.stderr).toMatch(/--port must be a number/);
  });
});
