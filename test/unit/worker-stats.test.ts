/** The worker's own counters: the CPU figure must not depend on how often someone asks for it. */
import { describe, expect, it } from 'vitest';
import { CpuWindow, WorkerStats } from '../../worker/worker-stats.js';

describe('WorkerStats', () => {
  it('reports CPU over a window of its own, not since whoever asked last', () => {
    const cpu = new CpuWindow();
    const start = Date.now();
    while (Date.now() - start < 300);
    const busy = cpu.percent(Date.now());
    // Asked again as if 150 ms later with nothing done since: the window still holds the busy
    // 300 ms, so about two thirds of busy. A window restarted by the first read would hold
    // only the idle 150 ms and read near zero.
    const later = cpu.percent(Date.now() + 150);
    expect(busy).toBeGreaterThan(10);
    expect(later).toBeGreaterThan(busy / 3);
    expect(later).toBeLessThan(busy);
  });

  it('counts outcomes per type and completions over the last minute', () => {
    const stats = new WorkerStats();
    stats.record('resize', 'succeeded', 10);
    stats.record('resize', 'failed', 30);
    stats.record('crawl', 'cancelled', 5);
    const s = stats.snapshot();
    expect(s).toMatchObject({ completed: 1, failed: 1, cancelled: 1, totalExecutionMs: 45, meanExecutionMs: 15 });
    expect(s.perType.resize).toMatchObject({ succeeded: 1, failed: 1, meanMs: 20 });
    expect(s.throughputSeries.reduce((a, b) => a + b, 0)).toBe(3);
  });
});
