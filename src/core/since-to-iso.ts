import { WardenError } from './errors.js';
import { parseDuration } from './policy/duration.js';

/**
 * `--since 24h` or `--since 2026-11-01T00:00:00Z` as an ISO time: a duration counts back from `now`.
 *
 * @throws WardenError `ERR_VALIDATION` for anything else, or a duration reaching back past any date
 */
export function sinceToIso(since: string, now: Date): string {
  if (/^\d+[smhd]/.test(since)) {
    let t: Date;
    try {
      t = new Date(now.getTime() - parseDuration(since) * 1000);
    } catch (err) {
      throw new WardenError('ERR_VALIDATION', `--since ${since}: ${(err as Error).message}`, { cause: err });
    }
    // A duration reaching past the earliest representable time is no period at all.
    if (Number.isNaN(t.getTime())) throw new WardenError('ERR_VALIDATION', `--since ${since}: reaches further back than any date`);
    return t.toISOString();
  }
  const t = new Date(since);
  if (Number.isNaN(t.getTime())) throw new WardenError('ERR_VALIDATION', `--since ${since}: use a duration (24h, 7d) or an ISO 8601 time`);
  return t.toISOString();
}
