import { hash, timingSafeEqual } from 'node:crypto';
import type { JWTVerifyGetKey } from 'jose';
import type { Secret } from '../../src/connector/index.js';
import { WardenError } from '../../src/core/errors.js';

/**
 * Authentication of Okta's calls to Warden. Event hooks carry a static
 * shared header (`authScheme.type: HEADER`, the only scheme Okta offers for
 * them); inline hooks carry the same header, or an OAuth 2.0 access token
 * Okta obtained with `client_secret_post` or `private_key_jwt`.
 *
 * https://developer.okta.com/docs/guides/secure-hooks/main/
 */

/** SHA-256, one-shot (no Hash object per call: the event hook runs this on every delivery). */
const digest = (value: string) => hash('sha256', value, 'buffer');

/** Compares two strings in constant time (over their SHA-256, so lengths leak nothing either). */
export function constantTimeEquals(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** Digests of configured secrets (a `Secret` never changes), so a hook call hashes only what it received. */
const secretDigests = new WeakMap<Secret, Buffer>();

function secretDigest(secret: Secret): Buffer {
  let d = secretDigests.get(secret);
  if (!d) secretDigests.set(secret, (d = digest(secret.reveal())));
  return d;
}

/**
 * Checks the shared-secret header of a hook call, in constant time (as
 * `constantTimeEquals`, with the secret's digest computed once).
 * @throws WardenError `ERR_AUTH_REQUIRED` when the header is missing, `ERR_AUTH_INVALID` when it is wrong
 */
export function verifySharedHeader(received: string | undefined, secret: Secret, header: string): void {
  if (received === undefined || received === '') throw new WardenError('ERR_AUTH_REQUIRED', `the ${header} header is missing`);
  if (!timingSafeEqual(digest(received), secretDigest(secret))) throw new WardenError('ERR_AUTH_INVALID', `the ${header} header does not match`);
}

/** What an inline hook's OAuth 2.0 access token must satisfy. */
export interface AccessTokenPolicy {
  issuer: string;
  audience: string;
  scope?: string;
  clockToleranceSeconds: number;
}

/**
 * Verifies the bearer access token of an OAuth 2.0 inline hook with jose:
 * signature against the issuer's keys, `iss`, `aud`, `exp`/`nbf`, and the
 * required scope (`scp` list or `scope` string).
 *
 * @throws WardenError `ERR_AUTH_REQUIRED` (no bearer token), `ERR_AUTH_INVALID` (anything wrong with it; the message says what)
 */
export async function verifyAccessToken(
  authorization: string | undefined,
  keys: JWTVerifyGetKey,
  policy: AccessTokenPolicy,
  now?: Date,
): Promise<Record<string, unknown>> {
  const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  if (!authorization) throw new WardenError('ERR_AUTH_REQUIRED', 'the Authorization header is missing');
  if (!m) throw new WardenError('ERR_AUTH_INVALID', 'the Authorization header is not a bearer token');
  // jose is loaded on first use: every `warden` command would pay for its import otherwise.
  const { errors: joseErrors, jwtVerify } = await import('jose');
  try {
    const { payload } = await jwtVerify(m[1]!, keys, {
      issuer: policy.issuer,
      audience: policy.audience,
      clockTolerance: policy.clockToleranceSeconds,
      ...(now ? { currentDate: now } : {}),
    });
    if (policy.scope) {
      const granted = Array.isArray(payload.scp) ? payload.scp.map(String) : typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
      if (!granted.includes(policy.scope)) throw new WardenError('ERR_AUTH_INVALID', `the access token lacks the scope ${policy.scope}`);
    }
    return payload as Record<string, unknown>;
  } catch (err) {
    if (err instanceof WardenError) throw err;
    if (err instanceof joseErrors.JWTExpired) throw new WardenError('ERR_AUTH_INVALID', 'the access token has expired', { cause: err });
    if (err instanceof joseErrors.JWTClaimValidationFailed)
      throw new WardenError('ERR_AUTH_INVALID', `the access token's ${err.claim} claim is wrong`, { cause: err });
    if (err instanceof joseErrors.JWSSignatureVerificationFailed || err instanceof joseErrors.JWKSNoMatchingKey)
      throw new WardenError('ERR_AUTH_INVALID', 'the access token is not signed by the issuer', { cause: err });
    throw new WardenError('ERR_AUTH_INVALID', 'the access token is not valid', { cause: err });
  }
}

/** The issuer's key set, fetched from `jwksUri` (default `<issuer>/v1/keys`, Okta's authorization servers) and cached by jose. */
export function remoteKeys(issuer: string, jwksUri?: string): JWTVerifyGetKey {
  const url = new URL(jwksUri ?? `${issuer.replace(/\/$/, '')}/v1/keys`);
  let keys: Promise<JWTVerifyGetKey> | undefined;
  return async (header, token) => {
    keys ??= import('jose').then((jose) => jose.createRemoteJWKSet(url, { timeoutDuration: 1500 }));
    return (await keys)(header, token);
  };
}
