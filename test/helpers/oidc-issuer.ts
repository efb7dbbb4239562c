import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload, type KeyObject } from 'jose';

/**
 * A local OpenID provider for tests: serves its discovery document and JWKS
 * on 127.0.0.1 and signs tokens as the tenant's IdP would (RS256), plus the
 * forgeries the failure-mode tests need (unpublished key, `alg: none`).
 */
export interface TestIssuer {
  issuer: string;
  audience: string;
  /** A signed token with sensible defaults (expires in 1 h, authenticated now with MFA) and `claims` on top. */
  token(claims: JWTPayload & Record<string, unknown>, options?: { now?: Date; expiresIn?: number; key?: 'published' | 'unpublished' }): Promise<string>;
  /** An unsigned token (`alg: none`) with the same claims. */
  unsigned(claims: JWTPayload & Record<string, unknown>, options?: { now?: Date }): string;
  close(): Promise<void>;
}

export async function startTestIssuer(audience = 'api://warden'): Promise<TestIssuer> {
  const published = await generateKeyPair('RS256', { extractable: true });
  const unpublished = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(published.publicKey)), kid: 'test-key-1', alg: 'RS256', use: 'sig' };
  let issuer = '';
  const server = http.createServer((req, res) => {
    if (req.url === '/oauth2/default/.well-known/openid-configuration') {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ issuer, jwks_uri: `${issuer}/v1/keys`, authorization_endpoint: `${issuer}/v1/authorize`, token_endpoint: `${issuer}/v1/token` }));
    } else if (req.url === '/oauth2/default/v1/keys') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth2/default`;
  const base = (claims: JWTPayload & Record<string, unknown>, now: Date, expiresIn: number) => ({
    iss: issuer,
    aud: audience,
    iat: Math.floor(now.getTime() / 1000),
    exp: Math.floor(now.getTime() / 1000) + expiresIn,
    auth_time: Math.floor(now.getTime() / 1000),
    amr: ['pwd', 'mfa', 'okta_verify'],
    ...claims,
  });
  return {
    issuer,
    audience,
    async token(claims, options = {}) {
      const now = options.now ?? new Date();
      const key = (options.key ?? 'published') === 'published' ? published.privateKey : unpublished.privateKey;
      return new SignJWT(base(claims, now, options.expiresIn ?? 3600))
        .setProtectedHeader({ alg: 'RS256', kid: 'test-key-1', typ: 'JWT' })
        .sign(key as KeyObject);
    },
    unsigned(claims, options = {}) {
      const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
      return `${enc({ alg: 'none', typ: 'JWT' })}.${enc(base(claims, options.now ?? new Date(), 3600))}.`;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
