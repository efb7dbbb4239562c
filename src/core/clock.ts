import { WardenError } from './errors.js';

/**
 * Where Warden reads the current time. Everything a test drives (the server,
 * its workers, the CLI, the simulators) takes a `Clock` instead of reading the
 * system time, so no outcome depends on today's date: tests run the whole
 * stack on a simulated date, and a spawned `warden` process takes its clock
 * from {@link CLOCK_START_ENV}.
 *
 * This module is the only place in src/ and connectors/ that reads the system
 * time (test/architecture/one-clock.test.ts keeps it that way).
 *
 * @example
 * ```ts
 * const at = fixedClock(new Date('2026-11-25T09:00:00Z'));
 * await startServer({ config, clock: at });
 * ```
 */
export type Clock = () => Date;

/** The system (wall) clock: the default wherever no clock is given. */
export const systemClock: Clock = () => new Date();

/** A clock that always answers `at` (tests that step time themselves). */
export function fixedClock(at: Date): Clock {
  const ms = at.getTime();
  return () => new Date(ms);
}

/**
 * A clock that reads `start` now and then advances at the real rate, measured
 * on the monotonic clock (so a change of the system time does not move it).
 */
export function clockStartingAt(start: Date): Clock {
  const startMs = start.getTime();
  const origin = performance.now();
  return () => new Date(startMs + Math.round(performance.now() - origin));
}

/**
 * The environment variable that sets a `warden` process's clock, for tests
 * only: an ISO 8601 instant the process's clock starts at (it then ticks at
 * the real rate). Read once, where the executable starts (src/app/bin.ts).
 * Test suites that spawn `warden` (CLI tests, the fault suite) set it to their
 * simulated date. Never set it in production: decisions, expiries, tokens and
 * the audit log would carry that time.
 */
export const CLOCK_START_ENV = 'WARDEN_CLOCK_START';

/**
 * The process clock for the value of {@link CLOCK_START_ENV}: the system
 * clock when unset or empty, else a clock starting at that instant.
 *
 * @throws WardenError `ERR_CONFIG_INVALID` when the value is not an ISO 8601 instant
 */
export function clockFromStart(value: string | undefined): Clock {
  if (value === undefined || value.trim() === '') return systemClock;
  const trimmed = value.trim();
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(trimmed) ? Date.parse(trimmed) : Number.NaN;
  if (!Number.isFinite(ms))
    throw new WardenError('ERR_CONFIG_INVALID', `${CLOCK_START_ENV} must be an ISO 8601 instant with a time zone (e.g. 2026-11-25T09:00:00Z), got "${value}"`);
  return clockStartingAt(new Date(ms));
}
