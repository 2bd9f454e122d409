/**
 * The client library outside this repository's TypeScript toolchain: bundled
 * by esbuild as CommonJS and as an ES module and loaded by plain Node (no
 * tsx), and as a browser bundle run in real Chromium (fetch only), each
 * against a real foreman and worker.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { openPage } from '../helpers/browser.js';
import { spawnWorker, startForeman } from '../helpers/processes.js';

const ENTRY = new URL('../../client/index.ts', import.meta.url).pathname;
const RESULTS = new URL('../../test-results/', import.meta.url).pathname;

/** Runs plain `node` (no loader) on `args`; resolves with its stdout, rejects with its stderr. */
function node(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { timeout: 30_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
  });
}

describe('client library runtimes', () => {
  it('works from CommonJS and ESM in plain Node, and from a browser bundle in Chromium', async () => {
    // Inside the repository, so that plain Node finds `ws` (for the push channel) in node_modules as an installed package would.
    mkdirSync(RESULTS, { recursive: true });
    const dir = mkdtempSync(join(RESULTS, 'client-bundle-'));
    const cjs = join(dir, 'client.cjs');
    const esm = join(dir, 'client.mjs');
    const iife = join(dir, 'client.browser.js');
    await build({ entryPoints: [ENTRY], bundle: true, platform: 'node', format: 'cjs', outfile: cjs, logLevel: 'silent' });
    await build({ entryPoints: [ENTRY], bundle: true, platform: 'node', format: 'esm', outfile: esm, logLevel: 'silent' });
    await build({ entryPoints: [ENTRY], bundle: true, platform: 'browser', format: 'iife', globalName: 'Gaffer', outfile: iife, logLevel: 'silent' });

    const foreman = await startForeman();
    await spawnWorker(foreman.wsUrl);

    const fromCjs = await node([
      '-e',
      `const { Client } = require(${JSON.stringify(cjs)});
       const client = new Client({ foreman: ${JSON.stringify(foreman.url)} });
       Promise.all([client.run('echo', { from: 'cjs' }), new Client({ foreman: ${JSON.stringify(foreman.url)}, transport: 'http' }).run('echo', 2)])
         .then((r) => console.log(JSON.stringify(r)));`,
    ]);
    // The push channel's socket does not keep the process alive once nothing is pending: node exits by itself.
    expect(JSON.parse(fromCjs)).toEqual([{ from: 'cjs' }, 2]);

    const fromEsm = await node([
      '--input-type=module',
      '-e',
      `import { Client, TaskFailedError } from ${JSON.stringify(pathToFileURL(esm).href)};
       const client = new Client({ foreman: ${JSON.stringify(foreman.url)} });
       const failed = await client.run('fail', { kind: 'permanent', message: 'esm' }).catch((e) => e);
       console.log(JSON.stringify({ echo: await client.run('echo', { from: 'esm' }), failed: failed instanceof TaskFailedError && failed.code }));`,
    ]);
    expect(JSON.parse(fromEsm)).toEqual({ echo: { from: 'esm' }, failed: 'PERMANENT' });

    // Same origin as the API (the foreman sends no CORS headers): the page is the foreman's /health.
    const page = await openPage(`${foreman.url}/health`);
    await page.addScriptTag({ content: readFileSync(iife, 'utf8') });
    const inBrowser = await page.evaluate(async () => {
      const { Client } = (globalThis as unknown as { Gaffer: typeof import('../../client/index.js') }).Gaffer;
      const client = new Client({ foreman: location.origin });
      const one = await client.run('echo', { from: 'browser' });
      const overHttp = await new Client({ foreman: location.origin, transport: 'http' }).run('echo', 'http');
      const mapped = await client.map('echo', [1, 2, 3]);
      // Browsers cannot stream a request body over HTTP/1.1: the job goes in chunks of an open job.
      const job = await client.submitJob((function* () {
        for (let n = 0; n < 5; n++) yield { type: 'echo', params: n };
      })());
      let settled = 0;
      for await (const line of job.results()) if (line.state === 'succeeded') settled++;
      await client.close();
      return { one, overHttp, mapped, count: job.count, settled, hasProcess: typeof (globalThis as { process?: unknown }).process !== 'undefined' };
    });
    expect(inBrowser).toEqual({ one: { from: 'browser' }, overHttp: 'http', mapped: [1, 2, 3], count: 5, settled: 5, hasProcess: false });
  });
});
