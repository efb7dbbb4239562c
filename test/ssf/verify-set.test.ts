import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAEP_CREDENTIAL_CHANGE } from '../../connectors/ssf/event-types.js';
import { SetVerificationError, transmitterKeys, verifySet, type SetExpectations, type SetFailure } from '../../connectors/ssf/verify-set.js';

/**
 * SET verification (connectors/ssf/verify-set.ts): one test per failure mode,
 * each asserting which check failed and the RFC 8935 error code the receiver
 * answers. The transmitter's JWKS is served over HTTP on 127.0.0.1, so the
 * unknown-kid case exercises the real re-fetch.
 */

const NOW = new Date('2026-12-01T09:00:00Z');
const ISSUER = 'https://transmitter.example/ssf/acme';
const AUDIENCE = 'https://warden.example/ssf/acme';
const nowSec = Math.floor(NOW.getTime() / 1000);

let server: http.Server;
let jwksUrl: string;
let key: CryptoKey;
let otherKey: CryptoKey;
let published: JWK[];
let fetches = 0;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  key = pair.privateKey;
  otherKey = (await generateKeyPair('RS256')).privateKey;
  published = [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }];
  server = http.createServer((_req, res) => {
    fetches++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: published }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const claims = (over: Record<string, unknown> = {}) => ({
  iss: ISSUER,
  aud: AUDIENCE,
  jti: 'a1b2c3',
  iat: nowSec - 5,
  sub_id: { format: 'email', email: 'jane@acme.example' },
  events: { [CAEP_CREDENTIAL_CHANGE]: { credential_type: 'phone-sms', change_type: 'create' } },
  ...over,
});
const sign = (c: Record<string, unknown>, header: Record<string, unknown> = {}, k: CryptoKey = key) =>
  new SignJWT(c).setProtectedHeader({ alg: 'RS256', typ: 'secevent+jwt', kid: 'k1', ...header } as { alg: string }).sign(k);
const expectations = (over: Partial<SetExpectations> = {}): SetExpectations => ({
  issuer: ISSUER,
  audience: AUDIENCE,
  algorithms: ['RS256'],
  maxAgeSeconds: 300,
  clockToleranceSeconds: 60,
  now: NOW,
  keys: transmitterKeys(jwksUrl, { cooldownMs: 0 }),
  ...over,
});
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

async function refused(token: string, over: Partial<SetExpectations> = {}): Promise<SetVerificationError> {
  const err = await verifySet(token, expectations(over)).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SetVerificationError);
  return err as SetVerificationError;
}
const failsWith = async (token: string, reason: SetFailure, setErr: string, over: Partial<SetExpectations> = {}) => {
  const err = await refused(token, over);
  expect({ reason: err.reason, setErr: err.setErr }).toEqual({ reason, setErr });
  return err;
};

