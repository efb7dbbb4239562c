import { describe, expect, it } from 'vitest';
import { isWardenError } from '../core/errors.js';
import { signWebhook, verifyWebhook, webhookHeaders } from './standard-webhooks.js';

// The Standard Webhooks specification's published test vector (standard-webhooks/standard-webhooks,
// also in svix's libraries): any receiver library that passes it verifies Warden's deliveries.
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const TS = 1614265330;
const BODY = '{"test": 2432232314}';
const SIGNATURE = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';
const AT = new Date(TS * 1000);

const codeOf = (fn: () => unknown) => {
  try {
    fn();
    return 'ok';
  } catch (err) {
    return isWardenError(err) ? err.code : String(err);
  }
};

describe('Standard Webhooks signatures', () => {
  it('reproduces the specification test vector', () => {
    expect(signWebhook(SECRET, ID, TS, BODY)).toBe(SIGNATURE);
    expect(webhookHeaders(SECRET, ID, TS, BODY)).toEqual({ 'webhook-id': ID, 'webhook-timestamp': String(TS), 'webhook-signature': SIGNATURE });
  });

  it('verifies a good delivery and returns its id', () => {
    expect(verifyWebhook(SECRET, { 'webhook-id': ID, 'webhook-timestamp': String(TS), 'webhook-signature': SIGNATURE }, BODY, AT)).toBe(ID);
  });

  it('accepts when one of several signatures matches (key rotation)', () => {
    expect(verifyWebhook(SECRET, { 'webhook-id': ID, 'webhook-timestamp': String(TS), 'webhook-signature': `v1,AAAA ${SIGNATURE}` }, BODY, AT)).toBe(ID);
  });

  const headers = (patch: Record<string, string | undefined> = {}) => ({
    'webhook-id': ID,
    'webhook-timestamp': String(TS),
    'webhook-signature': SIGNATURE,
    ...patch,
  });

  it('refuses a missing header', () => {
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature'])
      expect(codeOf(() => verifyWebhook(SECRET, headers({ [name]: undefined }), BODY, AT))).toBe('ERR_AUTH_REQUIRED');
  });

  it('refuses the wrong secret', () => {
    expect(codeOf(() => verifyWebhook('whsec_' + Buffer.alloc(24, 7).toString('base64'), headers(), BODY, AT))).toBe('ERR_AUTH_INVALID');
  });

  it('refuses a changed body', () => {
    expect(codeOf(() => verifyWebhook(SECRET, headers(), '{"test": 2432232315}', AT))).toBe('ERR_AUTH_INVALID');
  });

  it('refuses a replay outside the tolerance, and a timestamp from the future', () => {
    expect(codeOf(() => verifyWebhook(SECRET, headers(), BODY, new Date(AT.getTime() + 301_000)))).toBe('ERR_AUTH_INVALID');
    expect(codeOf(() => verifyWebhook(SECRET, headers(), BODY, new Date(AT.getTime() - 301_000)))).toBe('ERR_AUTH_INVALID');
    expect(codeOf(() => verifyWebhook(SECRET, headers(), BODY, new Date(AT.getTime() + 299_000)))).toBe('ok');
  });

  it('refuses another id or timestamp with the same signature, and unknown signature versions', () => {
    expect(codeOf(() => verifyWebhook(SECRET, headers({ 'webhook-id': 'msg_other' }), BODY, AT))).toBe('ERR_AUTH_INVALID');
    expect(codeOf(() => verifyWebhook(SECRET, headers({ 'webhook-timestamp': String(TS + 1) }), BODY, AT))).toBe('ERR_AUTH_INVALID');
    expect(codeOf(() => verifyWebhook(SECRET, headers({ 'webhook-signature': SIGNATURE.replace('v1,', 'v2,') }), BODY, AT))).toBe('ERR_AUTH_INVALID');
    expect(codeOf(() => verifyWebhook(SECRET, headers({ 'webhook-timestamp': 'yesterday' }), BODY, AT))).toBe('ERR_AUTH_INVALID');
  });

  it('refuses a secret too short to be one', () => {
    expect(codeOf(() => signWebhook('whsec_c2hvcnQ=', ID, TS, BODY))).toBe('ERR_CONFIG_INVALID');
  });
});
