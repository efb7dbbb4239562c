import { generateKeyPairSync } from 'node:crypto';
import { Client, DefaultRequestExecutor } from '@okta/okta-sdk-nodejs';
import { afterEach, describe, expect, it } from 'vitest';
import { OktaSimulator } from './okta-simulator.js';

/**
 * The simulator pushes back like Okta: per-endpoint rate-limit buckets on its
 * own clock, injected 429/5xx and stalls on any endpoint, and OAuth 2.0
 * service apps (private_key_jwt, scopes) driven by the real okta-sdk-nodejs.
 */

const clock = { now: new Date('2026-11-25T10:00:10.000Z') };
let sim: OktaSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function start(options: ConstructorParameters<typeof OktaSimulator>[0] = {}): Promise<OktaSimulator> {
  sim = await new OktaSimulator({ clock: () => clock.now, ...options }).start();
  return sim;
}

const call = (s: OktaSimulator, method: string, path: string) =>
  fetch(`${s.url}${path}`, { method, headers: { authorization: `SSWS ${s.token}`, accept: 'application/json' } });
const limits = (res: Response) => [
  res.status,
  res.headers.get('x-rate-limit-limit'),
  res.headers.get('x-rate-limit-remaining'),
  res.headers.get('x-rate-limit-reset'),
];

describe('Okta simulator rate limits', () => {
  it('counts each endpoint family in its own bucket and answers 429 with the reset of the simulated minute', async () => {
    const s = await start({ rateLimits: { 'user-get': 2, api: 3 } });
    const u = s.addUser({ login: 'rl@acme.example' });
    const reset = String(Date.parse('2026-11-25T10:01:00.000Z') / 1000);
    expect(limits(await call(s, 'GET', `/api/v1/users/${u.id}`))).toEqual([200, '2', '1', reset]);
    expect(limits(await call(s, 'GET', `/api/v1/users/${u.id}/factors`))).toEqual([200, '3', '2', reset]); // another bucket
    expect(limits(await call(s, 'GET', `/api/v1/users/${u.id}`))).toEqual([200, '2', '0', reset]);
    const refused = await call(s, 'GET', `/api/v1/users/${u.id}`);
    expect(limits(refused)).toEqual([429, '2', '0', reset]);
    expect(await refused.json()).toMatchObject({ errorCode: 'E0000047' });
    expect(refused.headers.get('date')).toBe(clock.now.toUTCString()); // the SDK and Warden compute the wait from Reset − Date
    expect(limits(await call(s, 'GET', '/api/v1/groups'))).toEqual([200, '3', '1', reset]); // the api bucket is not spent
    clock.now = new Date('2026-11-25T10:01:00.000Z');
    expect(limits(await call(s, 'GET', `/api/v1/users/${u.id}`))).toEqual([200, '2', '1', String(Number(reset) + 60)]);
  });

  it("uses Okta's Workforce defaults, with user writes and the System Log in their own buckets", async () => {
    const s = await start();
    const u = s.addUser({ login: 'rl2@acme.example' });
    expect(limits(await call(s, 'GET', '/api/v1/logs')).slice(0, 3)).toEqual([200, '120', '119']);
    expect(limits(await call(s, 'GET', `/api/v1/users/${u.id}`)).slice(0, 3)).toEqual([200, '2000', '1999']);
    expect(limits(await call(s, 'POST', `/api/v1/users/${u.id}/lifecycle/suspend`)).slice(0, 3)).toEqual([200, '1200', '1199']);
    expect(limits(await call(s, 'DELETE', `/api/v1/users/${u.id}`)).slice(0, 2)).toEqual([404, '600']);
  });
});