describe('verifySet', () => {
  it('accepts a well-formed SET signed by the transmitter', async () => {
    const set = await verifySet(await sign(claims()), expectations());
    expect(set.jti).toBe('a1b2c3');
    expect(Object.keys(set.events)).toEqual([CAEP_CREDENTIAL_CHANGE]);
  });

  it('accepts aud as an array that names Warden', async () => {
    await expect(verifySet(await sign(claims({ aud: ['https://someone.else', AUDIENCE] })), expectations())).resolves.toBeTruthy();
  });

  it('refuses a bad signature (signed by another key under the same kid)', async () => {
    await failsWith(await sign(claims(), {}, otherKey), 'signature', 'authentication_failed');
  });

  it('refuses a SET whose claims were changed after signing', async () => {
    const [h, , s] = (await sign(claims())).split('.');
    await failsWith(`${h}.${b64(claims({ aud: AUDIENCE, jti: 'forged' }))}.${s}`, 'signature', 'authentication_failed');
  });

  it('refuses an unknown kid, after fetching the JWKS again', async () => {
    const keys = transmitterKeys(jwksUrl, { cooldownMs: 0 });
    await verifySet(await sign(claims()), expectations({ keys })); // JWKS fetched and cached
    const before = fetches;
    await failsWith(await sign(claims(), { kid: 'k-unknown' }), 'unknown_kid', 'invalid_key', { keys });
    expect(fetches).toBeGreaterThan(before); // the unknown kid made it look again
  });

  it('finds a key the transmitter added after the JWKS was cached (rotation)', async () => {
    const keys = transmitterKeys(jwksUrl, { cooldownMs: 0 });
    await verifySet(await sign(claims()), expectations({ keys }));
    const next = await generateKeyPair('RS256', { extractable: true });
    published = [...published, { ...(await exportJWK(next.publicKey)), kid: 'k2', alg: 'RS256', use: 'sig' }];
    try {
      await expect(verifySet(await sign(claims(), { kid: 'k2' }, next.privateKey), expectations({ keys }))).resolves.toBeTruthy();
    } finally {
      published = published.slice(0, 1);
    }
  });

  it('refuses a wrong iss', async () => {
    await failsWith(await sign(claims({ iss: 'https://evil.example/ssf/acme' })), 'issuer', 'invalid_issuer');
  });

  it('refuses a wrong aud', async () => {
    await failsWith(await sign(claims({ aud: 'https://another-receiver.example' })), 'audience', 'invalid_audience');
  });

  it('refuses an iat older than maxAgeSeconds', async () => {
    await failsWith(await sign(claims({ iat: nowSec - 301 })), 'iat_old', 'invalid_request');
  });

  it('refuses an iat in the future beyond the tolerance', async () => {
    await failsWith(await sign(claims({ iat: nowSec + 61 })), 'iat_future', 'invalid_request');
  });

  it('accepts an iat within the tolerance either side', async () => {
    await expect(verifySet(await sign(claims({ iat: nowSec + 59 })), expectations())).resolves.toBeTruthy();
    await expect(verifySet(await sign(claims({ iat: nowSec - 299 })), expectations())).resolves.toBeTruthy();
  });

  it('refuses a wrong typ (a plain JWT)', async () => {
    await failsWith(await sign(claims(), { typ: 'JWT' }), 'typ', 'invalid_request');
  });

  it('refuses a missing typ', async () => {
    const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).sign(key);
    await failsWith(token, 'typ', 'invalid_request');
  });

  it('refuses alg none (an unsecured JWS)', async () => {
    await failsWith(`${b64({ alg: 'none', typ: 'secevent+jwt' })}.${b64(claims())}.`, 'alg', 'invalid_key');
  });

  it("refuses HS256, even keyed with the transmitter's public key (algorithm confusion)", async () => {
    const secret = new TextEncoder().encode(JSON.stringify(published[0]));
    const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', typ: 'secevent+jwt', kid: 'k1' }).sign(secret);
    await failsWith(token, 'alg', 'invalid_key');
  });

  it('refuses an event type Warden does not receive', async () => {
    await failsWith(await sign(claims({ events: { 'https://schemas.example.com/secevent/made-up': {} } })), 'event_type', 'invalid_request');
  });

  it('refuses a SET with no events', async () => {
    await failsWith(await sign(claims({ events: {} })), 'claims', 'invalid_request');
  });

  it('refuses exp or sub, which SSF SETs never carry', async () => {
    await failsWith(await sign(claims({ exp: nowSec + 600 })), 'claims', 'invalid_request');
    await failsWith(await sign(claims({ sub: 'jane' })), 'claims', 'invalid_request');
  });

  it('refuses a SET without jti', async () => {
    const { jti: _jti, ...rest } = claims();
    await failsWith(await sign(rest), 'claims', 'invalid_request');
  });

  it('refuses malformed JWTs: not three parts, bad base64, header not JSON', async () => {
    for (const token of ['', 'not-a-jwt', 'a.b', 'a.b.c.d', `${Buffer.from('not json').toString('base64url')}.${b64(claims())}.sig`]) {
      const err = await refused(token);
      expect(err.reason).toBe('malformed');
      expect(err.setErr).toBe('invalid_request');
      expect(err.code).toBe('ERR_BODY_MALFORMED');
    }
  });
});
