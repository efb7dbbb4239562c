import { describe, expect, it } from 'vitest';
import { entraRecordNormalizer } from '../../connectors/entra/record-normalizer.js';
import { ChangeInput, completeChange, type ChangeContext, type IdentityChange } from '../../src/core/identity-change.js';
import { observedRisk, riskSignalOf, withObservedRisk } from '../../src/requests/observed-risk.js';
import { proofingNeed } from '../../src/requests/proofing-requirements.js';
import { exchangeRecord } from '../helpers/exchange-records.js';

/**
 * The risk context Warden observes itself (issue 14): a person's recorded
 * changes raise proofing whatever the caller says (src/requests/observed-risk.ts).
 */

const settings = {
  raise: { mailboxRulesWithinMs: 72 * 3600_000, phoneChangedWithinMs: 7 * 86400_000, untrustedDevice: true, atLeast: 'manager_attest' as const },
};
const now = new Date('2026-04-10T12:00:00Z');
const HOUR = 3600_000;
const DANA = { id: '00u1dana', login: 'dana.lee@acme.example' };

/** Dana's inbox rule forwarding outside, from the Management Activity fixture, normalized by the Entra connector. */
function inboxRule(at: Date): IdentityChange {
  const result = entraRecordNormalizer.normalize(
    exchangeRecord('Suspicious Forwarding Pattern', { upn: DANA.login, at, organization: 'acme.example' }),
    'acme',
    at,
  );
  if ('ignored' in result) throw new Error(result.ignored);
  return result.changes[0]!;
}
/** A change as an IdP connector records it (Warden's own domain object). */
function recorded(patch: Record<string, unknown>, at: Date): IdentityChange {
  return completeChange(
    ChangeInput.parse({
      source: { idp: 'okta', eventIds: [`evt-${at.getTime()}`], rawType: 'user.mfa.factor.activate', via: 'hook' },
      channel: 'self_service',
      target: DANA,
      actor: DANA,
      occurredAt: at.toISOString(),
      ...patch,
    }),
    'acme',
    at,
  );
}
/** The store's `listChangesOfTarget` over a list, as the SQL store answers it (newest first, by id or login). */
const ops = (changes: IdentityChange[]) => ({
  async listChangesOfTarget(_tenant: string, of: { ids: readonly string[]; logins: readonly string[] }, since: Date) {
    return changes
      .filter((c) => of.ids.includes(c.target.id) || of.logins.some((l) => l.toLowerCase() === c.target.login?.toLowerCase()))
      .filter((c) => Date.parse(c.occurredAt) >= since.getTime())
      .sort((a, b) => b.occurredAt.localeCompare(a.occurredAt));
  },
});

describe('risk context Warden observes itself', () => {
  it('tells the signals apart: an inbox rule (Microsoft 365), a phone or recovery change, a change from a new device', () => {
    expect(riskSignalOf(inboxRule(now))).toBe('mailboxRulesChangedAt');
    expect(riskSignalOf(recorded({ kind: 'factor.enroll', factor: { type: 'sms' } }, now))).toBe('phoneChangedAt');
    expect(
      riskSignalOf(
        recorded({ kind: 'recovery.update', source: { idp: 'okta', eventIds: ['e'], rawType: 'user.account.update_primary_email', via: 'poll' } }, now),
      ),
    ).toBe('phoneChangedAt');
    expect(riskSignalOf(recorded({ kind: 'factor.enroll', factor: { type: 'push' }, context: { newDevice: true } }, now))).toBe('newDevice');
    expect(riskSignalOf(recorded({ kind: 'factor.enroll', factor: { type: 'push' } }, now))).toBeUndefined();
  });

  it("finds the person's latest of each by login across IdPs (the inbox rule names her Entra id), within each window", async () => {
    const rule = inboxRule(new Date(now.getTime() - 5 * HOUR));
    expect(rule.target.id).not.toBe(DANA.id);
    const older = inboxRule(new Date(now.getTime() - 30 * HOUR));
    const stale = recorded({ kind: 'factor.enroll', factor: { type: 'sms' } }, new Date(now.getTime() - 8 * 24 * HOUR));
    const other = { ...inboxRule(now), target: { ...rule.target, id: 'someone', login: 'omar@acme.example' } };
    const found = await observedRisk(ops([older, rule, stale, other]), 'acme', DANA, settings, now);
    expect(found).toEqual([
      {
        signal: 'mailboxRulesChangedAt',
        at: rule.occurredAt,
        changeId: rule.id,
        kind: 'mailbox.rule',
        idp: 'entra',
        rawType: 'o365:New-InboxRule',
        eventIds: rule.source.eventIds,
      },
    ]);
  });

  it('raises proofing for what it observed, names the change, and a caller cannot lower it', async () => {
    const rule = inboxRule(new Date(now.getTime() - 5 * HOUR));
    const observed = await observedRisk(ops([rule]), 'acme', DANA, settings, now);
    // The caller says nothing, or an older change, or a time outside the window: Warden's record counts.
    const givens: ChangeContext[] = [{}, { mailboxRulesChangedAt: '2026-01-01T00:00:00Z' }];
    for (const given of givens) {
      const need = proofingNeed('callback', given, settings, now, observed);
      expect(need).toMatchObject({ level: 'manager_attest', policyLevel: 'callback', observed });
      expect(need.raisedBy).toEqual([
        `mailbox rules or forwarding changed at ${rule.occurredAt} (observed by Warden: entra o365:New-InboxRule, change ${rule.id})`,
      ]);
    }
    // Policy context: the later of the two.
    expect(withObservedRisk({ mailboxRulesChangedAt: '2026-01-01T00:00:00Z' }, observed).mailboxRulesChangedAt).toBe(rule.occurredAt);
    // A caller may still add context: a later change it knows of is the one that counts.
    const later = new Date(now.getTime() - HOUR).toISOString();
    const added = proofingNeed('callback', { mailboxRulesChangedAt: later }, settings, now, observed);
    expect(added).toMatchObject({ level: 'manager_attest', raisedBy: [`mailbox rules or forwarding changed at ${later}`], observed: [] });
    expect(withObservedRisk({ mailboxRulesChangedAt: later }, observed).mailboxRulesChangedAt).toBe(later);
  });

  it('raises for a phone change and a new device the IdP reported', async () => {
    const phone = recorded({ kind: 'factor.enroll', factor: { type: 'voice' } }, new Date(now.getTime() - 48 * HOUR));
    const device = recorded({ kind: 'password.reset', context: { newDevice: true } }, new Date(now.getTime() - 2 * HOUR));
    const observed = await observedRisk(ops([phone, device]), 'acme', DANA, settings, now);
    expect(observed.map((o) => [o.signal, o.changeId])).toEqual([
      ['newDevice', device.id],
      ['phoneChangedAt', phone.id],
    ]);
    const need = proofingNeed('callback', { deviceTrusted: true }, settings, now, observed);
    expect(need.level).toBe('manager_attest');
    expect(need.observed.map((o) => o.signal)).toEqual(['phoneChangedAt', 'newDevice']);
    expect(withObservedRisk({ newDevice: false }, observed)).toMatchObject({ newDevice: true, phoneChangedAt: phone.occurredAt });
  });
});
