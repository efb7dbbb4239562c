import { exportJWK, importJWK, importPKCS8, type CryptoKey, type JWK } from 'jose';
import { WardenError } from '../../src/core/errors.js';
import type { Secret } from '../../src/connector/index.js';

/**
 * The transmitter's RS256 signing keys (`ssf.transmitter.signingKeys`) and
 * their rotation: the newest key inside its validity window signs; every key
 * not yet past `notAfter` + `keyOverlapSeconds` is published in the JWKS, so
 * a receiver that fetched the JWKS before a rotation still finds the key of a
 * SET signed just before it (and one that sees an unknown `kid` re-fetches).
 */

export interface SigningKeyConfig {
  kid: string;
  privateKey: Secret;
  notBefore?: string;
  notAfter?: string;
}

export interface LoadedKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  notBefore?: Date;
  notAfter?: Date;
}

/** Where a tenant's keys are configured, for error messages. */
export const signingKeysSetting = (tenant: string) => `tenants[${tenant}].ssf.transmitter.signingKeys`;

/** Imports one configured key (PKCS#8 PEM or a private JWK as JSON) and derives its public JWK. */
export async function loadSigningKey(key: SigningKeyConfig, tenant: string, index: number): Promise<LoadedKey> {
  const setting = `${signingKeysSetting(tenant)}[${index}].privateKey`;
  const text = key.privateKey.reveal().trim();
  let privateKey: CryptoKey;
  try {
    if (text.startsWith('{')) {
      const jwk = JSON.parse(text) as JWK;
      if (jwk.kty !== 'RSA' || !jwk.d) throw new WardenError('ERR_CONFIG_INVALID', 'not a private RSA JWK');
      privateKey = (await importJWK(jwk, 'RS256', { extractable: true })) as CryptoKey;
    } else privateKey = await importPKCS8(text, 'RS256', { extractable: true });
  } catch (err) {
    throw new WardenError(
      'ERR_CONFIG_INVALID',
      `${setting} (kid "${key.kid}") is not an RSA private key in PKCS#8 PEM or JWK form: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const full = await exportJWK(privateKey);
  const publicJwk: JWK = { kty: 'RSA', n: full.n!, e: full.e!, kid: key.kid, alg: 'RS256', use: 'sig' };
  if (Buffer.from(full.n!, 'base64url').length * 8 < 2048)
    throw new WardenError('ERR_CONFIG_INVALID', `${setting} (kid "${key.kid}") is shorter than 2048 bits`);
  return {
    kid: key.kid,
    privateKey,
    publicJwk,
    ...(key.notBefore ? { notBefore: new Date(key.notBefore) } : {}),
    ...(key.notAfter ? { notAfter: new Date(key.notAfter) } : {}),
  };
}

/**
 * The key that signs at `now`: among the keys whose window holds `now`, the
 * one that started last (a key without `notBefore` counts as oldest).
 *
 * @throws WardenError `ERR_CONFIG_INVALID` naming `signingKeys` when no key is valid (all expired, or none started yet)
 */
export function activeKey(keys: readonly LoadedKey[], tenant: string, now: Date): LoadedKey {
  const t = now.getTime();
  const valid = keys.filter((k) => (!k.notBefore || k.notBefore.getTime() <= t) && (!k.notAfter || t < k.notAfter.getTime()));
  if (valid.length === 0) {
    const why = keys
      .map((k) =>
        k.notAfter && k.notAfter.getTime() <= t ? `"${k.kid}" expired at ${k.notAfter.toISOString()}` : `"${k.kid}" starts at ${k.notBefore?.toISOString()}`,
      )
      .join(', ');
    throw new WardenError(
      'ERR_CONFIG_INVALID',
      `no SSF signing key is valid at ${now.toISOString()}: ${why}; add a key to ${signingKeysSetting(tenant)} (or extend its notAfter)`,
    );
  }
  return valid.reduce((a, b) => ((b.notBefore?.getTime() ?? 0) >= (a.notBefore?.getTime() ?? 0) ? b : a));
}

/** The JWKS to publish at `now`: every key not retired longer than `overlapSeconds` ago. */
export function publishedJwks(keys: readonly LoadedKey[], now: Date, overlapSeconds: number): { keys: JWK[] } {
  const t = now.getTime();
  return { keys: keys.filter((k) => !k.notAfter || t < k.notAfter.getTime() + overlapSeconds * 1000).map((k) => k.publicJwk) };
}
