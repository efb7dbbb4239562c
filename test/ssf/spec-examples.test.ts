import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setToChanges } from '../../connectors/ssf/map-set.js';
import { SetVerificationError, transmitterKeys, verifySet, type SetExpectations } from '../../connectors/ssf/verify-set.js';
import { packageRoot } from '../../src/package-root.js';

/**
 * The example SETs of the CAEP 1.0, RISC 1.0 and SSF 1.0 specifications
 * (test/fixtures/ssf, verbatim, PROVENANCE.md) through Warden's receiver:
 * verified and mapped to identity changes. The specifications publish the
 * claims unsigned, so each is signed here with a test RSA key served as a
 * JWKS on 127.0.0.1; `iss`, `aud` and `iat` are set to the test
 * transmitter's and the test clock's, everything else is the spec's.
 */

const DIR = path.join(packageRoot(), 'test', 'fixtures', 'ssf');
/** The fixture's claims; the RISC account-disabled example's one trailing comma (a typo in the spec) is removed here, not in the file. */
const example = (file: string) =>
  JSON.parse(readFileSync(path.join(DIR, file), 'utf8').replace('"sub": "7375626A656374",\n  }', '"sub": "7375626A656374"\n  }')) as Record<string, unknown>;

const NOW = new Date('2026-12-01T09:00:00Z');
const ISSUER = 'https://transmitter.example/ssf/acme';
const AUDIENCE = 'https://warden.example/ssf';
let server: http.Server;
let key: CryptoKey;
let expect_: SetExpectations;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  key = pair.privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'spec-test', alg: 'RS256', use: 'sig' };
  server = http.createServer((_q, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  expect_ = {
    issuer: ISSUER,
    audience: AUDIENCE,
    algorithms: ['RS256'],
    maxAgeSeconds: 300,
    clockToleranceSeconds: 60,
    now: NOW,
    keys: transmitterKeys(`http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`),
  };
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** Signs a spec example as the test transmitter and runs it through verification and mapping. */
async function receive(file: string) {
  const claims = { ...example(file), iss: ISSUER, aud: AUDIENCE, iat: Math.floor(NOW.getTime() / 1000) - 2 };
  const token = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'secevent+jwt', kid: 'spec-test' }).sign(key);
  const set = await verifySet(token, expect_);
  return setToChanges(set, { tenant: 'acme', transmitter: 'partner', via: 'push', receivedAt: NOW });
}

describe('CAEP 1.0 examples', () => {
  it('credential-change (a FIDO2 authenticator enrolled by the user) → factor.enroll of a webauthn factor, self-service', async () => {
    const result = await receive('caep-credential-change-example-fido2.json');
    expect('changes' in result).toBe(true);
    const [change] = (result as { changes: Array<Record<string, unknown>> }).changes;
    expect(change).toMatchObject({
      tenant: 'acme',
      kind: 'factor.enroll',
      channel: 'self_service',
      factor: { type: 'webauthn', name: "Jane's USB authenticator" },
      target: { id: 'jane.smith@example.com', login: 'jane.smith@example.com', email: 'jane.smith@example.com' },
      actor: { id: 'jane.smith@example.com', type: 'user' },
      occurredAt: '2021-03-09T15:49:51.000Z', // event_timestamp 1615304991
      source: {
        idp: 'partner',
        eventIds: ['07efd930f0977e4fcc1149a733ce7f78'],
        rawType: 'https://schemas.openid.net/secevent/caep/event-type/credential-change',
        via: 'ssf',
      },
      context: { ssfCredentialType: 'fido2-roaming', ssfVia: 'push' },
    });
  });

  it.each(['caep-session-revoked-example-session-id-req.json', 'caep-session-revoked-example-user-sub.json', 'caep-session-revoked-example-user-device.json'])(
    'session-revoked (%s) is accepted and kept, not decided',
    async (file) => {
      expect(await receive(file)).toEqual({ ignored: expect.stringContaining('session-revoked') });
    },
  );
});

describe('RISC 1.0 examples', () => {
  it('account-disabled (reason hijacking, iss_sub subject) → account.suspend of that subject', async () => {
    const result = (await receive('risc-account-disabled-example.json')) as { changes: Array<Record<string, unknown>> };
    expect(result.changes[0]).toMatchObject({
      kind: 'account.suspend',
      channel: 'system',
      target: { id: '7375626A656374' },
      actor: { id: 'ssf:partner', type: 'system' },
      context: { ssfReason: 'hijacking' },
    });
    expect(result.changes[0]!.occurredAt).toBe(new Date((Math.floor(NOW.getTime() / 1000) - 2) * 1000).toISOString()); // no event_timestamp: iat
  });

  it('identifier-changed (email subject, new-value) → recovery.update of the old address, the new one in context', async () => {
    const result = (await receive('risc-identifier-changed-example.json')) as { changes: Array<Record<string, unknown>> };
    expect(result.changes[0]).toMatchObject({
      kind: 'recovery.update',
      target: { id: 'john.doe@example.com', email: 'john.doe@example.com' },
      context: { newIdentifier: 'john.roe@example.com' },
    });
  });

  it('account-credential-change-required is not an event Warden receives: refused as an unknown event type', async () => {
    const err = await receive('risc-account-credential-change-required-example.json').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SetVerificationError);
    expect((err as SetVerificationError).reason).toBe('event_type');
  });
});

describe('SSF 1.0 example', () => {
  it('the verification event is accepted and kept, not decided', async () => {
    expect(await receive('ssf-figverifyset.json')).toEqual({ ignored: 'SSF verification event' });
  });
});

describe("Okta's SSF transmitter SETs (test/fixtures/ssf/okta-transmitter)", () => {
  const okta = (name: string) => receive(path.join('okta-transmitter', `ssf-set-caep-${name}.json`));
  const only = async (name: string) => ((await okta(name)) as { changes: Array<Record<string, unknown>> }).changes[0]!;
  const common = {
    channel: 'self_service',
    target: { id: 'okta-user-id1' },
    occurredAt: '2021-03-09T15:49:51.000Z', // event_timestamp 1615304991643: milliseconds
    source: { idp: 'partner', via: 'ssf' },
  };

  it.each([
    ['credential-change-user.account.reset_password', { kind: 'password.reset', factor: { type: 'password' } }],
    ['credential-change-user.mfa.factor.activate', { kind: 'factor.enroll', factor: { type: 'webauthn' } }],
    ['credential-change-user.mfa.factor.deactivate', { kind: 'factor.remove', factor: { type: 'other' }, context: { ssfCredentialType: 'x509' } }],
    ['credential-change-user.mfa.factor.suspend', { kind: 'factor.update', factor: { type: 'other' }, context: { ssfCredentialType: 'OKTA_VERIFY_PUSH' } }],
    ['credential-change-user.mfa.factor.update', { kind: 'factor.update', factor: { type: 'other' }, context: { ssfCredentialType: 'DUO_SECURITY' } }],
  ])('%s: subject inside the event, time in milliseconds', async (name, want) => {
    expect(await only(name)).toMatchObject({ ...common, ...want });
  });

  it('credential-change for user.mfa.factor.reset_all (ALL_FACTORS) → factor.reset_all, no single factor', async () => {
    const change = await only('credential-change-user.mfa.factor.reset_all');
    expect(change).toMatchObject({ ...common, kind: 'factor.reset_all' });
    expect(change.factor).toBeUndefined();
  });

  it('session-revoked for user.session.end is kept, not decided', async () => {
    expect(await okta('session-revoked-user.session.end')).toEqual({ ignored: expect.stringContaining('session-revoked') });
  });
});
