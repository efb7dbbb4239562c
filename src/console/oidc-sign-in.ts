import * as client from 'openid-client';
import type { ResolvedTenant } from '../config/load-config.js';
import type { OidcConfig } from '../config/workflow-config-schema.js';
import type { Clock } from '../core/clock.js';
import { WardenError } from '../core/errors.js';
import type { ConsoleLoginRow, ConsoleStore } from '../store/store.js';
import { personFromClaims, type ConsolePerson } from './console-person.js';
import { randomToken, sha256, type ActiveSession } from './console-sessions.js';

/** A tenant whose people may sign in to the console. */
export interface ConsoleTenant {
  id: string;
  oidc: OidcConfig & { console: NonNullable<OidcConfig['console']> };
  clientSecret?: string;
}

/** Why a sign-in callback was refused (`details.reason` of `ERR_SIGN_IN`). */
export type SignInProblem =
  | 'bad_state'
  | 'replayed'
  | 'other_browser'
  | 'expired'
  | 'idp_error'
  | 'token'
  | 'no_subject'
  | 'step_up_other_person'
  | 'step_up_not_fresh'
  | 'unknown_tenant';

const refuse = (reason: SignInProblem, message: string, cause?: unknown) =>
  new WardenError('ERR_SIGN_IN', message, { details: { reason }, ...(cause ? { cause } : {}) });

/** The tenants of the config that offer the console. */
export function consoleTenants(tenants: readonly ResolvedTenant[]): ConsoleTenant[] {
  return tenants
    .filter((t): t is ResolvedTenant & { oidc: ConsoleTenant['oidc'] } => !!t.oidc?.console)
    .map((t) => {
      const secretName = t.oidc.console.clientSecret;
      const secret = secretName ? t.secrets[secretName]?.reveal() : undefined;
      return { id: t.id, oidc: t.oidc, ...(secret ? { clientSecret: secret } : {}) };
    });
}

/** Local issuers (a development IdP on this machine) may speak plain HTTP; every other issuer must use HTTPS. */
function isLocal(url: URL): boolean {
  return url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
}

/** The redirect URI the IdP app must allow for a tenant. */
export function redirectUri(tenant: ConsoleTenant): string {
  return `${tenant.oidc.console.publicUrl.replace(/\/$/, '')}/console/callback`;
}

/**
 * Sign-in with the tenant's IdP by OIDC authorization code + PKCE
 * (openid-client). Each sign-in's `state`, `nonce` and PKCE verifier are kept
 * in the store, bound to the browser's pre-login cookie (its hash) and used
 * once: a replayed callback, a callback in another browser, a stale one, a
 * wrong nonce or state are refused with {@link SignInProblem} reasons.
 * A step-up sign-in (`max_age=0`, `prompt=login`) before approvals must come
 * back with a fresh `auth_time`, a multi-factor `amr`, and the same person.
 */
export class ConsoleSignIn {
  readonly #tenants: Map<string, ConsoleTenant>;
  readonly #configs = new Map<string, Promise<client.Configuration>>();

  constructor(private readonly deps: { store: ConsoleStore; clock: Clock; tenants: readonly ConsoleTenant[]; signInTimeoutMs: number }) {
    this.#tenants = new Map(deps.tenants.map((t) => [t.id, t]));
  }

