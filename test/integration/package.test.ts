/**
 * Gaffer as another project's dependency: `npm pack` (which builds dist/ through `prepare`), the tarball unpacked
 * and installed into a fresh `npm init -y` project (CommonJS by default) with `npm install --offline`. No network:
 * the package's own dependencies come from this checkout's node_modules, linked beside the unpacked package.
 * One pack and one install serve every test here.
 */
import { execFile as execFileCb, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { LoggedProcess, startForeman, tempDir } from '../helpers/processes.js';

const execFile = promisify(execFileCb);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NODE_MODULES = realpathSync(join(ROOT, 'node_modules'));
const NPM_ENV = { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };

let project = '';
let packed: string[] = [];

beforeAll(async () => {
  const dir = tempDir('gaffer-package-');
  const { stdout } = await execFile('npm', ['pack', '--json', '--pack-destination', dir], { cwd: ROOT, env: NPM_ENV, maxBuffer: 64 * 1024 * 1024 });
  const info = JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  packed = info[0].files.map((f) => f.path);
  const unpacked = join(dir, 'unpacked');
  mkdirSync(unpacked);
  await execFile('tar', ['xzf', join(dir, info[0].filename), '-C', unpacked]);
  symlinkSync(NODE_MODULES, join(unpacked, 'package', 'node_modules'));
  project = join(dir, 'project');
  mkdirSync(project);
  await execFile('npm', ['init', '-y'], { cwd: project, env: NPM_ENV });
  await execFile('npm', ['install', '--offline', join(unpacked, 'package')], { cwd: project, env: NPM_ENV });
}, 240_000);

function inProject(file: string, text: string): string {
  writeFileSync(join(project, file), text);
  return join(project, file);
}

describe('the packed package', () => {
  it('holds the build, the CLI and the dashboard, and no tests, benchmarks or TypeScript sources', () => {
    expect(packed).toEqual(expect.arrayContaining(['dist/index.js', 'dist/index.d.ts', 'dist/worker/index.js', 'dist/client/index.js', 'bin/gaffer.js', 'dashboard/foreman.html', 'dashboard/views/task.js', 'package.json', 'README.md']));
    expect(packed.filter((p) => /^(test|bench|examples)\//.test(p))).toEqual([]);
    expect(packed.filter((p) => p.endsWith('.ts') && !p.endsWith('.d.ts'))).toEqual([]);
  });

  it('runs handler files written as .ts, .mjs, .cjs and .js in a default (CommonJS) project', async () => {
    const foreman = await startForeman();
    const files = {
      // ESM syntax in a CommonJS project, as a newcomer writes it.
      'tasks-ts.ts': `import type { Worker } from 'gaffer';\nexport default function register(worker: Worker): void {\n  worker.task('from-ts', (p: { n: number }) => p.n * 2);\n}\n`,
      'tasks-mjs.mjs': `import { PermanentError } from 'gaffer';\nexport default (worker) => worker.task('from-mjs', (p) => { if (p.n < 0) throw new PermanentError('negative'); return p.n * 3; });\n`,
      'tasks-cjs.cjs': `module.exports = (worker) => worker.task('from-cjs', (p) => p.n * 4);\n`,
      'tasks-js.js': `const { PermanentError } = require('gaffer');\nmodule.exports = function register(worker) {\n  worker.task('from-js', (p) => { if (p.n < 0) throw new PermanentError('negative'); return p.n * 5; });\n};\n`,
    };
    const bin = join(project, 'node_modules', '.bin', 'gaffer');
    const workers = Object.entries(files).map(([file, text]) => {
      inProject(file, text);
      const args = ['worker', '--handlers', `./${file}`, '--no-builtins', '--foreman', foreman.url, '--id', file, '--status-port', '0'];
      return new LoggedProcess(spawn(bin, args, { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] }));
    });
    await Promise.all(workers.map((w) => w.waitForLine((l) => l.msg === 'registered with foreman', 'registration', 60_000)));
    const { jobId } = await foreman.api.request('POST', '/jobs', [
      { type: 'from-ts', params: { n: 1 } },
      { type: 'from-mjs', params: { n: 1 } },
      { type: 'from-cjs', params: { n: 1 } },
      { type: 'from-js', params: { n: 1 } },
      { type: 'from-js', params: { n: -1 } },
    ]);
    const results: Array<Record<string, any>> = [];
    for await (const r of foreman.api.results(jobId)) results.push(r);
    const byType = (t: string) => results.filter((r) => r.type === t && r.state === 'succeeded').map((r) => r.result);
    expect([byType('from-ts'), byType('from-mjs'), byType('from-cjs'), byType('from-js')]).toEqual([[2], [3], [4], [5]]);
    // A PermanentError from a CommonJS handler is the worker's own class: not retried.
    expect(results.find((r) => r.state === 'failed')).toMatchObject({ type: 'from-js', attempt: 1, error: { code: 'PERMANENT' } });
  });

  it('serves the join page from the build: its page, style and bundled scripts', async () => {
    const bin = join(project, 'node_modules', '.bin', 'gaffer');
    const args = ['foreman', '--port', '0', '--host', '127.0.0.1', '--db', join(tempDir(), 'gaffer.db')];
    const foreman = new LoggedProcess(spawn(bin, args, { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] }));
    const { url } = await foreman.waitForLine((l) => l.msg === 'foreman listening', 'foreman listening', 60_000);
    const get = async (path: string) => {
      const res = await fetch(`${url}/join/${path}`);
      return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
    };
    expect(await get('')).toMatchObject({ status: 200, type: expect.stringContaining('text/html'), body: expect.stringContaining('<html') });
    expect(await get('join.css')).toMatchObject({ status: 200, type: expect.stringContaining('text/css') });
    for (const script of ['app.js', 'sandbox.js']) {
      const res = await get(script);
      expect(res).toMatchObject({ status: 200, type: expect.stringContaining('text/javascript') });
      expect(res.body.length).toBeGreaterThan(1000);
    }
  });

  it("plain Node imports it ('gaffer' from .mjs, require from .cjs) and runs a worker in-process", async () => {
    const foreman = await startForeman();
    inProject(
      'app.mjs',
      `import { Worker, Client, customStatus } from 'gaffer';\nconst worker = new Worker({ foreman: process.argv[2], id: 'plain-node', status: false, logLevel: 'warn' });\nworker.task('shout', (p) => customStatus('loud', p.text.toUpperCase()));\nawait worker.start();\nawait worker.whenReady();\nconst client = new Client({ foreman: process.argv[2] });\nconst task = await client.submit('shout', { text: 'hi' });\nconsole.log(JSON.stringify(await task.result()));\nawait worker.close();\n`,
    );
    const { stdout } = await execFile(process.execPath, ['app.mjs', foreman.url], { cwd: project });
    expect(JSON.parse(stdout)).toBe('HI');
    inProject('app.cjs', `const { Worker, PermanentError, PROTOCOL_VERSION } = require('gaffer');\nconsole.log(typeof Worker, typeof PermanentError, typeof PROTOCOL_VERSION);\n`);
    expect((await execFile(process.execPath, ['app.cjs'], { cwd: project })).stdout.trim()).toBe('function function number');
  });

  it('type-checks a consumer under tsc --strict --exactOptionalPropertyTypes (the .d.ts files, not our sources)', async () => {
    inProject(
      'consumer.ts',
      `import { Worker, Client, PermanentError, customStatus, type TaskContext } from 'gaffer';\n` +
        `const worker = new Worker({ foreman: 'ws://127.0.0.1:9000', concurrency: 2 });\n` +
        `worker.task('resize', async (p: { width: number }, ctx: TaskContext) => {\n  ctx.progress(0.5);\n  if (p.width < 0) throw new PermanentError('bad width');\n  return customStatus('needs_review', { width: p.width / 2 });\n});\n` +
        `const client = new Client({ foreman: 'http://127.0.0.1:9000' });\n` +
        `export const pending: Promise<unknown> = client.run('resize', { width: 10 });\n`,
    );
    inProject(
      'tsconfig.json',
      JSON.stringify({
        compilerOptions: { strict: true, exactOptionalPropertyTypes: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', noEmit: true, types: ['node'], typeRoots: [join(NODE_MODULES, '@types')] },
        files: ['consumer.ts'],
      }),
    );
    const tsc = resolve(NODE_MODULES, '.bin', 'tsc');
    const run = await execFile(tsc, ['-p', 'tsconfig.json'], { cwd: project }).then(
      () => ({ code: 0, out: '' }),
      (err: { code: number; stdout: string }) => ({ code: err.code, out: err.stdout }),
    );
    expect(run.out).toBe('');
    expect(run.code).toBe(0);
    // Nothing of Gaffer's TypeScript sources was reachable for tsc to check.
    expect(readdirSync(join(project, 'node_modules', 'gaffer')).filter((f) => f.endsWith('.ts'))).toEqual([]);
  });
});
