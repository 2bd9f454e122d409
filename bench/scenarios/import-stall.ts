/**
 * import-stall: one large NDJSON job (200,000 lines; 20,000 with --quick)
 * posted while a probe, a process of its own, sends GET /health every millisecond.
 * What a big submission does to everyone else: the longest /health round
 * trip during the import, and the foreman's longest event-loop stall
 * (prom-client's `nodejs_eventloop_lag_max_seconds`, from perf_hooks
 * monitorEventLoopDelay, reset by the scrape just before the import).
 * That histogram holds the intervals between ticks of a 10 ms timer (an idle
 * foreman reads 10.2 ms), so a stall is the longest interval less 10 ms. The
 * import starts once the foreman has settled after its start (its own GC of
 * the start-up heap is not the import's).
 */
import { fileURLToPath } from 'node:url';
import { killAll, removeDir, spawnNode, startForeman } from '../harness.js';
import type { Scenario } from '../scenario.js';
import { distribution } from '../stats.js';

/** The /health prober, a process of its own (health-probe.ts says why). */
const PROBE = fileURLToPath(new URL('../health-probe.ts', import.meta.url));

/** prom-client's monitorEventLoopDelay resolution: its histogram holds intervals between ticks this far apart. */
const LOOP_TICK_MS = 10;

/** The largest event-loop stall since the last scrape, in ms: the longest interval between timer ticks, less the tick. */
async function loopStallMaxMs(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(text);
  if (!m) throw new Error('no nodejs_eventloop_lag_max_seconds in /metrics');
  return Math.max(0, Number(m[1]) * 1000 - LOOP_TICK_MS);
}

/** Waits (up to 10 s) for a half-second in which the foreman's loop never stalled over 2 ms: its start-up is over. */
async function settled(url: string): Promise<void> {
  await loopStallMaxMs(url);
  for (let i = 0; i < 20; i++) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    if ((await loopStallMaxMs(url)) <= 2) return;
  }
}

export const importStall: Scenario = {
  name: 'import-stall',
  description: 'a 200,000-line NDJSON job while GET /health is probed every millisecond: longest round trip and event-loop stall',
  metrics: [
    { key: 'loopStallMaxMs', label: 'longest event-loop stall during the import (longest 10 ms timer interval, less 10 ms)', unit: 'ms', target: '≤ a few ms (BENCHMARKS.md, Big imports)' },
    { key: 'healthMaxMs', label: 'longest GET /health during the import', unit: 'ms' },
    { key: 'healthP99Ms', label: 'GET /health p99 during the import', unit: 'ms' },
    { key: 'importMs', label: 'POST /jobs (NDJSON) until 202', unit: 'ms' },
    { key: 'linesPerSec', label: 'import rate', unit: 'lines/s' },
  ],
  defaultRuns: { quick: 1, full: 3 },
  async run(ctx) {
    const lines = ctx.quick ? 20_000 : 200_000;
    const body = Array.from({ length: lines }, (_, i) => `{"type":"noop","params":{"i":${i}}}`).join('\n');
    const foreman = await startForeman({ profileDir: ctx.profileDir });
    try {
      const probe = spawnNode([PROBE, foreman.url], { nodeArgs: ['--import', 'tsx'], ipc: true });
      const reply = (type: string) => new Promise<{ rounds?: number[] }>((resolve, reject) => {
        probe.on('message', (m: { type: string; rounds?: number[] }) => m.type === type && resolve(m));
        probe.once('exit', (code) => reject(new Error(`the /health probe exited (${code}) before '${type}'`)));
      });
      await reply('ready');
      await settled(foreman.url);
      const t0 = performance.now();
      const res = await fetch(`${foreman.url}/jobs`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
      const importMs = performance.now() - t0;
      const stopped = reply('rounds');
      probe.send({ type: 'stop' });
      const { rounds = [] } = await stopped;
      if (res.status !== 202) throw new Error(`POST /jobs: HTTP ${res.status} ${await res.text()}`);
      const stall = await loopStallMaxMs(foreman.url);
      const health = distribution(rounds);
      ctx.log(`${lines} lines in ${importMs.toFixed(0)} ms; longest stall ${stall.toFixed(1)} ms; longest /health ${health.max.toFixed(1)} ms over ${health.n}`);
      return {
        metrics: { loopStallMaxMs: stall, healthMaxMs: health.max, healthP99Ms: health.p99, importMs, linesPerSec: lines / (importMs / 1000) },
        sizes: { lines, bodyBytes: Buffer.byteLength(body) },
      };
    } finally {
      await killAll();
      removeDir(foreman.dir);
    }
  },
};
