import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from './duration.js';

describe('durations', () => {
  it('parses single and compound units', () => {
    expect([parseDuration('90s'), parseDuration('30m'), parseDuration('1h'), parseDuration('1h30m'), parseDuration('7d')]).toEqual([
      90, 1800, 3600, 5400, 604800,
    ]);
  });
  it('refuses anything else', () => {
    for (const bad of ['', '1', 'h', '1w', '1.5h', '-1h', '1h ', 'PT1H']) expect(() => parseDuration(bad)).toThrow(/not a duration/);
  });
  it('formats back to the shortest exact form', () => {
    expect([formatDuration(5400), formatDuration(86400 + 61), formatDuration(0)]).toEqual(['1h30m', '1d1m1s', '0s']);
  });
});
