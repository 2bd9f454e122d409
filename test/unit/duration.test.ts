import { describe, expect, it } from 'vitest';
import { formatDuration } from '../../cli/duration.js';

describe('formatDuration (the ETA of gaffer submit)', () => {
  it('never shows 60 seconds or 60 minutes', () => {
    expect(formatDuration(119.6)).toBe('2m00s');
    expect(formatDuration(59.7)).toBe('1m00s');
    expect(formatDuration(3599.8)).toBe('1h00m');
    expect(formatDuration(65)).toBe('1m05s');
    expect(formatDuration(7380)).toBe('2h03m');
    expect(formatDuration(4)).toBe('4s');
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe('?');
  });
});
