import { describe, expect, it } from 'vitest';
import { domainAliases, nameKey, nameVariants, spellName } from './person-name.js';

describe('spellName: one spelling per name', () => {
  it('trims white space, including a trailing space after an id', () => {
    expect(spellName('00u1bob ')).toBe('00u1bob');
    expect(spellName('\t bob.approver@acme.example\n')).toBe('bob.approver@acme.example');
  });

  it('folds full-width characters (NFKC)', () => {
    expect(spellName('ｂｏｂ．ａｐｐｒｏｖｅｒ＠ａｃｍｅ．ｅｘａｍｐｌｅ')).toBe('bob.approver@acme.example');
    expect(spellName('００ｕ１ｂｏｂ')).toBe('00u1bob');
  });

  it('drops the trailing dot of a fully qualified domain', () => {
    expect(spellName('bob.approver@acme.example.')).toBe('bob.approver@acme.example');
    expect(spellName('bob.approver@acme.example..')).toBe('bob.approver@acme.example');
  });

  it('lower-cases logins (case-insensitive in Okta and Entra) but keeps the case of ids (Okta ids are case-sensitive)', () => {
    expect(spellName('Bob.Approver@ACME.Example')).toBe('bob.approver@acme.example');
    expect(spellName('00uAbC123')).toBe('00uAbC123');
    expect(nameKey('00uAbC123')).toBe('00uabc123');
  });

  it('removes zero-width characters and a mailto: prefix', () => {
    expect(spellName('bob\u200B.approver@acme.example')).toBe('bob.approver@acme.example');
    expect(spellName('mailto:Bob.Approver@acme.example')).toBe('bob.approver@acme.example');
  });
});

describe('nameVariants: domain aliases both ways', () => {
  const domains = domainAliases({ 'ACME.onmicrosoft.com.': 'acme.com' });

  it('adds the aliased domain of a login', () => {
    expect(nameVariants('x@acme.onmicrosoft.com', domains)).toEqual(['x@acme.onmicrosoft.com', 'x@acme.com']);
  });

  it("adds the domains that alias to a login's domain", () => {
    expect(nameVariants('x@acme.com', domains)).toEqual(['x@acme.com', 'x@acme.onmicrosoft.com']);
  });

  it('leaves ids and unaliased domains alone', () => {
    expect(nameVariants('00u1bob', domains)).toEqual(['00u1bob']);
    expect(nameVariants('x@other.example', domains)).toEqual(['x@other.example']);
    expect(nameVariants('x@acme.com', domainAliases({}))).toEqual(['x@acme.com']);
  });
});
