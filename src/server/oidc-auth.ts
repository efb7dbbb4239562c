import { systemClock } from '../core/clock.js';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import type { ResolvedTenant } from '../config/load-config.js';
import type { OidcConfig } from '../config/workflow-config-schema.js';
import { WardenError } from '../core/errors.js';
import { parseDuration } from '../core/policy/duration.js';
import { ROLES, type Role, type UserCaller } from '../requests/caller.js';

/** What a bearer token looks like when it is a JWT rather than a Warden API key. */
export function looksLikeJwt(token: string): boolean {
  return !token.startsWith('wdn_') && /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/.test(token);
}

const invalid = (message: string, cause?: unknown) => new WardenError('ERR_AUTH_INVALID', message, { details: { token: true }, ...(cause ? { cause } : {}) });

interface IssuerKeys {
  keys: ReturnType<typeof createRemoteJWKSet>;
}

/**
 * Verifies the OIDC bearer tokens people send (help desk, approvers, admins,
 * auditors): signed by the tenant IdP's keys (JWKS, found through the
 * issuer's discovery document unless configured), with the configured
 * issuer and audience, unexpired (with the configured clock tolerance), and
 * signed with an allowed algorithm — `alg: none` and HMAC never are. Roles
 * come from the groups claim through `oidc.roles`.
 *
 * @example
 *   const verifier = new OidcVerifier(config.tenants);
 *   const person = await verifier.verify(token); // UserCaller
 */
export class OidcVerifier {
  readonly #tenants: ReadonlyArray<{ id: string; oidc: OidcConfig }>;
  readonly #keys = new Map<string, Promise<IssuerKeys>>();
  readonly #clock: () => Date;

  constructor(tenants: readonly ResolvedTenant[], options: { clock?: () => Date } = {}) {
    this.#tenants = tenants.filter((t): t is ResolvedTenant & { oidc: OidcConfig } => !!t.oidc).map((t) => ({ id: t.id, oidc: t.oidc }));
    this.#clock = options.clock ?? systemClock;
  }

  /** Whether any tenant lets people sign in. */
  get enabled(): boolean {
    return this.#tenants.length > 0;
  }