  /** The tenants offered on the sign-in page. */
  tenants(): ConsoleTenant[] {
    return [...this.#tenants.values()];
  }

  tenant(id: string): ConsoleTenant | undefined {
    return this.#tenants.get(id);
  }

  async #config(tenant: ConsoleTenant): Promise<client.Configuration> {
    let config = this.#configs.get(tenant.id);
    if (!config) {
      const issuer = new URL(tenant.oidc.issuer);
      const auth = tenant.clientSecret ? client.ClientSecretBasic(tenant.clientSecret) : client.None();
      config = client.discovery(issuer, tenant.oidc.console.clientId, undefined, auth, {
        ...(issuer.protocol === 'http:' && isLocal(issuer) ? { execute: [client.allowInsecureRequests] } : {}),
        timeout: 5,
      });
      this.#configs.set(tenant.id, config);
      config.catch(() => this.#configs.delete(tenant.id));
    }
    try {
      return await config;
    } catch (err) {
      throw new WardenError('ERR_UPSTREAM', `cannot reach the sign-in service of tenant ${tenant.id} (${tenant.oidc.issuer}): ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /**
   * Starts a sign-in (or, with a session, a step-up) and returns where to send the browser.
   * `browserId` is the value of the browser's pre-login cookie.
   */
  async begin(tenantId: string, browserId: string, returnTo: string, stepUpOf?: ActiveSession): Promise<URL> {
    const tenant = this.#tenants.get(tenantId);
    if (!tenant) throw new WardenError('ERR_TENANT_UNKNOWN', `tenant "${tenantId}" does not offer the console`);
    const config = await this.#config(tenant);
    const state = randomToken();
    const nonce = randomToken();
    const codeVerifier = client.randomPKCECodeVerifier();
    const now = this.deps.clock();
    const row: ConsoleLoginRow = {
      stateHash: sha256(state),
      browserHash: sha256(browserId),
      tenant: tenant.id,
      purpose: stepUpOf ? 'step_up' : 'sign_in',
      nonce,
      codeVerifier,
      returnTo,
      ...(stepUpOf ? { sessionHash: stepUpOf.idHash } : {}),
      createdAt: now,
      expiresAt: new Date(now.getTime() + this.deps.signInTimeoutMs),
    };
    await this.deps.store.putConsoleLogin(row);
    const params: Record<string, string> = {
      redirect_uri: redirectUri(tenant),
      scope: tenant.oidc.console.scopes.join(' '),
      response_type: 'code',
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    };
    if (stepUpOf) {
      params.max_age = '0';
      params.prompt = 'login';
      if (tenant.oidc.console.stepUpAcr) params.acr_values = tenant.oidc.console.stepUpAcr;
      const hint = stepUpOf.person.names.find((n) => n.includes('@'));
      if (hint) params.login_hint = hint;
    }
    return client.buildAuthorizationUrl(config, params);
  }

  /**
   * Completes a sign-in from the IdP's redirect (`callbackUrl`, as the browser requested it
   * under `publicUrl`). Returns the sign-in and the person the ID token names.
   * @throws WardenError `ERR_SIGN_IN` (reason: {@link SignInProblem}), `ERR_UPSTREAM`
   */
  async complete(callbackUrl: URL, browserId: string | undefined, session?: ActiveSession): Promise<{ login: ConsoleLoginRow; person: ConsolePerson }> {
    const state = callbackUrl.searchParams.get('state');
    if (!state) throw refuse('bad_state', 'this sign-in link carries no state: start the sign-in again from the console');
    const now = this.deps.clock();
    const taken = await this.deps.store.takeConsoleLogin(sha256(state), now);
    if (!taken) throw refuse('bad_state', 'this sign-in is not one this console started (unknown state): start the sign-in again from the console');
    const { row: login, firstUse } = taken;
    if (!firstUse) throw refuse('replayed', 'this sign-in link was already used; a sign-in link works once. Start a new sign-in from the console');
    if (!browserId || sha256(browserId) !== login.browserHash)
      throw refuse('other_browser', 'this sign-in was started in another browser (or your cookies were cleared): start the sign-in again here');
    if (now.getTime() > login.expiresAt.getTime()) throw refuse('expired', 'this sign-in took too long and has expired: start it again');
    const error = callbackUrl.searchParams.get('error');
    if (error)
      throw refuse(
        'idp_error',
        `the identity provider did not sign you in: ${error}${callbackUrl.searchParams.get('error_description') ? ` (${callbackUrl.searchParams.get('error_description')})` : ''}`,
      );

    const tenant = this.#tenants.get(login.tenant);
    if (!tenant) throw refuse('unknown_tenant', `tenant "${login.tenant}" no longer offers the console`);
    const config = await this.#config(tenant);
    let claims: Record<string, unknown>;
    try {
      const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: login.codeVerifier,
        expectedState: state,
        expectedNonce: login.nonce,
        idTokenExpected: true,
      });
      claims = (tokens.claims() ?? {}) as Record<string, unknown>;
    } catch (err) {
      throw refuse('token', `the identity provider's answer was refused: ${(err as Error).message}`, err);
    }
    const person = personFromClaims(tenant.id, tenant.oidc, claims);
    if (!person) throw refuse('no_subject', `the ID token has no ${tenant.oidc.subjectClaim} claim naming you`);

    if (login.purpose === 'step_up') {
      if (!session || session.idHash !== login.sessionHash) throw refuse('other_browser', 'this re-authentication belongs to another session: sign in again');
      // The IdP identifies the person by its subject claim: the same IdP and claim that started the session.
      if (person.subject !== session.person.subject)
        throw refuse('step_up_other_person', 'you re-authenticated as someone else than the person signed in to this session: nothing was changed');
      const authTime = person.authTime ? new Date(person.authTime).getTime() : undefined;
      // `auth_time` must come from the re-authentication asked for now (a minute's tolerance for clocks).
      if (authTime === undefined || authTime < login.createdAt.getTime() - 60_000)
        throw refuse(
          'step_up_not_fresh',
          'the identity provider did not ask for your credentials again (its auth_time is older than this request): approvals need a fresh sign-in',
        );
      if (!person.amr.some((m) => tenant.oidc.stepUp.mfaAmr.includes(m)))
        throw refuse(
          'step_up_not_fresh',
          `approvals need a multi-factor sign-in (amr ${tenant.oidc.stepUp.mfaAmr.join(' or ')}); the identity provider reported ${person.amr.join(', ') || 'none'}`,
        );
    }
    return { login, person };
  }
}
