import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Client, TaskFailedError } from '../../client/index.js';
import { BIN, LoggedProcess, spawnWorker, startForeman, tempDir, type ForemanProcess } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait-for.js';

// A hand-assembled module: add(i32, i32) -> i32, spin() loops forever, grow(pages) -> memory.grow's answer.
const WASM = 'AGFzbQEAAAABDwNgAn9/AX9gAABgAX8BfwMEAwABAgUDAQABBxUDA2FkZAAABHNwaW4AAQRncm93AAIKGAMHACAAIAFqCwcAA0AMAAsLBgAgAEAACw==';

async function settle(foreman: ForemanProcess, body: unknown): Promise<Record<string, any>> {
  const { id } = await foreman.api.request('POST', '/tasks', { maxAttempts: 1, ...(body as object) });
  return waitFor(async () => {
    const t = await foreman.api.request('GET', `/tasks/${id}`);
    return (t.state === 'succeeded' || t.state === 'failed') && t;
  }, `task ${id} settled`, 30_000);
}

describe('code tasks', () => {
  it('runs a job of 1,000 js tasks sharing one source across three workers, all correct', async () => {
    const foreman = await startForeman();
    // One after another: three processes loading at once on a loaded machine can pass the start deadline.
    const workers = [];
    for (let i = 0; i < 3; i++) workers.push(await spawnWorker(foreman.wsUrl, { args: ['--allow-code', '--code-threads', '1'] }));
    const source = '(n) => { let a = 0, b = 1; for (let i = 0; i < n; i++) [a, b] = [b, (a + b) % 1000007]; return a; }';
    const fib = (n: number) => {
      let a = 0;
      let b = 1;
      for (let i = 0; i < n; i++) [a, b] = [b, (a + b) % 1000007];
      return a;
    };
    const tasks = Array.from({ length: 1000 }, (_, i) => ({ type: 'js', params: { args: [i] } }));
    const { jobId } = await foreman.api.request('POST', '/jobs', { params: { source }, tasks });
    const results: Array<Record<string, any>> = [];
    for await (const r of foreman.api.results(jobId)) results.push(r);
    expect(results).toHaveLength(1000);
    const byWorker = new Map<string, number>();
    for (const r of results) {
      expect(r.state).toBe('succeeded');
      byWorker.set(r.workerId, (byWorker.get(r.workerId) ?? 0) + 1);
    }
    const page = await foreman.api.request('GET', `/tasks?jobId=${jobId}&limit=1000`);
    for (const t of page.tasks) expect(t.result).toBe(fib((t.params as { args: number[] }).args[0]));
    // The source is stored once, on the job; each task carries only its args.
    expect(page.tasks[0].params).toEqual({ args: [0] });
    expect([...byWorker.keys()].sort()).toEqual(workers.map((w) => w.id).sort());
    // Shared params need object params on every task: the bad one is named.
    const bad = await fetch(`${foreman.url}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ params: { source }, tasks: [{ type: 'js', params: { args: [1] } }, { type: 'js', params: [2] }] }) });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ statusCode: 400, code: 'INVALID_REQUEST', field: 'body/tasks/1/params' });
  }, 180_000);

  it('never sends code to a worker that did not opt in: js is not among its skills', async () => {
    const foreman = await startForeman();
    const plain = await spawnWorker(foreman.wsUrl);
    const { id } = await foreman.api.request('POST', '/tasks', { type: 'js', params: { source: '() => 1' } });
    const { workers } = await foreman.api.request('GET', '/workers');
    expect(workers.find((w: { id: string }) => w.id === plain.id).skills.map((s: { type: string } | string) => (typeof s === 'string' ? s : s.type))).not.toContain('js');
    // It waits until an opted-in worker arrives, then runs there.
    const coder = await spawnWorker(foreman.wsUrl, { args: ['--allow-code'] });
    const task = await waitFor(async () => {
      const t = await foreman.api.request('GET', `/tasks/${id}`);
      return t.state === 'succeeded' && t;
    }, 'js task ran');
    expect(task).toMatchObject({ result: 1, workerId: coder.id });
    expect(task.attempts.map((a: { workerId: string }) => a.workerId)).toEqual([coder.id]);
  });

  it('contains every escape and limit, and the worker keeps serving after each', async () => {
    const foreman = await startForeman();
    const worker = await spawnWorker(foreman.wsUrl, { args: ['--allow-code', '--code-threads', '2', '--code-cpu-ms', '2000', '--code-timeout-ms', '4000', '--code-memory-mb', '32'] });
    const cases: Array<[string, string, string]> = [
      ["() => require('fs').readFileSync('/etc/passwd', 'utf8')", 'CODE_THREW', "'require' is not defined"],
      ['() => process.exit(1)', 'CODE_THREW', "'process' is not defined"],
      ["async () => (await fetch('http://127.0.0.1:1/')).status", 'CODE_THREW', "'fetch' is not defined"],
      ['() => { while (true) {} }', 'CODE_CPU_LIMIT', 'CPU'],
      ['() => { const a = []; for (;;) a.push(new Uint8Array(64 * 1024 * 1024)); }', 'CODE_MEMORY_LIMIT', 'out of memory'],
      ['() => new Uint8Array(2 * 1024 * 1024 * 1024).length', 'CODE_THREW', 'RangeError'],
      ['() => { const f = (n) => f(n + 1) + 1; return f(0); }', 'CODE_STACK_LIMIT', 'stack overflow'],
      ['() => new Promise(() => { while (true) {} })', 'CODE_CPU_LIMIT', 'CPU'],
      ['async () => { await null; while (true) {} }', 'CODE_CPU_LIMIT', 'CPU'],
      ['() => new Promise(() => {})', 'CODE_THREW', 'never settled'],
      ["() => 'x'.repeat(2 * 1024 * 1024)", 'CODE_RESULT_TOO_LARGE', 'bytes'],
      ["() => typeof setTimeout + typeof process + typeof require + typeof fetch", '', ''],
    ];
    for (const [source, code, text] of cases) {
      const t = await settle(foreman, { type: 'js', params: { source } });
      if (code === '') expect(t.result, source).toBe('undefinedundefinedundefinedundefined');
      else {
        expect(t.state, source).toBe('failed');
        expect(t.error.code, source).toBe(code);
        expect(t.error.message, source).toContain(text);
      }
      // Still serving: an ordinary code task on the same worker succeeds right after.
      expect((await settle(foreman, { type: 'js', params: { source: '(a, b) => a * b', args: [6, 7] } })).result).toBe(42);
    }
    expect(worker.proc.exitCode).toBeNull();
    // One session throughout: no limit made the worker reconnect or miss its heartbeats.
    expect(worker.lines.filter((l) => l.msg === 'registered with foreman')).toHaveLength(1);
  });

  it('keeps heartbeating while code computes, and terminates a run past its wall-clock limit', async () => {
    const foreman = await startForeman(['--heartbeat-interval-ms', '250', '--stale-after-ms', '2000', '--lease-ms', '3000']);
    const worker = await spawnWorker(foreman.wsUrl, { args: ['--allow-code', '--code-threads', '2', '--code-cpu-ms', '10000', '--code-timeout-ms', '12000'] });
    // A busy loop for twice the lease: the worker must stay alive and keep serving meanwhile.
    const { id } = await foreman.api.request('POST', '/tasks', { type: 'js', maxAttempts: 1, params: { source: '() => { const end = Date.now() + 6000; let n = 0; while (Date.now() < end) n++; return n > 0; }' } });
    await waitFor(async () => (await foreman.api.request('GET', `/tasks/${id}`)).state === 'running', 'busy task running');
    expect((await settle(foreman, { type: 'echo', params: 'meanwhile' })).result).toBe('meanwhile');
    const busy = await waitFor(async () => {
      const t = await foreman.api.request('GET', `/tasks/${id}`);
      return t.state === 'succeeded' && t;
    }, 'busy task done');
    expect(busy).toMatchObject({ result: true, attempt: 1, workerId: worker.id });
    // A task may lower the wall limit; past it the thread is terminated (CODE_TIMEOUT is retryable: maxAttempts 1 stops it here).
    const slow = await settle(foreman, { type: 'js', params: { source: '() => { for (;;) {} }', limits: { timeoutMs: 300 } } });
    expect(slow.error.code).toBe('CODE_TIMEOUT');
    // A task may not raise a limit past the worker's.
    const greedy = await settle(foreman, { type: 'js', params: { source: '() => 1', limits: { memoryMb: 100_000 } } });
    expect(greedy.error).toMatchObject({ code: 'CODE_INVALID', retryable: false });
    expect(greedy.error.message).toContain('params.limits.memoryMb');
    expect(worker.lines.filter((l) => l.msg === 'registered with foreman')).toHaveLength(1);
  });

  it('runs wasm exports with no imports, capped memory, and terminates a module that never returns', async () => {
    const foreman = await startForeman();
    await spawnWorker(foreman.wsUrl, { args: ['--allow-code', '--code-threads', '1', '--code-cpu-ms', '500', '--code-memory-mb', '1'] });
    expect((await settle(foreman, { type: 'wasm', params: { module: WASM, export: 'add', args: [40, 2] } })).result).toBe(42);
    // 1 MB is 16 pages; the module starts with 1: growing by 10 works, by 100 fails inside the module (-1).
    expect((await settle(foreman, { type: 'wasm', params: { module: WASM, export: 'grow', args: [10] } })).result).toBe(1);
    expect((await settle(foreman, { type: 'wasm', params: { module: WASM, export: 'grow', args: [100] } })).result).toBe(-1);
    const spin = await settle(foreman, { type: 'wasm', params: { module: WASM, export: 'spin' } });
    expect(spin.error.code).toBe('CODE_CPU_LIMIT');
    const missing = await settle(foreman, { type: 'wasm', params: { module: WASM, export: 'nope' } });
    expect(missing.error.code).toBe('CODE_INVALID');
    // The replacement thread serves the next task.
    expect((await settle(foreman, { type: 'wasm', params: { module: WASM, export: 'add', args: [1, 2] } })).result).toBe(3);
    // The module as a blob reference: stored once, downloaded by the worker, read from its file.
    const put = await fetch(`${foreman.url}/blobs`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from(WASM, 'base64') });
    const { ref } = (await put.json()) as { ref: string };
    expect((await settle(foreman, { type: 'wasm', params: { module: ref, export: 'add', args: [20, 22] } })).result).toBe(42);
  });

  it('gaffer run-fn runs a function file over an inputs file and writes one result per line', async () => {
    const foreman = await startForeman();
    await spawnWorker(foreman.wsUrl, { args: ['--allow-code', '--code-threads', '1'] });
    const dir = tempDir();
    writeFileSync(join(dir, 'fn.js'), 'export default function (a, b = 0) {\n  if (a < 0) throw new Error("negative");\n  return a * 10 + b;\n}\n');
    writeFileSync(join(dir, 'inputs.jsonl'), `${[...Array.from({ length: 50 }, (_, i) => JSON.stringify([i, 1])), '7', '[-1]'].join('\n')}\n`);
    const out = join(dir, 'results.jsonl');
    const proc = new LoggedProcess(spawn(process.execPath, [BIN, 'run-fn', join(dir, 'fn.js'), '--args', join(dir, 'inputs.jsonl'), '--out', out, '--foreman', foreman.url], { stdio: ['ignore', 'pipe', 'pipe'] }));
    expect(await proc.exited()).toBe(2);
    expect(proc.stderr).toMatch(/51 succeeded, 1 failed of 52/);
    const byLine = new Map(readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).map((r) => [r.line, r]));
    expect(byLine.size).toBe(52);
    for (let i = 0; i < 50; i++) expect(byLine.get(i + 1)).toMatchObject({ state: 'succeeded', result: i * 10 + 1 });
    expect(byLine.get(51)).toMatchObject({ result: 70 });
    expect(byLine.get(52)).toMatchObject({ state: 'failed', error: { code: 'CODE_THREW' } });
    expect(byLine.get(52).error.message).toContain('negative');
  });

  it('client.runFunction and client.mapFunction send a function to the sandbox', async () => {
    const foreman = await startForeman();
    await spawnWorker(foreman.wsUrl, { args: ['--allow-code', '--code-threads', '2'] });
    const client = new Client({ foreman: foreman.url });
    expect(await client.runFunction((a: number, b: number) => a * b, 6, 7)).toBe(42);
    expect(await client.runFunction(async (s: string) => s.split('').reverse().join(''), 'gaffer')).toBe('reffag');
    const squares = await client.mapFunction((n: number) => n * n, Array.from({ length: 200 }, (_, i) => i), { concurrency: 50 });
    expect(squares).toEqual(Array.from({ length: 200 }, (_, i) => i * i));
    const failed = await client.runFunction(() => { throw new Error('from the sandbox'); }).catch((e) => e);
    expect(failed).toBeInstanceOf(TaskFailedError);
    expect(failed.error).toMatchObject({ code: 'CODE_THREW' });
  });
});
