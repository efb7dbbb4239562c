import { compactVerify, createRemoteJWKSet, decodeProtectedHeader, errors as joseErrors, type JWTVerifyGetKey } from 'jose';
import { WardenError, type WardenErrorCode } from '../../src/core/errors.js';
import { CAEP_SESSION_REVOKED, RECEIVED_EVENT_TYPES, SET_TYP, SSF_VERIFICATION } from './event-types.js';

/**
 * Verifies a Security Event Token received from a transmitter (push or poll):
 * RFC 8417 as SSF 1.0 "Events" profiles it. Each failure is its own `reason`,
 * with the RFC 8935 §2.4 error code the receiver answers (`setErr`):
 *
 * | reason | setErr | check |
 * |---|---|---|
 * | `malformed` | invalid_request | a compact JWS with a JSON header and claims |
 * | `typ` | invalid_request | header `typ` is `secevent+jwt` |
 * | `alg` | invalid_key | header `alg` is one of the peer's `algorithms` (never `none` or HMAC) |
 * | `unknown_kid` | invalid_key | the `kid` is in the transmitter's JWKS (re-fetched once when it is not) |
 * | `signature` | authentication_failed | the signature verifies with that key |
 * | `issuer` | invalid_issuer | `iss` is the configured issuer |
 * | `audience` | invalid_audience | `aud` (string or array) holds the configured audience |
 * | `iat_old` / `iat_future` | invalid_request | `iat` within `maxAgeSeconds` before and `clockToleranceSeconds` after now (Warden's clock) |
 * | `claims` | invalid_request | `jti` a non-empty string, `events` an object with one or more events, no `exp` / `sub` (SSF 1.0 "Security Event Token Profile") |
 * | `event_type` | invalid_request | every event type is one Warden receives |
 * | `replay` | invalid_request | the `jti` was not accepted before (checked where the SET is stored) |
 */

/** RFC 8935 §2.4 / RFC 8936 §2.4.4 error codes. */
export type SetErr = 'invalid_request' | 'invalid_key' | 'invalid_issuer' | 'invalid_audience' | 'authentication_failed' | 'access_denied';
export type SetFailure =
  | 'malformed'
  | 'typ'
  | 'alg'
  | 'unknown_kid'
  | 'signature'
  | 'issuer'
  | 'audience'
  | 'iat_old'
  | 'iat_future'
  | 'claims'
  | 'event_type'
  | 'replay';

const ERR: Record<SetFailure, SetErr> = {
  malformed: 'invalid_request',
  typ: 'invalid_request',
  alg: 'invalid_key',
  unknown_kid: 'invalid_key',
  signature: 'authentication_failed',
  issuer: 'invalid_issuer',
  audience: 'invalid_audience',
  iat_old: 'invalid_request',
  iat_future: 'invalid_request',
  claims: 'invalid_request',
  event_type: 'invalid_request',
  replay: 'invalid_request',
};

const CODE: Partial<Record<SetFailure, WardenErrorCode>> = { malformed: 'ERR_BODY_MALFORMED', event_type: 'ERR_VALIDATION', claims: 'ERR_VALIDATION' };

/** A SET refused: `reason` says which check failed, `setErr` what to answer the transmitter. */
export class SetVerificationError extends WardenError {
  readonly reason: SetFailure;
  readonly setErr: SetErr;
  constructor(reason: SetFailure, message: string, options?: { cause?: unknown }) {
    super(CODE[reason] ?? 'ERR_AUTH_INVALID', message, options);
    this.reason = reason;
    this.setErr = ERR[reason];
  }
}

/** Event types Warden accepts: those it maps to changes, verification, and CAEP session-revoked (kept, not decided). */
export const ACCEPTED_EVENT_TYPES: ReadonlySet<string> = new Set([...RECEIVED_EVENT_TYPES, SSF_VERIFICATION, CAEP_SESSION_REVOKED]);

/** What a SET is checked against. */
export interface SetExpectations {
  issuer: string;
  audience: string;
  algorithms: readonly string[];
  maxAgeSeconds: number;
  clockToleranceSeconds: number;
  now: Date;
  /** The transmitter's keys (see `transmitterKeys`). */
  keys: JWTVerifyGetKey;
}

/** A verified SET's claims. */
export interface VerifiedSet {
  iss: string;
  jti: string;
  iat: number;
  aud: string | string[];
  txn?: string;
  sub_id?: Record<string, unknown>;
  events: Record<string, Record<string, unknown>>;
  [claim: string]: unknown;
}

/**
 * A transmitter's JWKS, fetched on first use, cached, and fetched again when
 * a SET names a `kid` it does not hold (jose's remote key set: at most once
 * per `cooldownMs`).
 */
