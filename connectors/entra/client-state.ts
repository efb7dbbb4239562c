import { hash, timingSafeEqual } from 'node:crypto';
import type { Secret } from '../../src/connector/index.js';

/**
 * Checks the `clientState` of a Graph change or lifecycle notification
 * against the tenant's secret, in constant time: both sides are hashed first
 * so neither the length nor the first differing byte shows in the timing
 * (change-notifications-delivery-webhooks.md: "validate clientState on every
 * notification"). A missing or non-string value never matches.
 */
export function clientStateMatches(expected: Secret, given: unknown): boolean {
  return createClientStateCheck(expected).matches(given);
}

/** SHA-256, one-shot (no Hash object per notification). */
const digest = (s: string) => hash('sha256', s, 'buffer');

/** The check for one tenant's secret. */
export interface ClientStateCheck {
  /** Whether `given` is the tenant's clientState. */
  matches(given: unknown): boolean;
}

/** The check for one tenant's secret, its digest computed once (the receiver runs it on every notification). */
export function createClientStateCheck(secret: Secret): ClientStateCheck {
  const expected = digest(secret.reveal());
  return {
    matches(given) {
      const same = timingSafeEqual(expected, digest(typeof given === 'string' ? given : ''));
      return same && typeof given === 'string';
    },
  };
}
