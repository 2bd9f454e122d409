/** The worker's own counters: the CPU figure must not depend on how often someone asks for it. */
import { describe, expect, it } from 'vitest';
import { WorkerStats } from '../../worker/worker-stats.js';

describe('WorkerStats', () => {
  it('reports CPU over a window of its own, not since whoever asked last', async () => {
    const stats = new WorkerStats();
    const until = performance.now() + 300;
    while (performance.now() < until);
    const busy = stats.snapshot().process.cpuPercent;
    // Idle time is the condition under test here, so this test waits on a timer.
    await new Promise((resolve) => setTimeout(resolve, 150));
    const later = stats.snapshot().process.cpuPercent;
    expect(busy).toBeGreaterThan(10);
    // Over its own window (still including the busy 300 ms) about two thirds of busy; a window
    // restarted by the first read would hold only the idle 150 ms and read near zero.
    expect(later).toBeGreaterThan(busy / 3);
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
