import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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

    // A line that is not JSON is named, and nothing of the file becomes a job.
    writeFileSync(join(dir, 'bad.jsonl'), `${tasks[0]}\n{"type": oops}\n`);
    const bad = new LoggedProcess(spawn(process.execPath, [BIN, 'submit', join(dir, 'bad.jsonl'), '--foreman', foreman.url], { stdio: ['ignore', 'pipe', 'pipe'] }));
    expect(await bad.exited()).toBe(1);
    expect(bad.stderr).toMatch(/bad\.jsonl line 2 is not valid JSON/);
    expect((await foreman.api.request('GET', '/jobs')).jobs).toHaveLength(1);
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

  it('loads a handler module with --handlers, and runs the SDK example program', async () => {
    const foreman = await startForeman();
    const example = fileURLToPath(new URL('../../examples/my-tasks.ts', import.meta.url));
    await spawnWorker(foreman.wsUrl, { args: ['--handlers', example, '--no-builtins'] });
    const { jobId } = await foreman.api.request('POST', '/jobs', [
      { type: 'resize', params: { width: 640, height: 480 } },
      { type: 'score', params: { text: 'ab' } },
      { type: 'resize', params: { width: -1, height: 1 } },
    ]);
    const results = [];
    for await (const r of foreman.api.results(jobId)) results.push(r);
    expect(results.find((r) => r.type === 'resize' && r.state === 'succeeded')?.result).toEqual({ width: 320, height: 240 });
    expect(results.find((r) => r.type === 'score')).toMatchObject({ status: 'needs_review', result: { score: 2 } });
    expect(results.find((r) => r.state === 'failed')?.error.code).toBe('PERMANENT');

    const sdk = new LoggedProcess(
      spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../../examples/sdk-worker.ts', import.meta.url))], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, GAFFER_FOREMAN: foreman.wsUrl },
      }),
    );
    await sdk.waitForLine((l) => l.msg === 'ready; Ctrl-C drains and exits', 'sdk worker ready');
    const { workers } = await foreman.api.request('GET', '/workers');
    expect(workers.find((w: any) => w.id === 'sdk-example')).toMatchObject({ capacity: 4, groupLimits: { gpu: 1 } });
  });

  it('refuses a bad flag value with a message naming it', async () => {
    const proc = new LoggedProcess(spawn(process.execPath, [BIN, 'foreman', '--port', 'ninety'], { stdio: ['ignore', 'pipe', 'pipe'] }));
    expect(await proc.exited()).toBe(1);
    expect(proc.stderr).toMatch(/--port must be a number/);
  });
});
