import { describe, expect, it } from 'vitest';
import type { Evidence } from '../core/change-request.js';
import { bestEvidence, proofingNeed } from './proofing-requirements.js';

const settings = {
  raise: { mailboxRulesWithinMs: 72 * 3600_000, phoneChangedWithinMs: 7 * 86400_000, untrustedDevice: true, atLeast: 'manager_attest' as const },
};
const now = new Date('2026-04-10T12:00:00Z');

describe('proofingNeed', () => {
  it('keeps the policy level when the context is quiet', () => {
    expect(proofingNeed('callback', { phoneChangedAt: '2026-01-01T00:00:00Z', deviceTrusted: true }, settings, now)).toEqual({
      level: 'callback',
      policyLevel: 'callback',
      raisedBy: [],
      observed: [],
    });
    expect(proofingNeed(undefined, {}, settings, now)).toEqual({ raisedBy: [], observed: [] });
  });

  it('raises the level for a mailbox with new rules, a recently changed phone and an untrusted device', () => {
    expect(proofingNeed('callback', { mailboxRulesChangedAt: '2026-04-09T12:00:00Z' }, settings, now)).toMatchObject({
      level: 'manager_attest',
      raisedBy: [expect.stringContaining('mailbox rules')],
    });
    expect(proofingNeed('callback', { phoneChangedAt: '2026-04-08T00:00:00Z' }, settings, now)).toMatchObject({
      level: 'manager_attest',
      raisedBy: [expect.stringContaining('phone number changed')],
    });
    expect(proofingNeed('callback', { deviceTrusted: false }, settings, now).level).toBe('manager_attest');
    expect(proofingNeed('manager_attest', { deviceTrusted: false }, settings, now).level).toBe('idv');
    expect(proofingNeed(undefined, { deviceTrusted: false }, settings, now).level).toBe('manager_attest');
    expect(proofingNeed('in_person', { deviceTrusted: false }, settings, now).level).toBe('in_person');
  });
});

describe('bestEvidence', () => {
  const e = (level: Evidence['level'], verifiedAt: string, patch: Partial<Evidence> = {}): Evidence => ({
    id: `${level}-${verifiedAt}`,
    tenant: 'acme',
    requestId: 'r',
    kind: 'proofing',
    method: 'm',
    level,
    accepted: true,
    problems: [],
    verifier: { type: 'system', id: 'x' },
    verifiedAt,
    expiresAt: '2026-04-10T13:00:00Z',
    details: {},
    ...patch,
  });
  it('takes the strongest accepted, unexpired proofing evidence', () => {
    const list = [
      e('callback', '2026-04-10T11:00:00Z'),
      e('idv', '2026-04-10T11:10:00Z', { accepted: false }),
      e('manager_attest', '2026-04-10T11:20:00Z', { expiresAt: '2026-04-10T11:59:00Z' }),
      e('knowledge', '2026-04-10T11:30:00Z'),
    ];
    expect(bestEvidence(list, now)?.level).toBe('callback');
    expect(bestEvidence([], now)).toBeUndefined();
  });
});
