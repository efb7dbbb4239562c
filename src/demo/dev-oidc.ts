import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemClock, type Clock } from '../core/clock.js';
import { WardenError } from '../core/errors.js';
import { escapeHtml } from '../console/html.js';

/** A person who can sign in at the development IdP. */
export interface DevPersona {
  login: string;
  sub: string;
  name: string;
  email: string;
  groups: string[];
}

/** An OIDC client (Warden's console) registered at the development IdP. */
export interface DevOidcClient {
  clientId: string;
  clientSecret?: string;
  redirectUris: string[];
}

export interface DevOidcOptions {
  /** TCP port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  personas: DevPersona[];
  clients: DevOidcClient[];
  /** The clock `auth_time` is read from (src/core/clock.ts), so step-up checks agree with Warden's. */
  clock?: Clock;
}

export interface DevOidc {
  /** The issuer URL, e.g. `http://127.0.0.1:41234`. */
  issuer: string;
  stop(): Promise<void>;
}

/** The password every persona accepts (any non-empty password is accepted; this is the one the docs give). */
export const DEV_OIDC_PASSWORD = 'demo';

interface ProviderLike {
  callback(): (req: http.IncomingMessage, res: http.ServerResponse) => void;
  interactionDetails(req: http.IncomingMessage, res: http.ServerResponse): Promise<{ uid: string; prompt: { name: string }; params: Record<string, unknown> }>;
  interactionFinished(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    result: Record<string, unknown>,
    options?: { mergeWithLastSubmission?: boolean },
  ): Promise<void>;
  Grant: new (init: { clientId: string; accountId: string }) => { addOIDCScope(scope: string): void; save(): Promise<string> };
}

const PAGE_STYLE = `body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1b1f24;margin:0}main{max-width:26rem;margin:4rem auto;background:#fff;border:1px solid #c9ced6;border-radius:8px;padding:1.5rem 2rem}
h1{font-size:1.3rem}label{display:block;margin:.8rem 0 .3rem;font-weight:600}select,input{width:100%;padding:.5rem;font-size:1rem;border:1px solid #6b7480;border-radius:4px;box-sizing:border-box}
button{margin-top:1.2rem;padding:.6rem 1.2rem;font-size:1rem;background:#0b5cad;color:#fff;border:0;border-radius:4px;cursor:pointer}button:focus,select:focus,input:focus{outline:3px solid #f2b01e}
.note{color:#3d4550;font-size:.9rem}.badge{display:inline-block;background:#7a2e00;color:#fff;border-radius:4px;padding:.1rem .4rem;font-size:.8rem}`;

