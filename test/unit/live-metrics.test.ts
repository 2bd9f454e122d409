import { describe, expect, it } from 'vitest';
import { LiveMetrics } from '../../foreman/live-metrics.js';

function clock(startMs: number) {
  let t = startMs;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('LiveMetrics', () => {
  it('counts settled tasks per second and closes seconds as the clock moves', () => {
    const c = clock(1_000_000);
    let online = 2;
    const m = new LiveMetrics({ windowS: 10, now: c.now, workersOnline: () => online });
    m.recordSettled({ state: 'succeeded', jobId: null, error: null });
    m.recordSettled({ state: 'succeeded', jobId: null, error: null });
    m.recordSettled({ state: 'failed', jobId: 'j1', error: { code: 'PERMANENT', message: 'x', retryable: false } });
    c.advance(1000);
    // Workers online is sampled when a second closes (the dashboard ticks every 500 ms).
    m.tick();
    online = 3;
    m.recordSettled({ state: 'cancelled', jobId: null, error: null });
    c.advance(1000);
    m.tick();
    const s = m.series();
    // The last two complete seconds, oldest first; seconds before the start are null, not zero.
    expect(s.completed.slice(-2)).toEqual([2, 0]);
    expect(s.failed.slice(-2)).toEqual([1, 0]);
    expect(s.cancelled.slice(-2)).toEqual([0, 1]);
    expect(s.workersOnline.slice(-2)).toEqual([2, 3]);
    expect(s.completed[0]).toBeNull();
    expect(m.failuresOf('j1')).toEqual({ PERMANENT: 1 });
  });

  it('reports dispatch latency percentiles per second, within one histogram bucket', () => {
    const c = clock(2_000_000);
    const m = new LiveMetrics({ windowS: 5, now: c.now, workersOnline: () => 1 });
    for (let i = 0; i < 99; i++) m.recordDispatch(2);
    m.recordDispatch(1000);
    c.advance(1000);
    const s = m.series();
    const p50 = s.latencyP50.at(-1) as number;
    const p99 = s.latencyP99.at(-1) as number;
    expect(p50).toBeGreaterThanOrEqual(2);
    expect(p50).toBeLessThan(2.5);
    expect(p99).toBeLessThan(2.5);
    // A second with no assignment has no latency rather than zero.
    c.advance(1000);
    expect(m.series().latencyP50.at(-1)).toBeNull();
  });

  it('forgets seconds older than its window', () => {
    const c = clock(3_000_000);
    const m = new LiveMetrics({ windowS: 3, now: c.now, workersOnline: () => 0 });
    m.recordSettled({ state: 'succeeded', jobId: null, error: null });
    c.advance(10_000);
    expect(m.series().completed.every((n) => n === 0)).toBe(true);
  });
});
