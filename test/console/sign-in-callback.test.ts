import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OidcConfig } from '../../src/config/workflow-config-schema.js';
import { ConsoleSignIn, type ConsoleTenant } from '../../src/console/oidc-sign-in.js';
import { sha256, type ActiveSession } from '../../src/console/console-sessions.js';
import { isWardenError } from '../../src/core/errors.js';
import { startDevOidc, type DevOidc } from '../../src/demo/dev-oidc.js';
import { pgliteTestStore, type TestStore } from '../helpers/test-stores.js';
import { signInAtDevIdp } from './drive-dev-oidc.js';

/**
 * The OIDC callback of the console, against the development IdP
 * (oidc-provider): one test per way a callback is refused, each asserting
 * its reason, plus the happy path and step-up.
 */
const PUBLIC = 'http://127.0.0.1:9'; // the console's public URL: the callback is never fetched, only compared
const REDIRECT = `${PUBLIC}/console/callback`;
const ann = { login: 'ann', sub: '00u1ann', name: 'Ann Approver', email: 'ann@acme.example', groups: ['Everyone', 'iam-approvers'] };
const eve = { login: 'eve', sub: '00u1eve', name: 'Eve Staff', email: 'eve@acme.example', groups: ['Everyone'] };

async function reasonOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (isWardenError(err, 'ERR_SIGN_IN')) return (err.details as { reason: string }).reason;
    throw err;
  }
}

describe('console sign-in callback', () => {
  let idp: DevOidc;
  let t: TestStore;
  let signIn: ConsoleSignIn;
  let now = new Date(Math.floor(Date.now() / 1000) * 1000);
  const clock = () => now;
  beforeAll(async () => {
    idp = await startDevOidc({
      personas: [ann, eve],
      clients: [{ clientId: 'warden-console', clientSecret: 'console-secret', redirectUris: [REDIRECT] }],
      clock,
    });
    t = await pgliteTestStore();
    await t.store.ensureTenants(['acme']);
    const oidc = OidcConfig.parse({
      issuer: idp.issuer,
      audience: 'warden-console',
      roles: { approver: ['iam-approvers'] },
      console: { clientId: 'warden-console', clientSecret: 'consoleSecret', publicUrl: PUBLIC },
    });
    const tenant = { id: 'acme', oidc, clientSecret: 'console-secret' } as ConsoleTenant;
    signIn = new ConsoleSignIn({ store: t.store, clock, tenants: [tenant], signInTimeoutMs: 600_000 });
  });
  afterAll(async () => {
    await t?.dispose();
    await idp?.stop();
  });

  it('signs a persona in: groups mapped to roles, auth_time from the clock, amr with mfa', async () => {
    const url = await signIn.begin('acme', 'browser-1', '/console/requests');
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('nonce')).toBeTruthy();
    const back = await signInAtDevIdp(url, 'ann', REDIRECT);
    const { login, person } = await signIn.complete(back, 'browser-1');
    expect(login).toMatchObject({ tenant: 'acme', purpose: 'sign_in', returnTo: '/console/requests' });
    expect(person).toMatchObject({
      tenant: 'acme',
      subject: '00u1ann',
      displayName: 'Ann Approver',
      roles: ['approver'],
      groups: ['Everyone', 'iam-approvers'],
      amr: ['pwd', 'mfa'],
      authTime: now.toISOString(),
    });
  });

  it('refuses a callback whose state this console never gave out', async () => {
    const url = await signIn.begin('acme', 'browser-1', '/console/');
    const back = await signInAtDevIdp(url, 'ann', REDIRECT);
    back.searchParams.set('state', 'forged-state-value');
    expect(await reasonOf(signIn.complete(back, 'browser-1'))).toBe('bad_state');
    back.searchParams.delete('state');
    expect(await reasonOf(signIn.complete(back, 'browser-1'))).toBe('bad_state');
  });

  it('refuses a replayed callback, once the first was used', async () => {
    const url = await signIn.begin('acme', 'browser-1', '/console/');
    const back = await signInAtDevIdp(url, 'ann', REDIRECT);
    expect(await reasonOf(signIn.complete(back, 'browser-1'))).toBe('ok');
    expect(await reasonOf(signIn.complete(back, 'browser-1'))).toBe('replayed');
  });

  it('refuses a callback in a browser other than the one that started the sign-in', async () => {
    const url = await signIn.begin('acme', 'browser-1', '/console/');
    const back = await signInAtDevIdp(url, 'ann', REDIRECT);
    expect(await reasonOf(signIn.complete(back, 'browser-2'))).toBe('other_browser');
    expect(await reasonOf(signIn.complete(new URL(back), undefined))).toBe('replayed');
  });

  it('refuses an ID token whose nonce is not the one this sign-in sent', async () => {
    const url = await signIn.begin('acme', 'browser-1', '/console/');
    const back = await signInAtDevIdp(url, 'ann', REDIRECT);
    // The stored nonce is what the callback must find in the token: change it, as a token minted for another sign-in would differ.
    await t.store.putConsoleLogin({
      stateHash: sha256('other-state'),
      browserHash: sha256('browser-1'),
      tenant: 'acme',
      purpose: 'sign_in',
      nonce: 'a-nonce-that-is-not-in-the-token',
      codeVerifier: (await t.store.takeConsoleLogin(sha256(url.searchParams.get('state')!), now))!.row.codeVerifier,
      returnTo: '/console/',
      createdAt: now,
      expiresAt: new Date(now.getTime() + 600_000),
    });
    back.searchParams.set('state', 'other-state');
    expect(await reasonOf(signIn.complete(back, 'browser-1'))).toBe('token');
  });

  it('refuses a sign-in that took longer than the sign-in timeout', async () => {
    const url = await signIn.begin('acme', 'browser-1', '/console/');
    const back = await signInAtDevIdp(url, 'ann', REDIRECT);
    now = new Date(now.getTime() + 11 * 60_000);
    expect(await reasonOf(signIn.complete(back, 'browser-1'))).toBe('expired');
  });

  it('step-up: the IdP asks again (max_age=0, prompt=login) and the same person comes back with a fresh auth_time', async () => {
    const first = await signIn.begin('acme', 'browser-1', '/console/');
    const { person } = await signIn.complete(await signInAtDevIdp(first, 'ann', REDIRECT), 'browser-1');
    const session: ActiveSession = { idHash: 'session-hash', tenant: 'acme', person, csrfToken: 'x', createdAt: now, expiresAt: now };
    now = new Date(now.getTime() + 20 * 60_000);
    const url = await signIn.begin('acme', 'browser-1', '/console/requests/x', session);
    expect(url.searchParams.get('max_age')).toBe('0');
    expect(url.searchParams.get('prompt')).toBe('login');
    const stepped = await signIn.complete(await signInAtDevIdp(url, 'ann', REDIRECT), 'browser-1', session);
    expect(stepped.person.authTime).toBe(now.toISOString());

    const again = await signIn.begin('acme', 'browser-1', '/console/requests/x', session);
    expect(await reasonOf(signIn.complete(await signInAtDevIdp(again, 'eve', REDIRECT), 'browser-1', session))).toBe('step_up_other_person');
  });
});
