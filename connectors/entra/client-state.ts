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
  return new ClientStateCheck(expected).matches(given);
}

/** SHA-256, one-shot (no Hash object per notification). */
const digest = (s: string) => hash('sha256', s, 'buffer');

/** The check for one tenant's secret, its digest computed once (the receiver runs it on every notification). */
export class ClientStateCheck {
  readonly #expected: Buffer;

  constructor(secret: Secret) {
    this.#expected = digest(secret.reveal());
  }

  matches(given: unknown): boolean {
    const same = timingSafeEqual(this.#expected, digest(typeof given === 'string' ? given : ''));
    return same && typeof given === 'string';
  }
}
