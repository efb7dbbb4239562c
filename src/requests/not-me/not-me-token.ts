import { createHmac, timingSafeEqual } from 'node:crypto';
import { WardenError } from '../../core/errors.js';

/**
 * The signed token of a "this wasn't me" link: `<payload>.<mac>`, both
 * base64url; the MAC is HMAC-SHA256 under the tenant's `notifications.notMe.secret`
 * over a domain-separated string, so the token is useless anywhere else. The
 * payload names the stored link (single use), the person, what it is about
 * and when it stops working.
 */
export interface NotMePayload {
  /** Tenant. */
  t: string;
  /** Link id (the stored row). */
  l: string;
  /** Person (IdP user id) it was sent to. */
  p: string;
  /** What it is about: `request` or `change`. */
  k: 'request' | 'change';
  /** The request or change id. */
  s: string;
  /** Expiry, seconds since the epoch. */
  e: number;
}

const DOMAIN = 'warden-not-me-v1.';

function mac(key: string, payload: string): Buffer {
  return createHmac('sha256', key)
    .update(DOMAIN + payload)
    .digest();
}

/** Signs a link payload. */
export function signNotMeToken(payload: NotMePayload, key: string): string {
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${body}.${mac(key, body).toString('base64url')}`;
}

/** The tenant a token claims, before it is verified (to pick the key). @throws WardenError `ERR_LINK_INVALID` */
export function tokenTenant(token: string): string {
  return readPayload(token).t;
}

function readPayload(token: string): NotMePayload {
  const invalid = () => new WardenError('ERR_LINK_INVALID', 'this link is not one Warden sent');
  if (token.length > 2048) throw invalid();
  const [body, sig, extra] = token.split('.');
  if (!body || !sig || extra !== undefined) throw invalid();
  let p: unknown;
  try {
    p = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  const o = p as Partial<NotMePayload>;
  if (
    !o ||
    typeof o !== 'object' ||
    typeof o.t !== 'string' ||
    typeof o.l !== 'string' ||
    typeof o.p !== 'string' ||
    (o.k !== 'request' && o.k !== 'change') ||
    typeof o.s !== 'string' ||
    typeof o.e !== 'number'
  )
    throw invalid();
  return o as NotMePayload;
}

/**
 * Verifies a token: the MAC (constant-time), then the expiry on the given
 * clock time. Single use and the binding to the stored link are checked by
 * the caller against the store.
 *
 * @throws WardenError `ERR_LINK_INVALID` (malformed, tampered, another key), `ERR_LINK_EXPIRED`
 */
export function verifyNotMeToken(token: string, key: string, now: Date): NotMePayload {
  const payload = readPayload(token);
  const [body, sig] = token.split('.') as [string, string];
  const given = Buffer.from(sig, 'base64url');
  const expected = mac(key, body);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new WardenError('ERR_LINK_INVALID', 'this link is not one Warden sent');
  if (now.getTime() >= payload.e * 1000) throw new WardenError('ERR_LINK_EXPIRED', 'this link has expired');
  return payload;
}
