import { describe, expect, it } from 'vitest';
import type { WardenError } from '../../core/errors.js';
import { signNotMeToken, tokenTenant, verifyNotMeToken, type NotMePayload } from './not-me-token.js';

const KEY = 'k'.repeat(44);
const NOW = new Date('2026-05-01T10:00:00Z');
const payload: NotMePayload = { t: 'acme', l: 'link1', p: '00u1dana', k: 'request', s: 'r1', e: NOW.getTime() / 1000 + 1800 };

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as WardenError).code;
  }
  return 'no error';
};

describe('"this wasn\'t me" link tokens', () => {
  it('verifies what it signed and returns the payload', () => {
    const token = signNotMeToken(payload, KEY);
    expect(tokenTenant(token)).toBe('acme');
    expect(verifyNotMeToken(token, KEY, NOW)).toEqual(payload);
  });

  it('refuses a changed payload with the signature kept', () => {
    const [, sig] = signNotMeToken(payload, KEY).split('.');
    const other = Buffer.from(JSON.stringify({ ...payload, p: '00u1eve' })).toString('base64url');
    expect(codeOf(() => verifyNotMeToken(`${other}.${sig}`, KEY, NOW))).toBe('ERR_LINK_INVALID');
  });

  it('refuses a changed signature', () => {
    const [body, sig] = signNotMeToken(payload, KEY).split('.') as [string, string];
    expect(codeOf(() => verifyNotMeToken(`${body}.${sig.slice(0, -2)}${sig.endsWith('AA') ? 'BB' : 'AA'}`, KEY, NOW))).toBe('ERR_LINK_INVALID');
    expect(codeOf(() => verifyNotMeToken(`${body}.${sig.slice(0, 10)}`, KEY, NOW))).toBe('ERR_LINK_INVALID');
  });

  it('refuses a token signed with another key', () => {
    expect(codeOf(() => verifyNotMeToken(signNotMeToken(payload, 'x'.repeat(44)), KEY, NOW))).toBe('ERR_LINK_INVALID');
  });

  it('refuses an expired token, at and after its expiry on the given clock', () => {
    const token = signNotMeToken(payload, KEY);
    expect(codeOf(() => verifyNotMeToken(token, KEY, new Date(payload.e * 1000)))).toBe('ERR_LINK_EXPIRED');
    expect(codeOf(() => verifyNotMeToken(token, KEY, new Date(payload.e * 1000 - 1)))).toBe('no error');
  });

  it('refuses malformed tokens: no dot, three parts, not JSON, missing fields, oversized', () => {
    const sig = signNotMeToken(payload, KEY).split('.')[1]!;
    for (const bad of [
      'abc',
      'a.b.c',
      `${Buffer.from('not json').toString('base64url')}.${sig}`,
      `${Buffer.from(JSON.stringify({ t: 'acme' })).toString('base64url')}.${sig}`,
      `${'a'.repeat(3000)}.${sig}`,
    ])
      expect(
        codeOf(() => verifyNotMeToken(bad, KEY, NOW)),
        bad.slice(0, 20),
      ).toBe('ERR_LINK_INVALID');
  });
});
