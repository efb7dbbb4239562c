import { describe, expect, it } from 'vitest';
import { isSubject, subjectsMatch } from './subject-match.js';

// The examples of SSF 1.0 §8.1.3.1 "Subject Matching".
const tenantOnly = { format: 'complex', tenant: { format: 'opaque', id: 'example-a38h4792-uw2' } };
const tenantAndUser = { format: 'complex', tenant: { format: 'opaque', id: 'example-a38h4792-uw2' }, user: { format: 'email', email: 'jdoe@example.com' } };
const userAndDevice = {
  format: 'complex',
  user: { format: 'email', email: 'jdoe@example.com' },
  device: { format: 'ip-addresses', 'ip-addresses': ['10.29.37.75'] },
};
const userOnly = { format: 'complex', user: { format: 'email', email: 'jdoe@example.com' } };

describe('subject matching (SSF 1.0)', () => {
  it('matches simple subjects only when identical, whatever the key order', () => {
    expect(subjectsMatch({ format: 'email', email: 'a@example.com' }, { email: 'a@example.com', format: 'email' })).toBe(true);
    expect(subjectsMatch({ format: 'email', email: 'a@example.com' }, { format: 'email', email: 'b@example.com' })).toBe(false);
    expect(subjectsMatch({ format: 'email', email: 'a@example.com' }, { format: 'opaque', id: 'a@example.com' })).toBe(false);
  });

  it("matches complex subjects when every member is missing on one side or identical (the specification's examples)", () => {
    expect(subjectsMatch(tenantOnly, tenantAndUser)).toBe(true);
    expect(subjectsMatch(userAndDevice, userOnly)).toBe(true);
    const groupA = { ...userOnly, group: { format: 'did', url: 'did:example:123456' } };
    const groupB = { ...userOnly, group: { format: 'did', url: 'did:example:9999999' } };
    expect(subjectsMatch(groupA, groupB)).toBe(false);
  });

  it('knows a subject identifier by its format', () => {
    expect(isSubject({ format: 'email', email: 'a@example.com' })).toBe(true);
    expect(isSubject({ email: 'a@example.com' })).toBe(false);
    expect(isSubject('a@example.com')).toBe(false);
    expect(isSubject([{ format: 'email' }])).toBe(false);
  });
});
