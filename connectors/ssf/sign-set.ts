import { createHash } from 'node:crypto';
import { SignJWT } from 'jose';
import { SET_TYP } from './event-types.js';
import type { LoadedKey } from './signing-keys.js';

/**
 * Signs a SET (RFC 8417) as SSF 1.0 "Security Event Token Profile" profiles it: JWS RS256 with header
 * `typ: secevent+jwt` and the key's `kid`; claims `iss`, `aud`, `jti`, `iat`
 * (the signing time), `txn`, `sub_id` and one event in `events`; never `sub`
 * or `exp` (SSF 1.0 "SSF Event Subject", "The exp Claim").
 */
export async function signSet(claims: Record<string, unknown>, key: LoadedKey, now: Date): Promise<string> {
  const { sub: _sub, exp: _exp, ...rest } = claims;
  return new SignJWT({ ...rest, iat: Math.floor(now.getTime() / 1000) }).setProtectedHeader({ alg: 'RS256', typ: SET_TYP, kid: key.kid }).sign(key.privateKey);
}

/** A stable `jti` for one event of one audit record on one stream: a retried queueing step queues nothing twice. */
export function setJti(streamId: string, recordId: string, eventType: string): string {
  return createHash('sha256').update(`${streamId}\u0000${recordId}\u0000${eventType}`).digest('hex').slice(0, 32);
}