describe('Okta simulator faults', () => {
  it('answers injected 5xx on any endpoint without performing the call, then serves normally', async () => {
    const s = await start();
    const u = s.addUser({ login: 'f@acme.example' });
    s.addFactor(u.id, 'push');
    s.faults.inject({ status: 503, count: 2, path: /reset_factors$/ });
    s.faults.inject({ status: 500, count: 1, method: 'GET' });
    const first = await call(s, 'POST', `/api/v1/users/${u.id}/lifecycle/reset_factors`);
    expect([first.status, await first.text()]).toEqual([503, 'Service Unavailable']);
    expect((await call(s, 'POST', `/api/v1/users/${u.id}/lifecycle/reset_factors`)).status).toBe(503);
    expect(s.factorsOf(u.id)).toHaveLength(1); // not performed
    expect(s.log.filter((e) => e.eventType === 'user.mfa.factor.reset_all')).toHaveLength(0);
    const get = await call(s, 'GET', `/api/v1/users/${u.id}`);
    expect([get.status, ((await get.json()) as { errorCode: string }).errorCode]).toEqual([500, 'E0000009']);
    expect((await call(s, 'POST', `/api/v1/users/${u.id}/lifecycle/reset_factors`)).status).toBe(200);
    expect(s.factorsOf(u.id)).toHaveLength(0);
    expect(s.log.filter((e) => e.eventType === 'user.mfa.factor.reset_all')).toHaveLength(1);
    expect([s.faults.injected, s.faults.pending]).toEqual([3, 0]);
  });

  it('injects concurrency 429s: limit and remaining 0, the reset the test asked for', async () => {
    const s = await start();
    s.faults.inject({ status: 429, resetSeconds: 30 });
    expect(limits(await call(s, 'GET', '/api/v1/groups'))).toEqual([429, '0', '0', String(clock.now.getTime() / 1000 + 30)]);
    expect((await call(s, 'GET', '/api/v1/groups')).status).toBe(200);
    expect(() => s.faults.inject({ status: 404 })).toThrow(/not 429 or 5xx/);
  });

  it('stalls a matching call until released, then performs it', async () => {
    const s = await start();
    const u = s.addUser({ login: 'st@acme.example' });
    const stall = s.faults.stall({ path: /lifecycle\/suspend$/ });
    const pending = call(s, 'POST', `/api/v1/users/${u.id}/lifecycle/suspend`);
    expect(await stall.arrived).toEqual({ method: 'POST', path: `/api/v1/users/${u.id}/lifecycle/suspend` });
    expect(s.users.get(u.id)!.status).toBe('ACTIVE');
    stall.release();
    expect((await pending).status).toBe(200);
    expect(s.users.get(u.id)!.status).toBe('SUSPENDED');
  });
});

