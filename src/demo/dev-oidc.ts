// placeholder: the console branch's implementation replaces this.
// A minimal development OpenID provider (oidc-provider 9) so that `warden demo` starts and its plays can sign personas
// in; the console branch ships the real one behind this same interface.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../core/clock.js';
import { loadDevDependency } from './load-dev-dependency.js';

export interface DevPersona { login: string; sub: string; name: string; email: string; groups: string[] }
export interface DevOidcClient { clientId: string; clientSecret?: string; redirectUris: string[] }
export interface DevOidcOptions { port?: number; personas: DevPersona[]; clients: DevOidcClient[]; clock?: Clock }
export interface DevOidc { issuer: string; stop(): Promise<void> }

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * Starts the provider on 127.0.0.1. Sign-in is a form: any persona's login (no password check: a demo), recorded
 * as a multi-factor sign-in (`amr: ["pwd", "mfa"]`) so approvals pass Warden's step-up check. Consent is given at once.
 * ID tokens carry `name`, `preferred_username`, `email`, `groups` and `auth_time`. Its clock is oidc-provider's own
 * (the system clock): `clock` is not honoured by this placeholder.
 */
export async function startDevOidc(options: DevOidcOptions): Promise<DevOidc> {
  const Provider = (await loadDevDependency('oidc-provider')).default;
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const bySub = new Map(options.personas.map((p) => [p.sub, p]));
  const provider = new Provider(issuer, {
    clients: options.clients.map((c) => ({
      client_id: c.clientId,
      ...(c.clientSecret ? { client_secret: c.clientSecret, token_endpoint_auth_method: 'client_secret_basic' } : { token_endpoint_auth_method: 'none' }),
      redirect_uris: c.redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      require_auth_time: true,
    })),
    async findAccount(_ctx: unknown, sub: string) {
      const p = bySub.get(sub);
      if (!p) return undefined;
      return { accountId: sub, claims: () => ({ sub, name: p.name, preferred_username: p.login, email: p.email, groups: p.groups }) };
    },
    // An ID token carries only the claims of its scopes: amr (the multi-factor sign-in) is listed under openid.
    claims: { openid: ['sub', 'amr'], profile: ['name', 'preferred_username'], email: ['email'], groups: ['groups'] },
    scopes: ['openid', 'profile', 'email', 'groups'],
    conformIdTokenClaims: false,
    ttl: { AuthorizationCode: 60, IdToken: 3600, AccessToken: 3600, Interaction: 600, Session: 86_400, Grant: 86_400 },
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
  });
  provider.proxy = false;
  const callback = provider.callback();

  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const m = /^\/interaction\/([^/?]+)/.exec(req.url ?? '');
    if (!m) return void callback(req, res);
    void (async () => {
      try {
        const details = await provider.interactionDetails(req, res);
        if (details.prompt.name === 'consent') {
          const grant = details.grantId ? await provider.Grant.find(details.grantId) : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
          grant.addOIDCScope('openid profile email groups');
          return void (await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true }));
        }
        if (req.method === 'POST') {
          const body = await new Promise<string>((resolve) => {
            let text = '';
            req.on('data', (c: Buffer) => (text += c.toString('utf8')));
            req.on('end', () => resolve(text));
          });
          const login = new URLSearchParams(body).get('login')?.trim().toLowerCase() ?? '';
          const persona = options.personas.find((p) => p.login === login);
          if (!persona) return void page(res, 400, form(m[1]!, options.personas, `No persona signs in as "${login}".`));
          return void (await provider.interactionFinished(req, res, { login: { accountId: persona.sub, amr: ['pwd', 'mfa'] } }, { mergeWithLastSubmission: false }));
        }
        page(res, 200, form(m[1]!, options.personas));
      } catch (err) {
        page(res, 400, `<p>${escape((err as Error).message)}</p>`);
      }
    })();
  });

  return {
    issuer,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function form(uid: string, personas: readonly DevPersona[], error?: string): string {
  const options = personas.map((p) => `<option value="${escape(p.login)}">${escape(p.name)} (${escape(p.login)})</option>`).join('');
  return `${error ? `<p role="alert">${escape(error)}</p>` : ''}<form method="post" action="/interaction/${escape(uid)}"><label for="login">Sign in as</label> <select id="login" name="login">${options}</select> <button type="submit">Sign in</button></form>`;
}

function page(res: http.ServerResponse, status: number, body: string): void {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Warden demo sign-in</title></head><body><h1>Warden demo sign-in</h1>${body}</body></html>`;
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': "default-src 'none'" });
  res.end(html);
}
