/** Retry backoff (foreman) and reconnect backoff (worker): exponential growth, caps, and jitter bounds, checked with a fake random. */
import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../foreman/backoff.js';
import { reconnectDelayMs } from '../../worker/backoff.js';

const LOW = () => 0;
const HIGH = () => 0.999999999;
const MID = () => 0.5;

/** A deterministic pseudo-random sequence in [0, 1). */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('retryDelayMs (foreman retry backoff, equal jitter)', () => {
  it('doubles the window per failure: random in [d/2, d] with d = base × 2^(failures-1)', () => {
    const base = 1000;
    const max = 1_000_000;
    for (let failures = 1; failures <= 8; failures++) {
      const d = base * 2 ** (failures - 1);
      expect(retryDelayMs(failures, base, max, LOW), `failures ${failures}, low`).toBe(d / 2);
      expect(retryDelayMs(failures, base, max, HIGH), `failures ${failures}, high`).toBe(d);
      expect(retryDelayMs(failures, base, max, MID), `failures ${failures}, mid`).toBe((3 * d) / 4);
    }
  });

  it('never exceeds maxMs, and stays in [max/2, max] once capped', () => {
    for (const failures of [7, 10, 50, 1000]) {
      expect(retryDelayMs(failures, 1000, 60_000, HIGH)).toBe(60_000);
      expect(retryDelayMs(failures, 1000, 60_000, LOW)).toBe(30_000);
    }
  });

  it('stays within bounds for any random value', () => {
    const random = seeded(42);
    for (let i = 0; i < 2000; i++) {
      const failures = 1 + (i % 12);
      const d = Math.min(60_000, 1000 * 2 ** (failures - 1));
      const delay = retryDelayMs(failures, 1000, 60_000, random);
      expect(Number.isInteger(delay)).toBe(true);
      expect(delay).toBeGreaterThanOrEqual(d / 2);
      expect(delay).toBeLessThanOrEqual(d);
    }
  });

  it('spreads a burst of retries out (jitter), rather than retrying them all at once', () => {
    const random = seeded(7);
    const delays = new Set(Array.from({ length: 100 }, () => retryDelayMs(3, 1000, 60_000, random)));
    expect(delays.size).toBeGreaterThan(50);
  });

  it('treats failures below 1 as the first failure, and a zero base as no delay', () => {
    expect(retryDelayMs(0, 1000, 60_000, HIGH)).toBe(1000);
    expect(retryDelayMs(1, 0, 0, HIGH)).toBe(0);
    expect(retryDelayMs(1000, 0, 60_000, HIGH)).toBe(0);
  });

  it('uses Math.random by default and stays in bounds', () => {
    for (let i = 0; i < 100; i++) {
      const delay = retryDelayMs(2, 1000, 60_000);
      expect(delay).toBeGreaterThanOrEqual(1000);
      expect(delay).toBeLessThanOrEqual(2000);
    }
  });
});

describe('reconnectDelayMs (worker reconnect backoff, jittered)', () => {
  const min = 200;
  const max = 10_000;

  it('grows the upper bound as min × 2^tries, capped at maxMs', () => {
    for (let tries = 0; tries <= 5; tries++) {
      expect(reconnectDelayMs(tries, min, max, HIGH), `tries ${tries}`).toBe(Math.min(max, min * 2 ** tries));
    }
    for (const tries of [6, 10, 31, 1000]) expect(reconnectDelayMs(tries, min, max, HIGH)).toBe(max);
  });

  it('never redials with no delay at all, even at the lowest random value', () => {
    for (const tries of [0, 1, 5, 100]) {
      const delay = reconnectDelayMs(tries, min, max, LOW);
      expect(delay).toBeGreaterThan(0);
      expect(delay).toBeLessThanOrEqual(min);
    }
  });

  it('stays within [0, min(max, min × 2^tries)] for any random value and any number of tries', () => {
    const random = seeded(1);
    for (let i = 0; i < 3000; i++) {
      const tries = i % 40;
      const cap = Math.min(max, min * 2 ** tries);
      const delay = reconnectDelayMs(tries, min, max, random);
      expect(Number.isFinite(delay)).toBe(true);
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThanOrEqual(cap);
    }
  });

  it('spreads a fleet that lost its foreman over the whole window (no thundering herd)', () => {
    const random = seeded(99);
    const delays = Array.from({ length: 1000 }, () => reconnectDelayMs(10, min, max, random));
    const buckets = new Array(10).fill(0);
    for (const d of delays) buckets[Math.min(9, Math.floor(d / (max / 10)))]++;
    // Every tenth of the window but the first (below min/2) gets a fair share.
    for (let b = 1; b < 10; b++) expect(buckets[b], `bucket ${b}`).toBeGreaterThan(50);
  });
});
