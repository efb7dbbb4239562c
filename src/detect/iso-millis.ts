/**
 * Event times as detection reads them: the milliseconds of an ISO 8601
 * timestamp, computed directly for the form Warden writes.
 */

/** The digit at position `i` of `s` (0-9), or a value > 9 when it is not a digit. */
const digit = (s: string, i: number): number => (s.charCodeAt(i) - 48) >>> 0;

/**
 * Milliseconds of an ISO 8601 time, exactly as `Date.parse` gives them. The
 * form Warden writes (`2026-03-02T09:00:00.000Z`) is read directly, several
 * times faster; any other form goes to `Date.parse`.
 */
export function isoMillis(s: string): number {
  if (
    s.length === 24 &&
    s.charCodeAt(23) === 90 /* Z */ &&
    s.charCodeAt(10) === 84 /* T */ &&
    s.charCodeAt(19) === 46 /* . */ &&
    s.charCodeAt(4) === 45 &&
    s.charCodeAt(7) === 45 &&
    s.charCodeAt(13) === 58 &&
    s.charCodeAt(16) === 58
  ) {
    const y0 = digit(s, 0),
      y1 = digit(s, 1),
      y2 = digit(s, 2),
      y3 = digit(s, 3);
    const mo0 = digit(s, 5),
      mo1 = digit(s, 6),
      d0 = digit(s, 8),
      d1 = digit(s, 9);
    const h0 = digit(s, 11),
      h1 = digit(s, 12),
      mi0 = digit(s, 14),
      mi1 = digit(s, 15),
      s0 = digit(s, 17),
      s1 = digit(s, 18);
    const f0 = digit(s, 20),
      f1 = digit(s, 21),
      f2 = digit(s, 22);
    if (
      y0 < 10 &&
      y1 < 10 &&
      y2 < 10 &&
      y3 < 10 &&
      mo0 < 10 &&
      mo1 < 10 &&
      d0 < 10 &&
      d1 < 10 &&
      h0 < 10 &&
      h1 < 10 &&
      mi0 < 10 &&
      mi1 < 10 &&
      s0 < 10 &&
      s1 < 10 &&
      f0 < 10 &&
      f1 < 10 &&
      f2 < 10
    ) {
      const year = y0 * 1000 + y1 * 100 + y2 * 10 + y3;
      const month = mo0 * 10 + mo1;
      const day = d0 * 10 + d1;
      const hour = h0 * 10 + h1;
      const minute = mi0 * 10 + mi1;
      const second = s0 * 10 + s1;
      // Date.UTC would roll 2026-02-30 over into March, as Date.parse does too: only in-range fields are read here.
      const monthDays =
        month === 2
          ? year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
            ? 29
            : 28
          : month === 4 || month === 6 || month === 9 || month === 11
            ? 30
            : 31;
      if (month >= 1 && month <= 12 && day >= 1 && day <= monthDays && hour <= 23 && minute <= 59 && second <= 59 && year >= 1000)
        return daysFromCivil(year, month, day) * 86_400_000 + hour * 3_600_000 + minute * 60_000 + second * 1000 + f0 * 100 + f1 * 10 + f2;
    }
  }
  return Date.parse(s);
}

/** Days since 1970-01-01 of a proleptic Gregorian date (year ≥ 0), as Date.UTC counts them (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}
