import type { WardenErrorCode } from '../core/errors.js';

const STATUS: Partial<Record<WardenErrorCode, number>> = {
  ERR_VALIDATION: 400,
  ERR_BODY_MALFORMED: 400,
  ERR_SIGN_IN: 400,
  ERR_SESSION: 401,
  ERR_AUTH_REQUIRED: 401,
  ERR_AUTH_INVALID: 401,
  ERR_TOKEN_EXPIRED: 401,
  ERR_STEP_UP_REQUIRED: 401,
  ERR_FORBIDDEN: 403,
  ERR_SOD_VIOLATION: 403,
  ERR_IDENTITY_UNRESOLVED: 403,
  ERR_CSRF: 403,
  ERR_NOT_FOUND: 404,
  ERR_TENANT_UNKNOWN: 404,
  ERR_CONFLICT: 409,
  ERR_ILLEGAL_TRANSITION: 409,
  ERR_DUPLICATE_APPROVAL: 409,
  ERR_BODY_TOO_LARGE: 413,
  ERR_IDEMPOTENCY_MISMATCH: 422,
  ERR_EVIDENCE_REJECTED: 422,
  ERR_POLICY_FORBIDS: 422,
  ERR_UPSTREAM: 502,
  ERR_STORE: 503,
};

/**
 * The HTTP status of a console page showing this error: the API's statuses
 * (src/server/problem.ts), kept here so the console does not import the
 * server that mounts it. Codes not listed are Warden's own failures (500).
 */
export function pageStatus(code: WardenErrorCode): number {
  return STATUS[code] ?? 500;
}
