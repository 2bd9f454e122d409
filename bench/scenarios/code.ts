/**
 * code: what running code in the sandbox costs. Real foreman and one worker
 * process (`--allow-code`, 2 sandbox threads, 64 slots):
 * - the same number of trivial tasks as built-in `echo` and as `js` (`(x) => x`,
 *   the source shared on the job): the difference is the sandbox's per-task cost;
 * - a CPU-bound `js` function (≈ 1 ms in V8) end to end;
 * then, in this process, the two candidate sandboxes side by side (QuickJS/WebAssembly
 * and isolated-vm) on a trivial call and on the same CPU-bound function.
 */
import type { BenchClient } from '../http.js';
import { killAll, removeDir, startForeman, startWorkers } from '../harness.js';
import { waitJobsComplete } from '../bulk.js';
import { LOOP_N, LOOP_SOURCE, measureIsolatedVm, measureNode, measureQuickJs } from '../sandbox-candidates.js';
import type { Scenario } from '../scenario.js';

/** Posts `total` tasks as jobs of 1,000 and returns tasks/s from the first post to the last job complete. */
async function run(client: BenchClient, total: number, job: (n: number, from: number) => object): Promise<number> {
  const started = performance.now();
  const jobIds: string[] = [];
  for (let from = 0; from < total; from += 1000) {
    const res = await client.request<{ jobId: string }>('POST', '/jobs', JSON.stringify(job(Math.min(1000, total - from), from)));
    jobIds.push(res.jobId);
  }
  const done = await waitJobsComplete(client, jobIds, 600_000);
  return total / ((done - started) / 1000);
}

export const code: Scenario = {
  name: 'code',
  description: 'js tasks in the sandbox vs built-in echo; a CPU-bound js function; QuickJS vs isolated-vm in process',
  metrics: [
    { key: 'echoPerSec', label: 'built-in echo, end to end', unit: 'tasks/s' },
    { key: 'jsPerSec', label: 'trivial js (shared source), end to end', unit: 'tasks/s' },
    { key: 'jsOverheadUs', label: 'sandbox cost per trivial task', unit: 'µs' },
    { key: 'loopPerSec', label: `CPU-bound js (${LOOP_N} steps), end to end`, unit: 'tasks/s' },
    { key: 'quickjsTrivialUs', label: 'QuickJS: trivial call', unit: 'µs' },
    { key: 'ivmTrivialUs', label: 'isolated-vm: trivial call', unit: 'µs' },
    { key: 'quickjsLoopMs', label: 'QuickJS: CPU-bound call', unit: 'ms' },
    { key: 'ivmLoopMs', label: 'isolated-vm: CPU-bound call', unit: 'ms' },
    { key: 'nodeLoopMs', label: 'main isolate: CPU-bound call', unit: 'ms' },
  ],
  defaultRuns: { quick: 1, full: 3 },
  async run(ctx) {
    const trivial = ctx.quick ? 3000 : 10_000;
    const loops = ctx.quick ? 200 : 600;
    const foreman = await startForeman({ profileDir: ctx.profileDir });
    try {
      await startWorkers(foreman, { count: 1, concurrency: 64, args: ['--allow-code', '--code-threads', '2'], profileDir: ctx.profileDir });
      // Warm the sandbox threads (QuickJS loaded, source compiled) before timing.
      await run(foreman.client, 200, (n) => ({ params: { source: '(x) => x' }, tasks: Array.from({ length: n }, (_, i) => ({ type: 'js', params: { args: [i] } })) }));
      const echoPerSec = await run(foreman.client, trivial, (n, from) => Array.from({ length: n }, (_, i) => ({ type: 'echo', params: { args: [from + i] } })));
      const jsPerSec = await run(foreman.client, trivial, (n, from) => ({ params: { source: '(x) => x' }, tasks: Array.from({ length: n }, (_, i) => ({ type: 'js', params: { args: [from + i] } })) }));
      const loopPerSec = await run(foreman.client, loops, (n) => ({ params: { source: LOOP_SOURCE }, tasks: Array.from({ length: n }, () => ({ type: 'js', params: { args: [LOOP_N] } })) }));
      await killAll();
      const calls = ctx.quick ? 2000 : 5000;
      const q = await measureQuickJs(calls, ctx.quick ? 20 : 50);
      const v = await measureIsolatedVm(calls, ctx.quick ? 20 : 50);
      const n = await measureNode(calls, ctx.quick ? 20 : 50);
      const jsOverheadUs = 1e6 / jsPerSec - 1e6 / echoPerSec;
      ctx.log(`echo ${echoPerSec.toFixed(0)}/s, js ${jsPerSec.toFixed(0)}/s (+${jsOverheadUs.toFixed(0)} µs), loop ${loopPerSec.toFixed(1)}/s; QuickJS ${q.loopMs.toFixed(2)} ms, isolated-vm ${v?.loopMs.toFixed(2) ?? 'n/a'} ms`);
      return {
        metrics: {
          echoPerSec, jsPerSec, jsOverheadUs, loopPerSec,
          quickjsTrivialUs: q.trivialUs, ivmTrivialUs: v?.trivialUs ?? Number.NaN,
          quickjsLoopMs: q.loopMs, ivmLoopMs: v?.loopMs ?? Number.NaN, nodeLoopMs: n.loopMs,
        },
        sizes: { trivialTasks: trivial, loopTasks: loops, loopSteps: LOOP_N, sandboxThreads: 2, slots: 64 },
      };
    } finally {
      await killAll();
      removeDir(foreman.dir);
    }
  },
};
