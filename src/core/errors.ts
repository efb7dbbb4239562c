/**
 * Typed errors with stable codes. Callers `switch (err.code)`; the HTTP layer
 * maps codes to statuses (src/server/problem.ts) and the CLI maps them to exit
 * codes. Messages are for people; codes are the contract.
 */

/**
 * Every error code Warden raises on purpose: the stable contract. Each has an
 * HTTP status in src/server/problem.ts (test/architecture/typed-errors.test.ts
 * keeps the two complete).
 */
export const WARDEN_ERROR_CODES = [
  'ERR_POLICY_INVALID',
  'ERR_RULES_INVALID',
  'ERR_CONFIG_INVALID',
  'ERR_VALIDATION',
  'ERR_TENANT_UNKNOWN',
  'ERR_AUTH_REQUIRED',
  'ERR_AUTH_INVALID',
  'ERR_FORBIDDEN',
  'ERR_BODY_MALFORMED',
  'ERR_BODY_TOO_LARGE',
  'ERR_UNSUPPORTED_MEDIA_TYPE',
  'ERR_NOT_FOUND',
  'ERR_CONFLICT',
  'ERR_AUDIT_BROKEN',
  'ERR_STORE',
  'ERR_STORE_LOCKED',
  'ERR_MIGRATION',
  'ERR_INTERNAL',
  // Change requests (src/requests)
  'ERR_ILLEGAL_TRANSITION',
  'ERR_SOD_VIOLATION',
  'ERR_IDENTITY_UNRESOLVED',
  'ERR_DUPLICATE_APPROVAL',
  'ERR_STEP_UP_REQUIRED',
  'ERR_TOKEN_EXPIRED',
  'ERR_IDEMPOTENCY_MISMATCH',
  'ERR_EVIDENCE_REJECTED',
  'ERR_POLICY_FORBIDS',
  'ERR_UPSTREAM',
  // The web console (src/console)
  'ERR_SESSION',
  'ERR_CSRF',
  'ERR_SIGN_IN',
  // Notifications (src/notify/channels) and the affected person's "this wasn't me" link
  'ERR_NOTIFY_DELIVERY',
  'ERR_SIGNATURE_INVALID',
  'ERR_LINK_INVALID',
  'ERR_LINK_EXPIRED',
  'ERR_LINK_USED',
  'ERR_LINK_WRONG_PERSON',
  'ERR_RATE_LIMITED',
  // A development-only command (`warden demo`) needs the dev dependencies (`npm ci` in a clone)
  'ERR_DEV_INSTALL_REQUIRED',
  // Work another replica holds right now (a lease), to be tried again shortly
  'ERR_BUSY',
] as const;

/** One of `WARDEN_ERROR_CODES`. */
export type WardenErrorCode = (typeof WARDEN_ERROR_CODES)[number];

/** Base class of every error Warden throws on purpose. */
export class WardenError extends Error {
  readonly code: WardenErrorCode;
  /** Structured detail safe to show to the caller (e.g. validation issues). */
  readonly details: unknown;

  constructor(code: WardenErrorCode, message: string, options?: { cause?: unknown; details?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WardenError';
    this.code = code;
    this.details = options?.details;
  }
}

/** True when `err` is a WardenError, optionally with the given code. */
export function isWardenError(err: unknown, code?: WardenErrorCode): err is WardenError {
  return err instanceof WardenError && (code === undefined || err.code === code);
}
