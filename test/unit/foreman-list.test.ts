import { describe, expect, it } from 'vitest';
import { ForemanPicker, parseForemanList, weightedPick } from '../../worker/foreman-list.js';

describe('foreman list', () => {
  it('parses URLs with optional weights and normalises each to its worker endpoint', () => {
    expect(parseForemanList('ws://a:9000, http://b:9000*3 ,wss://c/ws/worker')).toEqual([
      { url: 'ws://a:9000/ws/worker', weight: 1 },
      { url: 'ws://b:9000/ws/worker', weight: 3 },
      { url: 'wss://c/ws/worker', weight: 1 },
    ]);
    expect(() => parseForemanList('ws://a:9000,ftp://b')).toThrow(/got ftp:\/\/b/);
    expect(() => parseForemanList('ws://a:9000*0')).toThrow(/weight/);
    expect(() => parseForemanList(' , ')).toThrow(/at least one/);
  });

  it('fails over in list order, and round-robin starts in proportion to the weights', () => {
    const list = parseForemanList('ws://a:1,ws://b:2*2,ws://c:3');
    const failover = new ForemanPicker(list, 'failover');
    const seen = [failover.current];
    for (let i = 0; i < 3; i++) {
      failover.advance();
      seen.push(failover.current);
    }
    expect(seen.map((u) => new URL(u).port)).toEqual(['1', '2', '3', '1']);
    // Weights 1, 2, 1 over [0, 1): a quarter starts at a, half at b, a quarter at c.
    expect([0, 0.24, 0.25, 0.74, 0.75, 0.99].map((r) => weightedPick(list, r))).toEqual([0, 0, 1, 1, 2, 2]);
    expect(new URL(new ForemanPicker(list, 'round-robin', () => 0.5).current).port).toBe('2');
  });
});
