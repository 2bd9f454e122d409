import { describe, expect, it } from 'vitest';
import { burstOf, msUntilToken, refill } from '../../foreman/type-limits/token-bucket.js';

describe('token bucket (both stores)', () => {
  it('starts full with one second of starts, at least one', () => {
    expect(refill(null, 0, 4, 1000)).toBe(4);
    expect(refill(null, 0, 0.5, 1000)).toBe(1);
    expect(burstOf(0.2)).toBe(1);
  });

  it('refills continuously up to the burst, never from a clock read behind the bucket', () => {
    expect(refill(0, 1000, 4, 1250)).toBe(1);
    expect(refill(-0.5, 1000, 4, 1500)).toBe(1.5);
    expect(refill(3.5, 1000, 4, 9000)).toBe(4);
    expect(refill(0.25, 1000, 4, 900)).toBe(0.25);
  });

  it('says how long until the next whole token', () => {
    expect(msUntilToken(1.2, 4)).toBe(0);
    expect(msUntilToken(0, 4)).toBe(250);
    expect(msUntilToken(0.5, 2)).toBe(250);
    expect(msUntilToken(-1, 0.5)).toBe(4000);
  });
});
