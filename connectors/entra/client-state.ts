import { createHash, timingSafeEqual } from 'node:crypto';
import type { Secret } from '../../src/config/load-config.js';

/**
 * Checks the `clientState` of a Graph change or lifecycle notification
 * against the tenant's secret, in constant time: both sides are hashed first
 * so neither the length nor the first differing byte shows in the timing
 * (change-notifications-delivery-webhooks.md: "validate clientState on every
 * notification"). A missing or non-string value never matches.
 */
export function clientStateMatches(expected: Secret, given: unknown): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  const candidate = typeof given === 'string' ? given : '';
  const same = timingSafeEqual(digest(expected.reveal()), digest(candidate));
  return same && typeof given === 'string';
}
