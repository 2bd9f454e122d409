/**
 * `gaffer submit` accounts for every input line when keys repeat earlier work (issue 9.2), with real
 * processes: a second file reusing two keys of the first job (same tasks) and adding one new line
 * gets all three results and exits 0; reusing a key for different params is refused, naming the line.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, LoggedProcess, spawnWorker, startForeman, tempDir } from '../helpers/processes.js';

describe('gaffer submit with keys seen before', () => {
  it('reports every line of a file whose keys name tasks of an earlier job', async () => {
    const foreman = await startForeman();
    await spawnWorker(foreman.wsUrl);
    const dir = tempDir();
    const line = (k: string, text: string) => JSON.stringify({ type: 'reverse', params: { text }, key: k });
    const run = async (name: string, lines: string[]) => {
      writeFileSync(join(dir, name), `${lines.join('\n')}\n`);
      const out = join(dir, `${name}.out`);
      const proc = new LoggedProcess(spawn(process.execPath, [BIN, 'submit', join(dir, name), '--foreman', foreman.url, '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] }));
      const code = await proc.exited();
      let results: any[] = [];
      try {
        results = readFileSync(out, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
      } catch {}
      return { code, stderr: proc.stderr, results };
    };

    const first = await run('k1.jsonl', [line('a', 'one'), line('b', 'two')]);
    expect(first.code).toBe(0);
    const second = await run('k2.jsonl', [line('a', 'one'), line('b', 'two'), line('c', 'three')]);
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(/3 succeeded, 0 failed/);
    expect(second.results.map((r) => r.result).sort()).toEqual(['eerht', 'eno', 'owt']);
    const jobs = (await foreman.api.request('GET', '/jobs')).jobs;
    expect(jobs[0]).toMatchObject({ total: 3, complete: true });

    const conflict = await run('k3.jsonl', [line('c', 'three'), line('a', 'not one')]);
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toMatch(/line 2/);
    expect(conflict.stderr).toMatch(/key "a"/);
  });
});
