import { createHash, randomBytes } from 'node:crypto';
import { WardenError } from '../core/errors.js';

/**
 * Signs a persona in at the development OIDC provider the way a browser
 * would, without one: the authorization code flow with PKCE (RFC 7636),
 * following redirects with the provider's cookies and submitting its
 * sign-in form with the persona's login, then exchanging the code for
 * tokens. Returns the ID token, which Warden accepts as a bearer token (its
 * audience is the demo's client, `oidc.audience` in the demo's config).
 *
 * For the plays and scripts only: people use the sign-in page in a browser.
 */
export async function signInPersona(input: { issuer: string; clientId: string; redirectUri: string; login: string; password?: string }): Promise<string> {
  const discovery = (await (await fetch(`${input.issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(10_000) })).json()) as {
    authorization_endpoint: string;
    token_endpoint: string;
  };
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const auth = new URL(discovery.authorization_endpoint);
  auth.search = new URLSearchParams({
    client_id: input.clientId,
    response_type: 'code',
    scope: 'openid profile email groups',
    redirect_uri: input.redirectUri,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    state,
    prompt: 'login',
  }).toString();

  const cookies = new Map<string, string>();
  const remember = (res: Response) => {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair!.indexOf('=');
      if (eq > 0) cookies.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim());
    }
  };
  const cookieHeader = () => [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');

  let url = auth.toString();
  let method = 'GET';
  let body: string | undefined;
  for (let step = 0; step < 12; step++) {
    if (url.startsWith(input.redirectUri)) {
      const back = new URL(url);
      if (back.searchParams.get('state') !== state) throw new WardenError('ERR_AUTH_INVALID', 'the sign-in came back with another state');
      const error = back.searchParams.get('error');
      if (error) throw new WardenError('ERR_AUTH_INVALID', `the sign-in failed: ${error} ${back.searchParams.get('error_description') ?? ''}`.trim());
      const code = back.searchParams.get('code');
      if (!code) throw new WardenError('ERR_AUTH_INVALID', 'the sign-in came back without a code');
      const token = await fetch(discovery.token_endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          redirect_uri: input.redirectUri,
          code_verifier: verifier,
          client_id: input.clientId,
        }).toString(),
        signal: AbortSignal.timeout(10_000),
      });
      const tokens = (await token.json()) as { id_token?: string; error?: string; error_description?: string };
      if (!tokens.id_token)
        throw new WardenError(
          'ERR_AUTH_INVALID',
          `the token endpoint answered ${token.status}: ${tokens.error ?? ''} ${tokens.error_description ?? ''}`.trim(),
        );
      return tokens.id_token;
    }
    const res = await fetch(url, {
      method,
      redirect: 'manual',
      headers: { cookie: cookieHeader(), ...(body !== undefined ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      ...(body !== undefined ? { body } : {}),
      signal: AbortSignal.timeout(10_000),
    });
    remember(res);
    if (res.status >= 300 && res.status < 400) {
      url = new URL(res.headers.get('location')!, url).toString();
      [method, body] = ['GET', undefined];
      continue;
    }
    const html = await res.text();
    const form = /<form\b[^>]*>([\s\S]*?)<\/form>/i.exec(html);
    if (res.status !== 200 || !form) throw new WardenError('ERR_AUTH_INVALID', `the sign-in page answered ${res.status} without a form to fill`);
    const attr = (tag: string, name: string) => new RegExp(`\\b${name}="([^"]*)"`, 'i').exec(tag)?.[1];
    const fields = new URLSearchParams();
    for (const m of form[1]!.matchAll(/<(input|select)\b[^>]*>/gi)) {
      const name = attr(m[0], 'name');
      if (!name) continue;
      if (name === 'login') fields.set(name, input.login);
      else if (name === 'password') fields.set(name, input.password ?? '');
      else fields.set(name, attr(m[0], 'value') ?? '');
    }
    const action = attr(form[0], 'action') ?? url;
    url = new URL(action.replace(/&amp;/g, '&'), url).toString();
    [method, body] = [(attr(form[0], 'method') ?? 'GET').toUpperCase(), fields.toString()];
  }
  throw new WardenError('ERR_AUTH_INVALID', 'the sign-in did not finish within 12 steps');
}
