import { describe, expect, it } from 'vitest';
import { notMeLink, resourceLink } from './links.js';

describe('deep links', () => {
  it('builds API links on publicUrl, keeping a base path and encoding ids', () => {
    expect(resourceLink('https://warden.acme.com', 'acme', { kind: 'request', id: 'r1' })).toBe('https://warden.acme.com/v1/requests/r1?tenant=acme');
    expect(resourceLink('https://acme.com/warden/', 'acme', { kind: 'alert', id: 'a/1' })).toBe('https://acme.com/warden/v1/alerts/a%2F1?tenant=acme');
    expect(resourceLink('https://acme.com/warden', 'acme', { kind: 'person', id: '00u 1' })).toBe(
      'https://acme.com/warden/v1/requests?target=00u+1&tenant=acme',
    );
    expect(notMeLink('https://acme.com/warden', 'x.y')).toBe('https://acme.com/warden/me/confirm/x.y');
  });

  it('builds console links when the tenant offers the console', () => {
    expect(resourceLink('https://warden.acme.com', 'acme', { kind: 'request', id: 'r/1' }, { console: true })).toBe(
      'https://warden.acme.com/console/requests/r%2F1',
    );
    expect(resourceLink('https://acme.com/warden/', 'acme', { kind: 'alert', id: 'a1' }, { console: true })).toBe('https://acme.com/warden/console/alerts');
    expect(resourceLink('https://acme.com/warden', 'acme', { kind: 'review', id: 'v1' }, { console: true })).toBe('https://acme.com/warden/console/admin');
  });
});
