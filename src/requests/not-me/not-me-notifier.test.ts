import { describe, expect, it } from 'vitest';
import { notMeSubject, pushRefusal } from './not-me-notifier.js';

describe('which notices may go by Okta Verify push', () => {
  const change = (kind: string, factor?: string) =>
    notMeSubject('change.by_other', {
      change: { id: 'c1', kind, idp: 'okta', target: { id: '00u1' }, actor: { id: '00u2', type: 'user' }, ...(factor ? { factor: { type: factor } } : {}) },
    })!;

  it('refuses a change that may be to the push factor: all factors reset, a push factor change, a factor change of unknown type', () => {
    expect(pushRefusal(change('factor.reset_all'))).toMatch(/every factor/);
    expect(pushRefusal(change('factor.enroll', 'push'))).toMatch(/push factor/);
    expect(pushRefusal(change('factor.remove', 'push'))).toMatch(/push factor/);
    expect(pushRefusal(change('factor.update'))).toMatch(/may be the push factor/);
    expect(pushRefusal(notMeSubject('request.created', { request: { id: 'r1', kind: 'factor.remove', target: { id: '00u1' } } })!)).toMatch(
      /may be the push factor/,
    );
  });

  it('allows a change to another factor, the password or recovery data', () => {
    expect(pushRefusal(change('factor.enroll', 'sms'))).toBeUndefined();
    expect(pushRefusal(change('password.reset'))).toBeUndefined();
    expect(pushRefusal(change('recovery.update'))).toBeUndefined();
    expect(pushRefusal(notMeSubject('request.created', { request: { id: 'r1', kind: 'tap.issue', target: { id: '00u1' } } })!)).toBeUndefined();
  });
});
