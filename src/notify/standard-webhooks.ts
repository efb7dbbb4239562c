import { systemClock } from '../core/clock.js';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { WardenError } from '../core/errors.js';

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com/, spec 1.0):
 * the sender signs `<webhook-id>.<webhook-timestamp>.<body>` with HMAC-SHA256
 * under the endpoint's secret (`whsec_` + base64 key) and sends
 * `webhook-signature: v1,<base64 signature>`. Warden signs its outbound
 * events this way and verifies the callbacks of external identity verifiers
 * the same way.
 */

/** Default replay window: timestamps further than this from now are refused (the spec's recommendation). */
export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

/** The HMAC key of a `whsec_…` secret (a secret without the prefix is taken as base64 too). */
export function webhookKey(secret: string): Buffer {
  const encoded = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  const key = Buffer.from(encoded, 'base64');
  if (key.length < 16) throw new WardenError('ERR_CONFIG_INVALID', 'a webhook secret must be whsec_ followed by base64 of at least 16 random bytes');
  return key;
}

/** `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`. */
export function signWebhook(secret: string, id: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', webhookKey(secret)).update(`${id}.${timestamp}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/** The three headers of a signed delivery. */
export function webhookHeaders(secret: string, id: string, timestamp: number, body: string): Record<string, string> {
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signWebhook(secret, id, timestamp, body) };
}

type HeaderSource = Record<string, string | string[] | undefined> | ((name: string) => string | undefined);

function header(headers: HeaderSource, name: string): string | undefined {
  const value = typeof headers === 'function' ? headers(name) : headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Verifies a signed request: all three headers present, timestamp within the
 * tolerance of `now`, and one of the space-separated `v1,` signatures equal
 * (in constant time) to the one computed over the raw body.
 *
 * @returns the message id (`webhook-id`), for de-duplication
 * @throws WardenError `ERR_AUTH_REQUIRED` (headers missing) or `ERR_AUTH_INVALID` (stale timestamp, bad signature)
 */
export function verifyWebhook(
  secret: string,
  headers: HeaderSource,
  body: string,
  now: Date = systemClock(),
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
): string {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures)
    throw new WardenError('ERR_AUTH_REQUIRED', 'signed request required: webhook-id, webhook-timestamp and webhook-signature headers');
  if (!/^\d{1,12}$/.test(timestamp)) throw new WardenError('ERR_AUTH_INVALID', 'webhook-timestamp must be Unix seconds');
  const age = Math.abs(now.getTime() / 1000 - Number(timestamp));
  if (age > toleranceSeconds)
    throw new WardenError(
      'ERR_AUTH_INVALID',
      `webhook-timestamp is ${Math.round(age)} s away from now (more than ${toleranceSeconds} s): replayed or clock skew`,
    );
  const expected = Buffer.from(signWebhook(secret, id, Number(timestamp), body).slice(3), 'base64');
  for (const candidate of signatures.split(' ')) {
    const [version, value] = candidate.split(',', 2);
    if (version !== 'v1' || !value) continue;
    const presented = Buffer.from(value, 'base64');
    if (presented.length === expected.length && timingSafeEqual(presented, expected)) return id;
  }
  throw new WardenError('ERR_AUTH_INVALID', 'webhook-signature does not match the body');
}