describe('Okta simulator OAuth 2.0 service apps (okta-sdk-nodejs PrivateKey mode)', () => {
  const sdk = (s: OktaSimulator, clientId: string, privateKey: unknown, scopes: string[]) =>
    new Client({
      orgUrl: s.url,
      authorizationMode: 'PrivateKey',
      clientId,
      scopes,
      privateKey: privateKey as string,
      cacheMiddleware: null,
      requestExecutor: new DefaultRequestExecutor({ maxRetries: 0, requestTimeout: 0 }),
      testing: { disableHttpsCheck: true },
    } as ConstructorParameters<typeof Client>[0]);

  it('issues a token for a private_key_jwt assertion and serves the granted scopes', async () => {
    const s = await start();
    const u = s.addUser({ login: 'o@acme.example' });
    const { app, privateJwk } = s.addServiceApp({ scopes: ['okta.users.read', 'okta.users.manage'] });
    const client = sdk(s, app.clientId, privateJwk, ['okta.users.read', 'okta.users.manage']);
    expect((await client.userApi.getUser({ userId: u.id })).id).toBe(u.id);
    await client.userApi.suspendUser({ userId: u.id });
    expect(s.users.get(u.id)!.status).toBe('SUSPENDED');
    const token = s.requests.filter((r) => r.path === '/oauth2/v1/token');
    expect(token).toHaveLength(1); // one token for both calls
    expect(s.log.at(-1)).toMatchObject({ eventType: 'user.lifecycle.suspend', actor: { id: app.clientId, type: 'PublicClientApp' } });
  });

  it('refuses a call the token has no scope for: 403 E0000006 with insufficient_scope', async () => {
    const s = await start();
    const u = s.addUser({ login: 'o2@acme.example' });
    const { app, privateJwk } = s.addServiceApp({ scopes: ['okta.users.read'] });
    const client = sdk(s, app.clientId, privateJwk, ['okta.users.read']);
    expect((await client.userApi.getUser({ userId: u.id })).id).toBe(u.id);
    const err = (await client.userApi.suspendUser({ userId: u.id }).catch((e: unknown) => e)) as {
      status: number;
      errorCode: string;
      headers: { get(n: string): string | null };
    };
    expect([err.status, err.errorCode]).toEqual([403, 'E0000006']);
    expect(err.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    expect(s.users.get(u.id)!.status).toBe('ACTIVE');
  });

  it('refuses a scope the app was not granted: 400 invalid_scope, and no call is served', async () => {
    const s = await start();
    const u = s.addUser({ login: 'o4@acme.example' });
    const { app, privateJwk } = s.addServiceApp({ scopes: ['okta.users.read', 'okta.users.manage'] });
    const client = sdk(s, app.clientId, privateJwk, ['okta.users.manage', 'okta.logs.read']);
    const answers: Array<[string, number]> = [];
    client.requestExecutor.on('response', (r: { url: string; status: number }) => answers.push([new URL(r.url).pathname, r.status]));
    // SDK 8.1.0 goes on to the API call without a token after a refused token request: Okta (and the simulator) answer 401.
    const err = (await client.userApi.suspendUser({ userId: u.id }).catch((e: unknown) => e)) as { status: number };
    expect(err.status).toBe(401);
    expect(answers.filter(([path]) => path === '/oauth2/v1/token').map(([, status]) => status)).toEqual([400, 400]);
    expect(s.serviceApps.issued).toBe(0);
    expect(s.users.get(u.id)!.status).toBe('ACTIVE');
  });

  it('refuses an assertion signed by a key the app does not have: 401 invalid_client', async () => {
    const s = await start();
    const { app } = s.addServiceApp({ scopes: ['okta.users.read'] });
    const other = { ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }), kid: (app.keys[0] as { kid: string }).kid };
    const err = (await sdk(s, app.clientId, other, ['okta.users.read'])
      .userApi.getUser({ userId: 'x' })
      .catch((e: unknown) => e)) as { status: number };
    expect(err.status).toBe(401);
    expect(s.serviceApps.issued).toBe(0);
  });

  it('checks the assertion the way Okta does: issuer, subject, audience, lifetime, grant type', async () => {
    const s = await start();
    const { app, privateJwk } = s.addServiceApp({ scopes: ['okta.users.read'] });
    const { SignJWT, importJWK } = await import('jose');
    const key = await importJWK(privateJwk as Parameters<typeof importJWK>[0], 'RS256');
    const tokenUrl = `${s.url}/oauth2/v1/token`;
    const assertion = (claims: Record<string, unknown>, iat = 1_800_000_000, exp = iat + 300) =>
      new SignJWT({ iss: app.clientId, sub: app.clientId, aud: tokenUrl, ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: privateJwk!.kid })
        .setIssuedAt(iat)
        .setExpirationTime(exp)
        .sign(key);
    const post = async (form: Record<string, string>) => {
      const res = await fetch(tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) });
      return [res.status, ((await res.json()) as { error?: string }).error ?? 'ok'];
    };
    const form = async (claims: Record<string, unknown>, iat?: number, exp?: number) => ({
      grant_type: 'client_credentials',
      scope: 'okta.users.read',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await assertion(claims, iat, exp),
    });
    expect(await post(await form({}))).toEqual([200, 'ok']);
    expect(await post(await form({ iss: '0oaSomeoneElse' }))).toEqual([401, 'invalid_client']);
    expect(await post(await form({ sub: '0oaSomeoneElse' }))).toEqual([401, 'invalid_client']);
    expect(await post(await form({ aud: `${s.url}/oauth2/default/v1/token` }))).toEqual([401, 'invalid_client']);
    expect(await post(await form({}, 1_800_000_000, 1_800_000_000 + 7200))).toEqual([401, 'invalid_client']);
    expect(await post({ ...(await form({})), grant_type: 'password' })).toEqual([400, 'unsupported_grant_type']);
    expect(await post({ ...(await form({})), client_assertion_type: 'x' })).toEqual([401, 'invalid_client']);
    expect(await post({ ...(await form({})), client_assertion: 'not.a.jwt' })).toEqual([401, 'invalid_client']);
  });

  it('expires access tokens on the simulated clock; the SDK fetches a new one and retries', async () => {
    const s = await start();
    const u = s.addUser({ login: 'o3@acme.example' });
    const { app, privateJwk } = s.addServiceApp({ scopes: ['okta.users.read'] });
    const client = sdk(s, app.clientId, privateJwk, ['okta.users.read']);
    await client.userApi.getUser({ userId: u.id });
    clock.now = new Date(clock.now.getTime() + 3600_000);
    expect((await client.userApi.getUser({ userId: u.id })).id).toBe(u.id);
    expect(s.serviceApps.issued).toBe(2);
    expect(s.requests.filter((r) => r.path === `/api/v1/users/${u.id}`)).toHaveLength(3); // 200, 401 (expired), 200
  });
});
