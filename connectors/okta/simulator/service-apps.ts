import { generateKeyPairSync, randomBytes, type JsonWebKey } from 'node:crypto';
import { compactVerify, decodeProtectedHeader, importJWK } from 'jose';

/**
 * OAuth 2.0 service apps of the simulated org: API Services apps that
 * authenticate with `private_key_jwt` (client credentials) at the org
 * authorization server's `/oauth2/v1/token`, get a Bearer access token for
 * the scopes they were granted, and call the Management API with it — what
 * `@okta/okta-sdk-nodejs` does with `authorizationMode: 'PrivateKey'`
 * (research okta.md §4.2, SDK 8.1.0 `src/oauth.js`, `src/jwt.js`).
 *
 * The token request is checked as Okta checks it: `grant_type`
 * `client_credentials`; `client_assertion_type`
 * `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`; a
 * `client_assertion` JWT signed by a key registered with the app (its `kid`
 * when the header names one), `iss` = `sub` = the client id, `aud` the token
 * endpoint's URL, an `exp` no more than one hour after `iat`; every requested
 * scope granted to the app. The assertion's times are not compared with the
 * simulator's clock: the SDK signs with the machine's clock, which a test's
 * simulated clock is not. The SDK also sends a DPoP proof on every token
 * request; it is ignored, as Okta ignores it for an app that does not
 * require DPoP (the simulator has no DPoP-bound apps).
 *
 * Access tokens last an hour on the simulator's clock; an expired token gets
 * 401 `E0000011`, after which the SDK fetches a new one and retries once.
 */

/** A registered API Services app. */
export interface SimServiceApp {
  clientId: string;
  name: string;
  /** Okta API scopes granted to the app (`okta.users.manage`, …). */
  scopes: Set<string>;
  /** Public keys registered with the app (JWK, with `kid`). */
  keys: JsonWebKey[];
}

/** What `addServiceApp` returns: the app and, when the simulator made the key pair, its private key (JWK with `kid`, what Warden's `auth.privateKey` holds). */
export interface NewServiceApp {
  app: SimServiceApp;
  privateJwk?: JsonWebKey & { kid: string };
}

/** An answer of the token endpoint. */
export interface TokenAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** A valid access token's grant. */
export interface AccessGrant {
  app: SimServiceApp;
  scopes: ReadonlySet<string>;
}

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const TOKEN_LIFETIME_S = 3600;

function oauthError(status: number, error: string, description: string): TokenAnswer {
  return { status, body: { error, error_description: description } };
}

/** The service apps and the access tokens issued to them. */
export class ServiceApps {
  readonly apps = new Map<string, SimServiceApp>();
  readonly #tokens = new Map<string, { clientId: string; scopes: Set<string>; expiresAt: number }>();

  /** Registers an app; without `publicJwk` a 2048-bit RSA key pair is made and its private half returned. */
  add(input: { name?: string; scopes: string[]; publicJwk?: JsonWebKey }): NewServiceApp {
    const clientId = `0oa${randomBytes(9).toString('hex').slice(0, 17)}`;
    let privateJwk: (JsonWebKey & { kid: string }) | undefined;
    let publicJwk = input.publicJwk;
    if (!publicJwk) {
      const kid = randomBytes(12).toString('base64url');
      const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
      privateJwk = { ...pair.privateKey.export({ format: 'jwk' }), kid };
      publicJwk = { ...pair.publicKey.export({ format: 'jwk' }), kid };
    }
    const app: SimServiceApp = { clientId, name: input.name ?? 'Warden', scopes: new Set(input.scopes), keys: [publicJwk] };
    this.apps.set(clientId, app);
    return { app, ...(privateJwk ? { privateJwk } : {}) };
  }