function loginPage(uid: string, personas: readonly DevPersona[], reauth: boolean, hint: string | undefined, error?: string): string {
  const options = personas
    .map(
      (p) =>
        `<option value="${escapeHtml(p.login)}"${hint && (hint === p.login || hint === p.email) ? ' selected' : ''}>${escapeHtml(p.name)} (${escapeHtml(p.login)}) — ${escapeHtml(p.groups.join(', ') || 'no groups')}</option>`,
    )
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>Development IdP: sign in</title><style>${PAGE_STYLE}</style></head>
<body><main><h1>Development IdP</h1>${reauth ? '<p><span class="badge">Re-authentication</span> Warden asks you to sign in again before this decision.</p>' : ''}
${error ? `<p role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<label for="login">Persona</label><select id="login" name="login">${options}</select>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form>
<p class="note">A development identity provider for trying Warden locally: the password is <code>${DEV_OIDC_PASSWORD}</code>; every sign-in counts as multi-factor (amr pwd, mfa). Never use it in production.</p></main></body></html>`;
}

async function readForm(req: http.IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 16_384) throw new WardenError('ERR_BODY_TOO_LARGE', 'form too large');
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/**
 * A development OpenID provider on 127.0.0.1 (node-oidc-provider), for
 * `warden demo` and the console's browser tests: a login page where one
 * picks a persona (password {@link DEV_OIDC_PASSWORD}), ID tokens with the
 * persona's `groups`, `auth_time` from `clock`, and `amr: ["pwd", "mfa"]`;
 * `max_age` and `prompt=login` force a new sign-in (step-up). Its sessions
 * and keys live in memory and die with it. oidc-provider is a development
 * dependency, loaded only when this starts.
 *
 * @example
 *   const idp = await startDevOidc({ personas, clients: [{ clientId: 'warden-console', redirectUris: ['http://127.0.0.1:8080/console/callback'] }] });
 */
export async function startDevOidc(options: DevOidcOptions): Promise<DevOidc> {
  const clock = options.clock ?? systemClock;
  const specifier = 'oidc-provider';
  let Provider: new (issuer: string, configuration: Record<string, unknown>) => ProviderLike;
  try {
    Provider = ((await import(specifier)) as { default: typeof Provider }).default;
  } catch (err) {
    throw new WardenError(
      'ERR_CONFIG_INVALID',
      'the development IdP needs the oidc-provider package (a development dependency): run `npm ci` in a clone of Warden',
      { cause: err },
    );
  }
  const byLogin = new Map(options.personas.map((p) => [p.login.toLowerCase(), p]));
  const bySub = new Map(options.personas.map((p) => [p.sub, p]));

  const server = http.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const signing = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });

  const provider = new Provider(issuer, {
    clients: options.clients.map((c) => ({
      client_id: c.clientId,
      ...(c.clientSecret ? { client_secret: c.clientSecret, token_endpoint_auth_method: 'client_secret_basic' } : { token_endpoint_auth_method: 'none' }),
      redirect_uris: c.redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
    })),
    jwks: { keys: [{ ...signing, kid: 'dev-oidc-1', use: 'sig', alg: 'RS256' }] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    scopes: ['openid', 'profile', 'email', 'groups'],
    claims: { openid: ['sub', 'auth_time', 'amr', 'acr'], profile: ['name', 'preferred_username'], email: ['email'], groups: ['groups'] },
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    ttl: { AuthorizationCode: 60, Interaction: 600, Grant: 8 * 3600, Session: 8 * 3600, AccessToken: 600, IdToken: 600 },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    async findAccount(_ctx: unknown, sub: string) {
      const p = bySub.get(sub);
      if (!p) return undefined;
      return { accountId: p.sub, claims: async () => ({ sub: p.sub, name: p.name, preferred_username: p.login, email: p.email, groups: [...p.groups] }) };
    },
    // Every client here is Warden's own: the grant covers what it asks, no consent screen.
    async loadExistingGrant(ctx: {
      oidc: {
        result?: { consent?: { grantId?: string } };
        session: { accountId: string; grantIdFor(id: string): string | undefined };
        client: { clientId: string };
        provider: { Grant: ProviderLike['Grant'] & { find(id: string): Promise<unknown> } };
      };
    }) {
      const grantId = ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope('openid profile email groups');
      await grant.save();
      return grant;
    },
    renderError(ctx: { type: string; body: string }, out: Record<string, string>) {
      ctx.type = 'html';
      ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Development IdP: error</title><style>${PAGE_STYLE}</style></head><body><main><h1>Sign-in error</h1><p>${escapeHtml(out.error ?? '')}: ${escapeHtml(out.error_description ?? '')}</p></main></body></html>`;
    },
  });
  const handle = provider.callback();

  server.on('request', (req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    const match = /^\/interaction\/([A-Za-z0-9_-]+)(\/login)?$/.exec(url.pathname);
    if (!match) return handle(req, res);
    void (async () => {
      const details = await provider.interactionDetails(req, res);
      const reauth = details.params.prompt === 'login' || details.params.max_age !== undefined;
      const hint = typeof details.params.login_hint === 'string' ? details.params.login_hint : undefined;
      if (req.method === 'GET' && !match[2]) {
        res
          .writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
          .end(loginPage(details.uid, options.personas, reauth, hint));
        return;
      }
      if (req.method !== 'POST' || !match[2]) {
        res.writeHead(405).end();
        return;
      }
      const form = await readForm(req);
      const persona = byLogin.get((form.get('login') ?? '').toLowerCase());
      if (!persona || !form.get('password')) {
        res
          .writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
          .end(loginPage(details.uid, options.personas, reauth, hint, 'Pick a persona and type a password.'));
        return;
      }
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: persona.sub, amr: ['pwd', 'mfa'], acr: 'urn:warden:dev:mfa', ts: Math.floor(clock().getTime() / 1000), remember: false } },
        { mergeWithLastSubmission: false },
      );
    })().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`sign-in failed: ${(err as Error).message}`);
    });
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
