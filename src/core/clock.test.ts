import { describe, expect, it } from 'vitest';
import { isWardenError } from './errors.js';
import { clockFromStart, clockStartingAt, fixedClock, systemClock } from './clock.js';

describe('clock', () => {
  it('a fixed clock always answers its instant, as a fresh Date', () => {
    const clock = fixedClock(new Date('2026-11-25T09:00:00Z'));
    const a = clock();
    a.setUTCFullYear(1999);
    expect(clock().toISOString()).toBe('2026-11-25T09:00:00.000Z');
  });

  it('a clock starting at an instant advances from it, never backwards', async () => {
    const clock = clockStartingAt(new Date('2031-01-02T03:04:05Z'));
    const first = clock().getTime();
    expect(first).toBeGreaterThanOrEqual(Date.parse('2031-01-02T03:04:05Z'));
    await new Promise((r) => setImmediate(r));
    expect(clock().getTime()).toBeGreaterThanOrEqual(first);
    expect(first - Date.parse('2031-01-02T03:04:05Z')).toBeLessThan(60_000);
  });

  it('WARDEN_CLOCK_START unset or empty means the system clock', () => {
    expect(clockFromStart(undefined)).toBe(systemClock);
    expect(clockFromStart('  ')).toBe(systemClock);
  });

  it('WARDEN_CLOCK_START with an offset starts at that instant', () => {
    expect(clockFromStart('2031-01-02T05:04:05+02:00')().toISOString().slice(0, 16)).toBe('2031-01-02T03:04');
  });

  it.each(['yesterday', '2031-01-02', '2031-01-02T03:04:05', '2031-13-02T03:04:05Z', '1735689600000'])(
    'WARDEN_CLOCK_START=%s is refused with ERR_CONFIG_INVALID',
    (value) => {
      let caught: unknown;
      try {
        clockFromStart(value);
      } catch (err) {
        caught = err;
      }
      expect(isWardenError(caught, 'ERR_CONFIG_INVALID')).toBe(true);
    },
  );
});
