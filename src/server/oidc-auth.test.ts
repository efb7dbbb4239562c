import { fixedClock } from '../core/clock.js';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultDetection, type ResolvedTenant } from '../config/load-config.js';
import { OidcConfig } from '../config/workflow-config-schema.js';
import { isWardenError } from '../core/errors.js';
import { startTestIssuer, type TestIssuer } from '../../test/helpers/oidc-issuer.js';
import { looksLikeJwt, OidcVerifier } from './oidc-auth.js';

const tenant = (id: string, oidc: unknown): ResolvedTenant => ({
  id,
  policyFile: '/dev/null',
  secrets: {},
  secretRefs: {},
  connectors: {},
  oidc: OidcConfig.parse(oidc),
  detection: defaultDetection(),
});
const codeOf = async (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (err: unknown) => (isWardenError(err) ? err.code : String(err)),
  );

describe('OidcVerifier', () => {
  let issuer: TestIssuer;
  beforeAll(async () => {
    issuer = await startTestIssuer();
  });
  afterAll(() => issuer?.close());

  it("maps groups to roles, collects the person's names, and reads auth_time and amr", async () => {
    // The token is issued at a fixed instant; the verifier checks it on the same clock, not on today's date.
    const at = new Date(1_800_000_000_000);
    const v = new OidcVerifier(
      [tenant('acme', { issuer: issuer.issuer, audience: issuer.audience, roles: { approver: ['iam-approvers'], auditor: ['audit'] } })],
      { clock: fixedClock(at) },
    );
    const person = await v.verify(
      await issuer.token(
        {
          sub: '00u1ann',
          preferred_username: 'Ann@Acme.example',
          email: 'ann@acme.example',
          name: 'Ann',
          groups: ['iam-approvers', 'Everyone'],
          auth_time: 1_800_000_000,
        },
        { now: at },
      ),
    );
    expect(person).toEqual({
      type: 'user',
      tenant: 'acme',
      subject: '00u1ann',
      names: ['ann@acme.example'],
      displayName: 'Ann',
      groups: ['iam-approvers', 'Everyone'],
      roles: ['approver'],
      authTime: new Date(1_800_000_000_000),
      amr: ['pwd', 'mfa', 'okta_verify'],
    });
  });

  it('takes the subject from the configured claim (Entra: oid), and refuses a token without it', async () => {
    const v = new OidcVerifier([tenant('acme', { issuer: issuer.issuer, audience: issuer.audience, subjectClaim: 'oid' })]);
    expect((await v.verify(await issuer.token({ sub: 'pairwise-xyz', oid: '6f1c0d1e-0000-4000-8000-000000000001' }))).subject).toBe(
      '6f1c0d1e-0000-4000-8000-000000000001',
    );
    expect(await codeOf(v.verify(await issuer.token({ sub: 'pairwise-xyz' })))).toBe('ERR_AUTH_INVALID');
  });

  it('picks the tenant by issuer and audience when several share an IdP', async () => {
    const v = new OidcVerifier([
      tenant('acme', { issuer: issuer.issuer, audience: issuer.audience }),
      tenant('globex', { issuer: issuer.issuer, audience: 'api://globex' }),
    ]);
    expect((await v.verify(await issuer.token({ sub: 'u1', aud: 'api://globex' }))).tenant).toBe('globex');
    expect((await v.verify(await issuer.token({ sub: 'u1' }))).tenant).toBe('acme');
  });

  it("answers ERR_UPSTREAM when the IdP's keys cannot be found, and refuses a discovery document naming another issuer", async () => {
    const down = new OidcVerifier([tenant('acme', { issuer: issuer.issuer, audience: issuer.audience, jwksUri: 'http://127.0.0.1:9/keys' })]);
    expect(await codeOf(down.verify(await issuer.token({ sub: 'u1' })))).toBe('ERR_UPSTREAM');
    const liar = http.createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer: 'https://other.example', jwks_uri: 'http://127.0.0.1:9/k' })),
    );
    await new Promise<void>((resolve) => liar.listen(0, '127.0.0.1', resolve));
    try {
      const iss = `http://127.0.0.1:${(liar.address() as AddressInfo).port}`;
      const v = new OidcVerifier([tenant('acme', { issuer: iss, audience: issuer.audience })]);
      expect(await codeOf(v.verify(await issuer.token({ sub: 'u1', iss })))).toBe('ERR_UPSTREAM');
    } finally {
      liar.close();
    }
  });

  it('refuses malformed bearer tokens and tells JWTs from API keys', async () => {
    const v = new OidcVerifier([tenant('acme', { issuer: issuer.issuer, audience: issuer.audience })]);
    expect(await codeOf(v.verify('a.b.c'))).toBe('ERR_AUTH_INVALID');
    expect(looksLikeJwt('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln')).toBe(true);
    expect(looksLikeJwt('wdn_0123456789ab_' + 'a'.repeat(43))).toBe(false);
  });
});
