/**
 * browser: a browser worker (the /join page in headless Chromium) against a Node
 * worker, each with the same 2 sandbox slots, on the same tasks, one after the other:
 * - trivial `js` tasks (`(x) => x`, source shared on the job): per-task cost end to end;
 * - a CPU-bound `wasm` export (a 5,000,000-step integer loop): throughput.
 * Both run through the same sandbox code (QuickJS and no-import WebAssembly), the page's in Web Workers.
 */
import { chromium } from 'playwright-core';
import type { BenchClient } from '../http.js';
import { waitJobsComplete } from '../bulk.js';
import { exited, killAll, removeDir, startForeman, startWorkers, waitForWorkers } from '../harness.js';
import type { Scenario } from '../scenario.js';

/** loop(n): the sum of 0..n-1 as i32, a hand-assembled module with no imports. */
const LOOP_WASM = 'AGFzbQEAAAABBgFgAX8BfwMCAQAHCAEEbG9vcAAACiUBIwECfwJAA0AgASAATg0BIAIgAWohAiABQQFqIQEMAAsLIAIL';
const LOOP_STEPS = 5_000_000;
const SLOTS = 2;

/** Runs `n` tasks as one job and returns tasks/s from the post to the job's completion. */
async function rate(client: BenchClient, n: number, job: object): Promise<number> {
  const started = performance.now();
  const { jobId } = await client.request<{ jobId: string }>('POST', '/jobs', JSON.stringify(job));
  const done = await waitJobsComplete(client, [jobId], 600_000);
  return n / ((done - started) / 1000);
}

const trivialJob = (n: number) => ({ params: { source: '(x) => x' }, tasks: Array.from({ length: n }, (_, i) => ({ type: 'js', params: { args: [i] } })) });
const loopJob = (n: number) => ({ tasks: Array.from({ length: n }, () => ({ type: 'wasm', params: { module: LOOP_WASM, export: 'loop', args: [LOOP_STEPS] } })) });

async function measure(client: BenchClient, trivial: number, loops: number): Promise<{ trivialMs: number; loopPerSec: number }> {
  await rate(client, 50, trivialJob(50)); // warm: sandboxes loaded, source compiled
  const trivialPerSec = await rate(client, trivial, trivialJob(trivial));
  const loopPerSec = await rate(client, loops, loopJob(loops));
  return { trivialMs: 1000 / trivialPerSec, loopPerSec };
}

export const browser: Scenario = {
  name: 'browser',
  description: `a /join page in Chromium vs a Node worker, ${SLOTS} sandbox slots each: trivial js per-task cost, CPU-bound wasm throughput`,
  metrics: [
    { key: 'nodeTrivialMs', label: 'Node worker: trivial js, per task', unit: 'ms' },
    { key: 'browserTrivialMs', label: 'browser worker: trivial js, per task', unit: 'ms' },
    { key: 'nodeLoopPerSec', label: `Node worker: wasm loop (${LOOP_STEPS} steps)`, unit: 'tasks/s' },
    { key: 'browserLoopPerSec', label: `browser worker: wasm loop (${LOOP_STEPS} steps)`, unit: 'tasks/s' },
  ],
  defaultRuns: { quick: 1, full: 3 },
  async run(ctx) {
    const trivial = ctx.quick ? 500 : 2000;
    const loops = ctx.quick ? 40 : 120;
    const foreman = await startForeman({ args: ['--trust-browser-workers'], profileDir: ctx.profileDir });
    const b = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
    try {
      const nodeWorkers = await startWorkers(foreman, { count: 1, concurrency: SLOTS, args: ['--allow-code', '--code-threads', String(SLOTS)], profileDir: ctx.profileDir });
      const node = await measure(foreman.client, trivial, loops);
      for (const w of nodeWorkers) w.kill('SIGTERM');
      await Promise.all(nodeWorkers.map(exited));
      const page = await (await b.newContext()).newPage();
      await page.addInitScript((slots) => localStorage.setItem('gaffer.slots', String(slots)), SLOTS);
      await page.goto(`${foreman.url}/join`);
      await waitForWorkers(foreman, 1);
      const web = await measure(foreman.client, trivial, loops);
      ctx.log(`trivial js: node ${node.trivialMs.toFixed(2)} ms, browser ${web.trivialMs.toFixed(2)} ms; wasm loop: node ${node.loopPerSec.toFixed(1)}/s, browser ${web.loopPerSec.toFixed(1)}/s`);
      return {
        metrics: { nodeTrivialMs: node.trivialMs, browserTrivialMs: web.trivialMs, nodeLoopPerSec: node.loopPerSec, browserLoopPerSec: web.loopPerSec },
        sizes: { trivialTasks: trivial, loopTasks: loops, loopSteps: LOOP_STEPS, slots: SLOTS },
      };
    } finally {
      await b.close();
      await killAll();
      removeDir(foreman.dir);
    }
  },
};