  async #keysFor(oidc: OidcConfig): Promise<IssuerKeys> {
    const cacheKey = `${oidc.issuer}|${oidc.jwksUri ?? ''}`;
    let entry = this.#keys.get(cacheKey);
    if (!entry) {
      entry = (async () => {
        let jwksUri = oidc.jwksUri;
        if (!jwksUri) {
          const url = `${oidc.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
          const response = await fetch(url, { signal: AbortSignal.timeout(5000), headers: { accept: 'application/json' } });
          if (!response.ok) throw new WardenError('ERR_UPSTREAM', `${url} answered ${response.status}`);
          const doc = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
          if (doc.issuer !== oidc.issuer) throw new WardenError('ERR_UPSTREAM', `${url} names issuer ${String(doc.issuer)}, not ${oidc.issuer}`);
          if (typeof doc.jwks_uri !== 'string') throw new WardenError('ERR_UPSTREAM', `${url} has no jwks_uri`);
          jwksUri = doc.jwks_uri;
        }
        return { keys: createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: 5000, cooldownDuration: 30_000, cacheMaxAge: 600_000 }) };
      })();
      this.#keys.set(cacheKey, entry);
      // A failed discovery is retried on the next token, not cached.
      entry.catch(() => this.#keys.delete(cacheKey));
    }
    return entry;
  }

  /**
   * @throws WardenError `ERR_AUTH_INVALID` (malformed, unknown issuer, wrong audience, bad signature, algorithm not allowed),
   *   `ERR_TOKEN_EXPIRED`, `ERR_UPSTREAM` (the IdP's keys cannot be fetched)
   */
  async verify(token: string): Promise<UserCaller> {
    let header: { alg?: string };
    let unverified: JWTPayload;
    try {
      header = decodeProtectedHeader(token);
      unverified = decodeJwt(token);
    } catch (err) {
      throw invalid('the bearer token is not a well-formed JWT', err);
    }
    if (!header.alg || header.alg === 'none') throw invalid('unsigned tokens (alg "none") are refused');
    const candidates = this.#tenants.filter((t) => t.oidc.issuer === unverified.iss);
    if (candidates.length === 0) throw invalid(`tokens from issuer ${String(unverified.iss)} are not accepted by any tenant`);
    const audiences = new Set(Array.isArray(unverified.aud) ? unverified.aud : unverified.aud ? [unverified.aud] : []);
    const tenant = candidates.find((t) => audiences.has(t.oidc.audience)) ?? candidates[0]!;
    const { oidc } = tenant;
    if (!(oidc.algorithms as readonly string[]).includes(header.alg))
      throw invalid(`tokens signed with ${header.alg} are refused (allowed: ${oidc.algorithms.join(', ')})`);

    let keys: IssuerKeys;
    try {
      keys = await this.#keysFor(oidc);
    } catch (err) {
      throw new WardenError('ERR_UPSTREAM', `cannot read the signing keys of ${oidc.issuer}: ${(err as Error).message}`, { cause: err });
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys.keys, {
        issuer: oidc.issuer,
        audience: oidc.audience,
        algorithms: [...oidc.algorithms],
        clockTolerance: parseDuration(oidc.clockTolerance),
        currentDate: this.#clock(),
        requiredClaims: ['exp'],
      }));
    } catch (err) {
      if (err instanceof errors.JWTExpired) throw new WardenError('ERR_TOKEN_EXPIRED', 'the token has expired: sign in again', { cause: err });
      if (err instanceof errors.JWTClaimValidationFailed)
        throw invalid(
          `the token's ${err.claim} claim is not accepted: ${err.reason === 'check_failed' ? `expected ${err.claim === 'aud' ? oidc.audience : err.claim === 'iss' ? oidc.issuer : 'a valid value'}` : err.reason}`,
          err,
        );
      if (err instanceof errors.JWSSignatureVerificationFailed) throw invalid('the token signature does not verify', err);
      if (err instanceof errors.JWKSNoMatchingKey) throw invalid('the token was signed with a key the IdP does not publish', err);
      if (err instanceof errors.JOSEAlgNotAllowed) throw invalid(`tokens signed with ${header.alg} are refused`, err);
      if (err instanceof errors.JWKSTimeout || !(err instanceof errors.JOSEError))
        throw new WardenError('ERR_UPSTREAM', `cannot verify the token against ${oidc.issuer}: ${(err as Error).message}`, { cause: err });
      throw invalid(`the token is not valid: ${(err as Error).message}`, err);
    }

    const subject = payload[oidc.subjectClaim];
    if (typeof subject !== 'string' || !subject) throw invalid(`the token has no ${oidc.subjectClaim} claim naming the person`);
    const rawGroups = payload[oidc.groupsClaim];
    const groups = Array.isArray(rawGroups) ? rawGroups.filter((g): g is string => typeof g === 'string') : [];
    const roles = ROLES.filter((role: Role) => oidc.roles[role].some((g) => groups.includes(g)));
    const names = new Set<string>();
    for (const claim of ['sub', 'uid', 'oid', 'preferred_username', 'email', 'upn']) {
      const v = payload[claim];
      if (typeof v === 'string' && v) names.add(v.toLowerCase());
    }
    names.delete(subject.toLowerCase());
    const amr = Array.isArray(payload.amr) ? payload.amr.filter((m): m is string => typeof m === 'string') : [];
    const authTime = typeof payload.auth_time === 'number' ? new Date(payload.auth_time * 1000) : undefined;
    const displayName = typeof payload.name === 'string' ? payload.name : undefined;
    return {
      type: 'user',
      tenant: tenant.id,
      subject,
      names: [...names],
      ...(displayName ? { displayName } : {}),
      groups,
      roles,
      ...(authTime ? { authTime } : {}),
      amr,
    };
  }
}