  /** `POST /oauth2/v1/token` with a form body; `tokenUrl` is the endpoint's full URL (the assertion's audience). */
  async token(form: URLSearchParams, tokenUrl: string, now: number): Promise<TokenAnswer> {
    if (form.get('grant_type') !== 'client_credentials')
      return oauthError(400, 'unsupported_grant_type', 'The authorization grant type is not supported by the authorization server.');
    if (form.get('client_assertion_type') !== ASSERTION_TYPE || !form.get('client_assertion'))
      return oauthError(401, 'invalid_client', 'Client authentication failed. Either the client or the client credentials are invalid.');
    const assertion = form.get('client_assertion')!;
    let claims: { iss?: unknown; sub?: unknown; aud?: unknown; exp?: unknown; iat?: unknown };
    let app: SimServiceApp | undefined;
    try {
      const header = decodeProtectedHeader(assertion);
      claims = JSON.parse(Buffer.from(assertion.split('.')[1] ?? '', 'base64url').toString('utf8')) as typeof claims;
      app = typeof claims.iss === 'string' ? this.apps.get(claims.iss) : undefined;
      if (!app) return oauthError(401, 'invalid_client', 'The client_assertion token has an invalid issuer.');
      const candidates = app.keys.filter((k) => !header.kid || (k as { kid?: string }).kid === header.kid);
      let verified = false;
      for (const jwk of candidates) {
        try {
          await compactVerify(assertion, await importJWK(jwk as Parameters<typeof importJWK>[0], header.alg ?? 'RS256'));
          verified = true;
          break;
        } catch {
          // another key may match
        }
      }
      if (!verified) return oauthError(401, 'invalid_client', 'The client_assertion signature is invalid.');
    } catch {
      return oauthError(401, 'invalid_client', 'The client_assertion is not a valid JWT.');
    }
    if (claims.sub !== app.clientId) return oauthError(401, 'invalid_client', 'The client_assertion token has an invalid subject.');
    const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!audiences.includes(tokenUrl))
      return oauthError(401, 'invalid_client', 'The audience claim for client_assertion must be the endpoint invoked for the request.');
    if (typeof claims.exp !== 'number' || typeof claims.iat !== 'number' || claims.exp <= claims.iat || claims.exp - claims.iat > TOKEN_LIFETIME_S)
      return oauthError(401, 'invalid_client', 'The client_assertion token must have an expiration no more than one hour after it was issued.');
    const requested = (form.get('scope') ?? '').split(' ').filter(Boolean);
    if (requested.length === 0)
      return oauthError(400, 'invalid_scope', "The authorization server resource does not have any configured default scopes, 'scope' must be provided.");
    const refused = requested.filter((s) => !app.scopes.has(s));
    if (refused.length) return oauthError(400, 'invalid_scope', `The following scopes are not allowed: ${refused.join(', ')}`);
    const accessToken = randomBytes(32).toString('base64url');
    this.#tokens.set(accessToken, { clientId: app.clientId, scopes: new Set(requested), expiresAt: now + TOKEN_LIFETIME_S * 1000 });
    return { status: 200, body: { token_type: 'Bearer', expires_in: TOKEN_LIFETIME_S, access_token: accessToken, scope: requested.join(' ') } };
  }

  /** The grant behind a Bearer token, if it is known and not expired at `now`. */
  grant(accessToken: string, now: number): AccessGrant | undefined {
    const token = this.#tokens.get(accessToken);
    if (!token || token.expiresAt <= now) return undefined;
    const app = this.apps.get(token.clientId);
    return app ? { app, scopes: token.scopes } : undefined;
  }

  /** How many access tokens were issued (tests: a refresh shows as a second one). */
  get issued(): number {
    return this.#tokens.size;
  }
}

/**
 * The Okta API scope a Management API request needs (a `.manage` scope also
 * grants its `.read`), from the scopes Okta documents per operation (research
 * okta.md §1.6, §4.1; docs/okta.md §1). Undefined for a path the simulator
 * maps to no scope: a service app is refused there (add the path here when
 * the simulator learns a new API).
 */
export function requiredScope(method: string, path: string): string | undefined {
  const read = method === 'GET';
  if (path === '/api/v1/logs') return 'okta.logs.read';
  if (/^\/api\/v1\/users\/[^/]+\/roles$/.test(path)) return 'okta.roles.read';
  if (/^\/api\/v1\/users\/[^/]+\/risk$/.test(path)) return read ? 'okta.userRisk.read' : 'okta.userRisk.manage';
  if (path.startsWith('/api/v1/users')) return read ? 'okta.users.read' : 'okta.users.manage';
  if (/^\/api\/v1\/groups\/[^/]+\/users\/[^/]+$/.test(path)) return 'okta.groups.manage';
  if (path.startsWith('/api/v1/groups')) return read ? 'okta.groups.read' : 'okta.groups.manage';
  if (path.startsWith('/api/v1/eventHooks')) return read ? 'okta.eventHooks.read' : 'okta.eventHooks.manage';
  if (path.startsWith('/api/v1/api-tokens')) return read ? 'okta.apiTokens.read' : 'okta.apiTokens.manage';
  if (path.startsWith('/api/v1/policies')) return read ? 'okta.policies.read' : 'okta.policies.manage';
  return undefined;
}

/** Whether `scopes` allow a request that needs `scope`. */
export function scopeAllows(scopes: ReadonlySet<string>, scope: string): boolean {
  return scopes.has(scope) || (scope.endsWith('.read') && scopes.has(`${scope.slice(0, -'.read'.length)}.manage`));
}
