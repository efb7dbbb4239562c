import { describe, expect, it } from 'vitest';
import { FixedWindowLimiter } from './fixed-window-limiter.js';

describe('FixedWindowLimiter', () => {
  it('allows `limit` hits per key in a window, refuses more, and starts over in the next window', () => {
    let now = new Date('2026-05-01T10:00:00Z');
    const limiter = new FixedWindowLimiter(2, 60_000, () => now);
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([true, true, false]);
    expect(limiter.take('b')).toBe(true);
    now = new Date(now.getTime() + 59_999);
    expect(limiter.take('a')).toBe(false);
    now = new Date(now.getTime() + 1);
    expect(limiter.take('a')).toBe(true);
  });
});
