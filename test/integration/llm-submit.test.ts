/**
 * `gaffer submit prompts.jsonl --type llm --out results.jsonl`, resumed after the CLI is SIGKILLed.
 * Real foreman, real workers, the real CLI; the model is the OpenAI-compatible stand-in (test/fixtures).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startOpenAiStandIn, type OpenAiStandIn } from '../fixtures/openai-stand-in.js';
import { BIN, LoggedProcess, spawnWorker, startForeman, tempDir } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait-for.js';

let standIn: OpenAiStandIn | null = null;
afterEach(async () => {
  await standIn?.close();
  standIn = null;
});

const outLines = (out: string) => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter((l) => l !== '') : []);

function submit(foremanUrl: string, prompts: string, out: string, extra: string[] = []): LoggedProcess {
  const args = [BIN, 'submit', prompts, '--type', 'llm', '--out', out, '--foreman', foremanUrl, ...extra];
  return new LoggedProcess(spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
}

// Several CLI runs per test, each a process start: more than the default 60 s on a loaded 2-core machine.
describe('gaffer submit --type llm', { timeout: 150_000 }, () => {
  it('after a SIGKILL halfway through 2,000 prompts, a rerun appends exactly the missing results', async () => {
    standIn = await startOpenAiStandIn({ tokenDelayMs: 2 });
    const foreman = await startForeman();
    for (let i = 0; i < 2; i++) await spawnWorker(foreman.wsUrl, { concurrency: 8, args: ['--llm-base-url', standIn.url] });
    const dir = tempDir();
    const prompts = join(dir, 'prompts.jsonl');
    // Both input forms: an object with a prompt, and a bare JSON string.
    const lines = Array.from({ length: 2000 }, (_, i) => (i % 2 === 0 ? JSON.stringify({ prompt: `prompt ${i + 1}` }) : JSON.stringify(`prompt ${i + 1}`)));
    writeFileSync(prompts, `${lines.join('\n')}\n`);
    const out = join(dir, 'results.jsonl');

    const first = submit(foreman.url, prompts, out);
    await waitFor(() => outLines(out).length >= 1000, 'half of the results written', 100_000);
    first.kill('SIGKILL');
    await first.exited();
    const before = outLines(out).length;
    expect(before).toBeLessThan(2000);

    const second = submit(foreman.url, prompts, out);
    expect(await second.exited()).toBe(0);
    expect(second.stderr).toMatch(/2000 lines: \d+ results written \(\d+ succeeded, 0 failed, 0 cancelled\), \d+ already in/);

    const results = outLines(out).map((l) => JSON.parse(l));
    expect(results).toHaveLength(2000);
    const numbers = results.map((r) => r.line as number);
    expect(new Set(numbers).size).toBe(2000);
    expect(Math.min(...numbers)).toBe(1);
    expect(Math.max(...numbers)).toBe(2000);
    for (const r of results) expect(r).toMatchObject({ state: 'succeeded', result: { text: `echo: prompt ${r.line}`, finish_reason: 'stop' } });
    // Nothing was submitted twice, so the model saw every prompt exactly once.
    expect(standIn.requests).toHaveLength(2000);
    expect(new Set(standIn.requests.map((r) => r.prompt)).size).toBe(2000);

    // A third run has nothing to do.
    const third = submit(foreman.url, prompts, out);
    expect(await third.exited()).toBe(0);
    expect(third.stderr).toMatch(/2000 lines: 0 results written .* 2000 already in/);
    expect(outLines(out)).toHaveLength(2000);
    expect(standIn.requests).toHaveLength(2000);
  });

  it('removes a result line cut off by a crash, takes plain-text lines as prompts, and --no-resume starts over', async () => {
    standIn = await startOpenAiStandIn();
    const foreman = await startForeman();
    await spawnWorker(foreman.wsUrl, { args: ['--llm-base-url', standIn.url] });
    const dir = tempDir();
    const prompts = join(dir, 'prompts.txt');
    writeFileSync(prompts, 'first question\n\n{"messages":[{"role":"user","content":"third"}],"max_tokens":1}\n');
    const out = join(dir, 'results.jsonl');
    expect(await submit(foreman.url, prompts, out).exited()).toBe(0);
    const full = outLines(out);
    expect(full.map((l) => JSON.parse(l).line).sort()).toEqual([1, 3]);
    const byLine = new Map(full.map((l) => [JSON.parse(l).line as number, l]));
    expect(JSON.parse(byLine.get(1)!).result.text).toBe('echo: first question');
    expect(JSON.parse(byLine.get(3)!).result).toMatchObject({ text: 'echo:', finish_reason: 'length' });

    // As if the CLI died while writing line 3: the cut-off line is dropped and line 3 comes back from the foreman.
    writeFileSync(out, `${byLine.get(1)}\n${byLine.get(3)!.slice(0, 12)}`);
    const rerun = submit(foreman.url, prompts, out);
    expect(await rerun.exited()).toBe(0);
    expect(rerun.stderr).toMatch(/1 results written .* 1 already in/);
    expect(outLines(out).map((l) => JSON.parse(l).line)).toEqual([1, 3]);

    const over = submit(foreman.url, prompts, out, ['--no-resume']);
    expect(await over.exited()).toBe(0);
    expect(outLines(out).map((l) => JSON.parse(l).line).sort()).toEqual([1, 3]);
    // Every result came from tasks already done: the model was asked each prompt once.
    expect(standIn.requests.map((r) => r.prompt).sort()).toEqual(['first question', 'third']);
  });

  it('keeps going while workers join and leave: one SIGKILLed mid-run, another started', async () => {
    // About 200 ms per prompt, 4 at a time: the run outlasts a worker's start.
    standIn = await startOpenAiStandIn({ tokenDelayMs: 60 });
    const foreman = await startForeman(['--heartbeat-interval-ms', '100', '--stale-after-ms', '600', '--lease-ms', '1500', '--grace-ms', '200', '--sweep-interval-ms', '50']);
    const doomed = await spawnWorker(foreman.wsUrl, { concurrency: 4, args: ['--llm-base-url', standIn.url] });
    const dir = tempDir();
    const prompts = join(dir, 'prompts.txt');
    writeFileSync(prompts, `${Array.from({ length: 300 }, (_, i) => `question ${i + 1}`).join('\n')}\n`);
    const out = join(dir, 'results.jsonl');
    const run = submit(foreman.url, prompts, out);
    await waitFor(() => outLines(out).length >= 20, 'some results');
    const joined = await spawnWorker(foreman.wsUrl, { concurrency: 4, args: ['--llm-base-url', standIn.url] });
    doomed.kill('SIGKILL');
    expect(outLines(out).length).toBeLessThan(300);
    expect(await run.exited()).toBe(0);
    const results = outLines(out).map((l) => JSON.parse(l));
    expect(results).toHaveLength(300);
    expect(new Set(results.map((r) => r.line)).size).toBe(300);
    for (const r of results) expect(r.result.text).toBe(`echo: question ${r.line}`);
    // The newcomer took over, including the prompts that were running on the killed worker.
    expect(results.filter((r) => r.workerId === joined.id).length).toBeGreaterThan(0);
    expect(results.some((r) => r.attempt === 2 && r.workerId === joined.id)).toBe(true);
  });
});
