import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { isWardenError } from '../../src/core/errors.js';
import { ssfConnector } from './index.js';
import { activeKey, loadSigningKey, publishedJwks, type LoadedKey } from './signing-keys.js';
import { SsfTenants } from './ssf-tenant.js';

/** The ssf section as configuration: errors name the setting; key windows pick the signing key and the JWKS. */

const pem = (bits = 2048) =>
  generateKeyPairSync('rsa', { modulusLength: bits, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } })
    .privateKey;
const KEY = pem();

function config(ssf: string, env: Record<string, string> = { KEY, TOKEN: 't0ken' }) {
  const dir = mkdtempSync(path.join(tmpdir(), 'warden-ssf-cfg-'));
  writeFileSync(path.join(dir, 'p.yaml'), 'apiVersion: warden/v1\ntenant: acme\nmode: enforce\ndefault: allow\nfailure: hold\nrules: []\n');
  writeFileSync(
    path.join(dir, 'warden.yaml'),
    `tenants:\n  - id: acme\n    policy: p.yaml\n    secrets: { key: { env: KEY }, token: { env: TOKEN } }\n    ssf:\n${ssf.replace(/^/gm, '      ')}\n`,
  );
  return loadConfig({ path: path.join(dir, 'warden.yaml'), env, connectors: [ssfConnector()], resolveSecrets: true });
}

const errorOf = async (fn: () => unknown) => {
  try {
    await fn();
  } catch (err) {
    if (isWardenError(err)) return err;
    throw err;
  }
  throw new Error('no error');
};

describe('ssf configuration', () => {
  const transmitter = (issuer = 'https://warden.example/ssf/acme', extra = '') =>
    `transmitter:\n  issuer: ${issuer}\n  signingKeys: [{ kid: k1, privateKey: key }]\n  receivers: [{ name: okta, token: token, audience: "https://acme.okta.com" }]\n${extra}`;

  it('builds the transmitter with its keys and receivers', async () => {
    const cfg = config(transmitter());
    const t = await new SsfTenants().transmitter(cfg, 'acme');
    expect(t.keys.map((k) => k.kid)).toEqual(['k1']);
    expect(t.receivers[0]!.tokenSecret.reveal()).toBe('t0ken');
  });

  it('refuses an issuer that is not <public URL>/ssf/<tenant>, naming the setting', async () => {
    const err = await errorOf(() => new SsfTenants().find(config(transmitter('https://warden.example/signals')), 'acme'));
    expect(err.code).toBe('ERR_CONFIG_INVALID');
    expect(err.message).toContain('tenants[acme].ssf.transmitter.issuer');
  });

  it("a secret name that is not among the tenant's secrets names the setting", async () => {
    const err = await errorOf(() => new SsfTenants().find(config(transmitter().replace('token: token', 'token: nope')), 'acme'));
    expect(err.message).toContain('ssf.transmitter.receivers[0].token names secret "nope"');
  });

  it("a key that is not an RSA private key, or is short, names the key's setting", async () => {
    const notKey = await errorOf(() => new SsfTenants().transmitter(config(transmitter(), { KEY: 'not a key', TOKEN: 't' }), 'acme'));
    expect(notKey.message).toContain('tenants[acme].ssf.transmitter.signingKeys[0].privateKey (kid "k1")');
    const short = await errorOf(() => new SsfTenants().transmitter(config(transmitter(), { KEY: pem(1024), TOKEN: 't' }), 'acme'));
    expect(short.message).toContain('shorter than 2048 bits');
  });

  it('a receiver entry needs push, poll or both', async () => {
    const err = await errorOf(() =>
      config('receiver:\n  transmitters: [{ name: partner, issuer: "https://idp.example", audience: "https://warden.example" }]'),
    );
    expect(err.code).toBe('ERR_CONFIG_INVALID');
    expect(err.message).toContain('set `push`, `poll` or both');
  });

  it('a tenant without ssf.transmitter is unknown to the transmitter (404)', async () => {
    const err = await errorOf(() =>
      new SsfTenants().transmitter(
        config('receiver:\n  transmitters: [{ name: partner, issuer: "https://idp.example", audience: "a", push: { authorization: token } }]'),
        'acme',
      ),
    );
    expect(err.code).toBe('ERR_TENANT_UNKNOWN');
  });
});

describe('signing key windows', () => {
  let keys: LoadedKey[];
  const load = async () => {
    const { Secret } = await import('../../src/config/load-config.js');
    const k = (kid: string, window: { notBefore?: string; notAfter?: string }, i: number) =>
      loadSigningKey({ kid, privateKey: new Secret(KEY), ...window }, 'acme', i);
    keys = [
      await k('old', { notAfter: '2026-12-01T00:00:00Z' }, 0),
      await k('current', { notBefore: '2026-11-01T00:00:00Z' }, 1),
      await k('next', { notBefore: '2026-12-20T00:00:00Z' }, 2),
    ];
  };

  it('signs with the newest key whose window holds now', async () => {
    await load();
    expect(activeKey(keys, 'acme', new Date('2026-10-15T00:00:00Z')).kid).toBe('old');
    expect(activeKey(keys, 'acme', new Date('2026-11-15T00:00:00Z')).kid).toBe('current');
    expect(activeKey(keys, 'acme', new Date('2026-12-21T00:00:00Z')).kid).toBe('next');
  });

  it('publishes a retired key for the overlap only', async () => {
    await load();
    const kids = (at: string) => publishedJwks(keys, new Date(at), 86_400).keys.map((k) => k.kid);
    expect(kids('2026-12-01T12:00:00Z')).toEqual(['old', 'current', 'next']);
    expect(kids('2026-12-02T00:00:01Z')).toEqual(['current', 'next']);
    expect(publishedJwks(keys, new Date('2026-12-01T12:00:00Z'), 0).keys.every((k) => k.d === undefined)).toBe(true);
  });

  it('no valid key is an error naming the setting and why', async () => {
    await load();
    const err = await errorOf(() => activeKey(keys.slice(0, 1), 'acme', new Date('2026-12-05T00:00:00Z')));
    expect(err.code).toBe('ERR_CONFIG_INVALID');
    expect(err.message).toBe(
      'no SSF signing key is valid at 2026-12-05T00:00:00.000Z: "old" expired at 2026-12-01T00:00:00.000Z; add a key to tenants[acme].ssf.transmitter.signingKeys (or extend its notAfter)',
    );
    expect((await errorOf(() => activeKey(keys.slice(2), 'acme', new Date('2026-12-05T00:00:00Z')))).message).toContain(
      '"next" starts at 2026-12-20T00:00:00.000Z',
    );
  });
});
