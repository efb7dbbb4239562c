import { describe, expect, it } from 'vitest';
import { IdentityResolver } from './identity-keys.js';

describe('identity keys', () => {
  const plain = new IdentityResolver();

  it('are the login / UPN / email, case-insensitive, the same across IdPs', () => {
    expect(plain.keyOf({ id: '00u1', login: 'Alice@Acme.example' }, 'okta')).toBe('alice@acme.example');
    expect(plain.keyOf({ id: '5f1c-…', login: ' ALICE@acme.EXAMPLE ' }, 'entra')).toBe('alice@acme.example');
    expect(plain.keyOf({ id: 'x', email: 'mailto:alice@acme.example' }, 'm365')).toBe('alice@acme.example');
  });

  it('prefer an address: a login that is not one loses to the email', () => {
    expect(plain.keyOf({ id: '00u1', login: 'alice', email: 'Alice@acme.example' }, 'okta')).toBe('alice@acme.example');
    expect(plain.keyOf({ id: '00u1', login: 'alice' }, 'okta')).toBe('alice');
  });

  it('fall back to <idp>:<id> for a principal with no name', () => {
    expect(plain.keyOf({ id: 'sp-1' }, 'entra')).toBe('entra:sp-1');
  });

  it('apply domain aliases and identity aliases from the tenant config', () => {
    const ids = new IdentityResolver({
      domains: { 'acme.onmicrosoft.com': 'acme.example' },
      aliases: { 'bob@acme.example': ['robert.smith@acme.example', 'entra:7f3c-AB'] },
    });
    expect(ids.keyOf({ id: '1', login: 'Carol@ACME.onmicrosoft.com' }, 'entra')).toBe('carol@acme.example');
    expect(ids.keyOf({ id: '2', login: 'Robert.Smith@acme.example' }, 'okta')).toBe('bob@acme.example');
    expect(ids.keyOf({ id: '7f3c-AB' }, 'entra')).toBe('bob@acme.example');
    expect(ids.keyOf({ id: '3', login: 'robert.smith@acme.onmicrosoft.com' }, 'm365')).toBe('bob@acme.example');
    expect(ids.keyOf({ id: '7f3c-AB' }, 'okta')).toBe('okta:7f3c-AB');
  });
});
