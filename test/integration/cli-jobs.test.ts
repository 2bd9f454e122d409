/**
 * `gaffer submit`, `gaffer results` and `gaffer cancel` against a real foreman and worker: the job id comes
 * first, every result carries its input line, the file is streamed (read as it is written),
 * tasks waiting for a skill nobody has are named, and Ctrl-C leaves a job the user can find again.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/auth.js';
import { BIN, LoggedProcess, spawnWorker, startForeman, tempDir } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait-for.js';

function submit(args: string[], env: NodeJS.ProcessEnv = {}): LoggedProcess {
  return new LoggedProcess(spawn(process.execPath, [BIN, 'submit', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } }));
}

describe('gaffer submit', () => {
  it('prints the job id first and puts the input line on every result', async () => {
    const foreman = await startForeman();
    await spawnWorker(foreman.wsUrl);
    const dir = tempDir();
    // Blank lines count: line numbers are the file's own.
    const text = ['{"type":"reverse","params":{"text":"one"}}', '', '{"type":"reverse","params":{"text":"three"},"key":"k3"}', '{"type":"sum","params":{"numbers":[1,2]}}', ''].join('\n');
    writeFileSync(join(dir, 'tasks.jsonl'), text);
    // ws:// works for submit as well: the HTTP address is derived.
    const proc = submit([join(dir, 'tasks.jsonl'), '--foreman', foreman.wsUrl, '--out', join(dir, 'out.jsonl')]);
    expect(await proc.exited()).toBe(0);
    expect(proc.stderr.split('\n')[0]).toMatch(/^job j_\w+ \(gaffer results j_\w+ --follow · gaffer cancel j_\w+\)$/);
    // The bar's time left is ours (h/m/s, never 1m60s), not cli-progress's.
    expect(proc.stderr).toMatch(/\| 3\/3 done · 0 failed · \d+\/s · ETA 0s/);
    const results = readFileSync(join(dir, 'out.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const byLine = new Map(results.map((r) => [r.line, r]));
    expect([...byLine.keys()].sort()).toEqual([1, 3, 4]);
    expect(byLine.get(1)).toMatchObject({ state: 'succeeded', result: 'eno' });
    expect(byLine.get(3)).toMatchObject({ key: 'k3', result: 'eerht' });
    expect(byLine.get(4)).toMatchObject({ result: 3 });
  });

  it('streams the file: tasks are submitted and run while the file is still being written', async () => {
    const foreman = await startForeman();
    await spawnWorker(foreman.wsUrl);
    const dir = tempDir();
    // A named pipe: reading it whole (as a 2 GB file must not be read) would wait for the writer to finish.
    const fifo = join(dir, 'tasks.fifo');
    execFileSync('mkfifo', [fifo]);
    const out = join(dir, 'out.jsonl');
    const proc = submit([fifo, '--foreman', foreman.url, '--out', out]);
    const writer = createWriteStream(fifo);
    const line = (i: number) => `${JSON.stringify({ type: 'echo', params: i })}\n`;
    writer.write(Array.from({ length: 1000 }, (_, i) => line(i + 1)).join(''));
    await waitFor(() => /^job j_/.test(proc.stderr), 'the job id while the file is still open');
    const written = () => (existsSync(out) ? readFileSync(out, 'utf8').trim().split('\n').filter(Boolean).length : 0);
    await waitFor(() => written() === 1000, 'the first 1000 results while the file is still open');
    writer.write(line(1001));
    await new Promise<void>((r) => writer.end(() => r()));
    expect(await proc.exited(), proc.stderr).toBe(0);
    expect(proc.stderr).toMatch(/1001 succeeded, 0 failed/);
    const results = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    for (const r of results) expect(r.result).toBe(r.line);
  });

  it('names a type no connected worker handles; Ctrl-C says how to find the job; results and cancel reach it', async () => {
    const foreman = await startForeman();
    await spawnWorker(foreman.wsUrl);
    const dir = tempDir();
    writeFileSync(join(dir, 'tasks.jsonl'), '{"type":"echo","params":1}\n{"type":"nobody-has-this"}\n{"type":"nobody-has-this"}\n');
    const proc = submit([join(dir, 'tasks.jsonl'), '--foreman', foreman.url, '--out', join(dir, 'out.jsonl')]);
    await waitFor(() => /2 tasks of type "nobody-has-this" wait: no connected worker has this skill/.test(proc.stderr), 'the waiting notice');
    const jobId = /^job (j_\w+)/.exec(proc.stderr)?.[1] as string;
    proc.kill('SIGINT');
    expect(await proc.exited()).toBe(130);
    expect(proc.stderr).toContain(`job ${jobId} keeps running on the foreman: gaffer results ${jobId} --follow, or gaffer cancel ${jobId}`);

    // Without --follow: what has settled so far (the echo), then the end.
    const sofar = await runCli(['results', jobId, '--foreman', foreman.url]);
    expect(sofar.code).toBe(0);
    expect(sofar.stdout.trim().split('\n').map((l) => JSON.parse(l))).toMatchObject([{ type: 'echo', state: 'succeeded', result: 1 }]);

    const follow = new LoggedProcess(spawn(process.execPath, [BIN, 'results', jobId, '--follow', '--foreman', foreman.url, '--out', join(dir, 'followed.jsonl')], { stdio: ['ignore', 'pipe', 'pipe'] }));
    const cancelled = await runCli(['cancel', jobId, '--foreman', foreman.url]);
    expect(cancelled).toMatchObject({ code: 0, stdout: `job ${jobId}: 2 tasks cancelled\n` });
    expect(await follow.exited()).toBe(0);
    const states = readFileSync(join(dir, 'followed.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).state);
    expect(states.sort()).toEqual(['cancelled', 'cancelled', 'succeeded']);

    const unknown = await runCli(['cancel', 'j_nope', '--foreman', foreman.url]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^gaffer cancel: HTTP 404: no job j_nope\n$/);
  });

  it('names the line the foreman refuses, and cancels what was already submitted', async () => {
    const foreman = await startForeman();
    const dir = tempDir();
    // 1,000 good lines go out as the first batch (the job exists); line 1002 is refused in the second.
    const good = Array.from({ length: 1001 }, (_, i) => `{"type":"nobody-has-this","params":${i}}`);
    writeFileSync(join(dir, 'tasks.jsonl'), `${good.join('\n')}\n{"type":"echo","priority":"high"}\n`);
    const proc = submit([join(dir, 'tasks.jsonl'), '--foreman', foreman.url]);
    expect(await proc.exited()).toBe(1);
    const jobId = /^job (j_\w+)/.exec(proc.stderr)?.[1] as string;
    expect(proc.stderr).toMatch(new RegExp(`gaffer submit: line 1002: .*priority.*; job ${jobId} \\(1000 tasks so far\\) was cancelled\\n$`));
    expect(proc.stderr).not.toMatch(/\n\s+at /);
    expect((await foreman.api.request('GET', `/jobs/${jobId}`)).counts).toMatchObject({ cancelled: 1000 });
  });
});
