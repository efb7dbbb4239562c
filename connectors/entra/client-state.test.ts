import { describe, expect, it } from 'vitest';
import { Secret } from '../../src/config/load-config.js';
import { clientStateMatches } from './client-state.js';

describe('clientStateMatches', () => {
  const secret = new Secret('s3cret-client-state-value');

  it('accepts the exact secret', () => {
    expect(clientStateMatches(secret, 's3cret-client-state-value')).toBe(true);
  });

  it('refuses a different value of the same length', () => {
    expect(clientStateMatches(secret, 's3cret-client-state-valuX')).toBe(false);
  });

  it('refuses a prefix, an extension and a different case', () => {
    expect(clientStateMatches(secret, 's3cret-client-state')).toBe(false);
    expect(clientStateMatches(secret, 's3cret-client-state-value ')).toBe(false);
    expect(clientStateMatches(secret, 'S3CRET-CLIENT-STATE-VALUE')).toBe(false);
  });

  it('refuses a missing, empty, null or non-string clientState', () => {
    for (const given of [undefined, null, '', 42, ['s3cret-client-state-value'], { value: 's3cret-client-state-value' }])
      expect(clientStateMatches(secret, given)).toBe(false);
  });

  it('never matches an empty value even against an empty secret', () => {
    expect(clientStateMatches(new Secret(''), undefined)).toBe(false);
  });
});
