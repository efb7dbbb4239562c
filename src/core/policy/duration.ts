import { WardenError } from '../errors.js';
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Matches "90s", "30m", "1h", "1h30m", "7d". */
export const DURATION_PATTERN = /^(?:\d+[smhd])+$/;

/**
 * Seconds in a duration such as `1h30m`.
 *
 * @example parseDuration('1h30m') // 5400
 */
export function parseDuration(text: string): number {
  if (!DURATION_PATTERN.test(text)) throw new WardenError('ERR_VALIDATION', `not a duration: ${JSON.stringify(text)} (use e.g. 90s, 30m, 1h, 7d)`);
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+)([smhd])/g)) total += Number(amount) * UNIT_SECONDS[unit!]!;
  return total;
}

/** The shortest exact rendering of a number of seconds, e.g. 5400 → "1h30m". */
export function formatDuration(seconds: number): string {
  let rest = seconds;
  let out = '';
  for (const unit of ['d', 'h', 'm', 's']) {
    const size = UNIT_SECONDS[unit]!;
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out || '0s';
}
