/**
 * sessions: 10,000 idle worker sessions (8 session-swarm processes) sending
 * heartbeats at the foreman's interval, held for a minute (a few seconds with
 * --quick). Reports the foreman's RSS growth per session and its CPU while idle.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { killAll, procStats, removeDir, startForeman, stop } from '../harness.js';
import type { Scenario } from '../scenario.js';
import { startSwarm } from '../swarm.js';

const PROCS = 8;

export const sessions: Scenario = {
  name: 'sessions',
  description: '10,000 idle sessions with heartbeats (default 5 s interval) held; foreman RSS and CPU per session',
  metrics: [
    { key: 'registerMs', label: 'all sessions registered', unit: 'ms' },
    { key: 'rssKbPerSession', label: 'foreman RSS per session', unit: 'KB', target: '≤ 20' },
    { key: 'foremanRssMb', label: 'foreman RSS with sessions', unit: 'MB' },
    { key: 'cpuPercent', label: 'foreman CPU while idle', unit: '% of a core' },
    { key: 'cpuUsPerSessionSec', label: 'foreman CPU per session', unit: 'µs/s' },
  ],
  defaultRuns: { quick: 1, full: 3 },
  async run(ctx) {
    const n = 10_000;
    const holdMs = ctx.quick ? 5_000 : 60_000;
    const foreman = await startForeman({ profileDir: ctx.profileDir });
    try {
      // Let start-up garbage settle before taking the baseline.
      await delay(1000);
      const baseline = procStats(foreman.proc.pid as number);
      const swarm = await startSwarm(foreman, { procs: PROCS, sessions: n, echo: false, timeoutMs: 180_000 });
      // Let the registration burst settle before the hold is measured.
      await delay(ctx.quick ? 1000 : 2000);
      const start = procStats(foreman.proc.pid as number);
      const t0 = performance.now();
      let peakRss = start.rssBytes;
      while (performance.now() - t0 < holdMs) {
        await delay(Math.min(1000, holdMs));
        peakRss = Math.max(peakRss, procStats(foreman.proc.pid as number).rssBytes);
      }
      const end = procStats(foreman.proc.pid as number);
      const seconds = (performance.now() - t0) / 1000;
      const { workers } = await foreman.client.request<{ workers: Array<{ state: string }> }>('GET', '/workers');
      const active = workers.filter((w) => w.state === 'active').length;
      if (active < n) ctx.log(`only ${active} of ${n} sessions active at the end; errors: ${swarm.errors.slice(0, 3).join('; ')}`);
      const cpuMs = end.cpuMs - start.cpuMs;
      ctx.log(`${n} sessions in ${swarm.readyMs.toFixed(0)} ms; RSS +${((end.rssBytes - baseline.rssBytes) / 2 ** 20).toFixed(1)} MB; CPU ${(cpuMs / 10 / seconds).toFixed(1)}%`);
      await swarm.stop();
      if (ctx.profileDir) await stop(foreman.proc);
      return {
        metrics: {
          registerMs: swarm.readyMs,
          rssKbPerSession: (Math.max(end.rssBytes, peakRss) - baseline.rssBytes) / 1024 / n,
          foremanRssMb: Math.max(end.rssBytes, peakRss) / 2 ** 20,
          cpuPercent: cpuMs / 10 / seconds,
          cpuUsPerSessionSec: (cpuMs * 1000) / n / seconds,
        },
        sizes: { sessions: n, processes: PROCS, holdMs, activeAtEnd: active },
      };
    } finally {
      await killAll();
      removeDir(foreman.dir);
    }
  },
};