export function transmitterKeys(jwksUri: string, options: { cooldownMs?: number; cacheMaxAgeMs?: number } = {}): JWTVerifyGetKey {
  return createRemoteJWKSet(new URL(jwksUri), {
    cooldownDuration: options.cooldownMs ?? 30_000,
    cacheMaxAge: options.cacheMaxAgeMs ?? 600_000,
    timeoutDuration: 5_000,
  });
}

const fail = (reason: SetFailure, message: string, cause?: unknown) => new SetVerificationError(reason, message, cause === undefined ? undefined : { cause });

/**
 * Verifies `token` (everything but `jti` replay, which the caller checks
 * where it stores the SET, in one transaction).
 *
 * @throws SetVerificationError naming the failed check
 */
export async function verifySet(token: string, expect: SetExpectations): Promise<VerifiedSet> {
  const text = token.trim();
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(text)) throw fail('malformed', 'the SET is not a compact JWS (three base64url parts)');
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(text);
  } catch (err) {
    throw fail('malformed', "the SET's protected header is not base64url JSON", err);
  }
  const typ = typeof header.typ === 'string' ? header.typ.toLowerCase() : undefined;
  if (typ !== SET_TYP && typ !== `application/${SET_TYP}`) throw fail('typ', `the SET's header typ is ${JSON.stringify(header.typ)}, not "${SET_TYP}"`);
  if (typeof header.alg !== 'string' || !expect.algorithms.includes(header.alg))
    throw fail('alg', `the SET is signed with alg ${JSON.stringify(header.alg)}; accepted: ${expect.algorithms.join(', ')}`);

  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(text, expect.keys, { algorithms: [...expect.algorithms] }));
  } catch (err) {
    if (err instanceof joseErrors.JWKSNoMatchingKey)
      throw fail('unknown_kid', `the transmitter's JWKS has no key "${String(header.kid)}" for ${header.alg}`, err);
    if (err instanceof joseErrors.JWSSignatureVerificationFailed)
      throw fail('signature', "the SET's signature does not verify with the transmitter's key", err);
    if (err instanceof joseErrors.JWSInvalid) throw fail('malformed', `the SET is not a valid JWS: ${(err as Error).message}`, err);
    if (err instanceof joseErrors.JOSEAlgNotAllowed) throw fail('alg', `alg ${header.alg} is not accepted`, err);
    throw fail('unknown_kid', `the transmitter's keys could not be used: ${(err as Error).message}`, err);
  }

  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
  } catch (err) {
    throw fail('malformed', "the SET's claims are not JSON", err);
  }
  if (!claims || typeof claims !== 'object' || Array.isArray(claims)) throw fail('malformed', "the SET's claims are not a JSON object");
  if (claims.iss !== expect.issuer) throw fail('issuer', `iss ${JSON.stringify(claims.iss)} is not the configured issuer ${expect.issuer}`);
  const aud = claims.aud;
  const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [];
  if (!audiences.includes(expect.audience)) throw fail('audience', `aud ${JSON.stringify(aud)} does not name ${expect.audience}`);
  if (typeof claims.iat !== 'number' || !Number.isFinite(claims.iat)) throw fail('claims', 'iat is missing or not a number');
  const now = Math.floor(expect.now.getTime() / 1000);
  if (now - claims.iat > expect.maxAgeSeconds) throw fail('iat_old', `iat ${claims.iat} is ${now - claims.iat} s old, more than ${expect.maxAgeSeconds} s`);
  if (claims.iat - now > expect.clockToleranceSeconds)
    throw fail('iat_future', `iat ${claims.iat} is ${claims.iat - now} s in the future, more than ${expect.clockToleranceSeconds} s`);
  if (typeof claims.jti !== 'string' || claims.jti.length === 0 || claims.jti.length > 256)
    throw fail('claims', 'jti is missing or not a string of 1-256 characters');
  if ('exp' in claims || 'sub' in claims) throw fail('claims', 'an SSF SET carries neither exp nor sub (SSF 1.0 "Security Event Token Profile")');
  const events = claims.events;
  if (!events || typeof events !== 'object' || Array.isArray(events) || Object.keys(events).length === 0) throw fail('claims', 'events is missing or empty');
  for (const [type, event] of Object.entries(events as Record<string, unknown>)) {
    if (!ACCEPTED_EVENT_TYPES.has(type)) throw fail('event_type', `event type ${type} is not one Warden receives`);
    if (!event || typeof event !== 'object' || Array.isArray(event)) throw fail('claims', `the ${type} event is not an object`);
  }
  return claims as VerifiedSet;
}
