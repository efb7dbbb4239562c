import { describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/audit/audit-log.js';
import { IdentityChange } from '../../src/core/identity-change.js';
import type { StoreOps } from '../../src/store/store.js';
import { setIntents, subjectOf } from './audit-events.js';
import { CAEP_CREDENTIAL_CHANGE, CAEP_SESSION_REVOKED, OKTA_USER_RISK_CHANGE, RISC_ACCOUNT_CREDENTIAL_CHANGE_REQUIRED } from './event-types.js';

/** Which audit records become which SETs (connectors/ssf/audit-events.ts). */

const change = (over: Record<string, unknown> = {}) =>
  IdentityChange.parse({
    id: '0190f2a0-0000-7000-8000-000000000001',
    tenant: 'acme',
    source: { idp: 'okta', eventIds: ['e1'], rawType: 'user.mfa.factor.activate', via: 'hook' },
    kind: 'factor.enroll',
    channel: 'helpdesk',
    factor: { type: 'sms', name: 'Phone' },
    target: { id: '00u1', login: 'jane@acme.example' },
    actor: { id: '00u2' },
    occurredAt: '2026-12-01T08:59:00Z',
    observedAt: '2026-12-01T09:00:00Z',
    ...over,
  });

/** The two reads setIntents makes, over fixed data. */
const storeWith = (c: IdentityChange) =>
  ({
    getChange: async (_t: string, id: string) => (id === c.id ? c : undefined),
    getDecision: async (_t: string, id: string) => (id === 'd1' ? { id: 'd1', changeId: c.id } : undefined),
  }) as unknown as StoreOps;

const decision = (data: Record<string, unknown>, actorType: AuditRecord['actor']['type'] = 'idp'): AuditRecord => ({
  v: 1,
  tenant: 'acme',
  seq: 7,
  id: 'rec-7',
  at: '2026-12-01T09:00:00.000Z',
  type: 'decision.recorded',
  actor: { type: actorType, id: 'okta' },
  subject: { changeId: '0190f2a0-0000-7000-8000-000000000001', decisionId: 'd1' },
  data: { outcome: 'hold', mode: 'enforce', rules: [{ id: 'r1', outcome: 'hold', reason: 'needs approval' }], actions: [], ...data },
  prevHash: '',
});

describe('setIntents', () => {
  it("an observed credential change becomes credential-change, with CAEP types and Warden's reason", async () => {
    const [intent, ...rest] = await setIntents(decision({}), storeWith(change()), { oktaUserRisk: false });
    expect(rest).toEqual([]);
    expect(intent).toEqual({
      type: CAEP_CREDENTIAL_CHANGE,
      person: { id: '00u1', email: 'jane@acme.example' },
      txn: 'rec-7',
      event: {
        credential_type: 'phone-sms',
        change_type: 'create',
        friendly_name: 'Phone',
        initiating_entity: 'admin',
        reason_admin: { en: 'user.mfa.factor.activate seen in okta; Warden hold (r1: needs approval)' },
        event_timestamp: Date.parse('2026-12-01T08:59:00Z') / 1000,
      },
    });
  });

  it('a proposed change (POST /v1/decisions, not reported by an IdP) sends nothing', async () => {
    expect(await setIntents(decision({}, 'api_key'), storeWith(change()), { oktaUserRisk: true })).toEqual([]);
  });

  it('a change that came in by SSF is not sent back out as credential-change', async () => {
    const viaSsf = change({ source: { idp: 'partner', eventIds: ['j1'], rawType: CAEP_CREDENTIAL_CHANGE, via: 'ssf' } });
    expect((await setIntents(decision({}), storeWith(viaSsf), { oktaUserRisk: false })).map((i) => i.type)).toEqual([]);
  });

  it('a kind that is no credential (account.unlock) sends no credential-change', async () => {
    expect(await setIntents(decision({ outcome: 'allow' }), storeWith(change({ kind: 'account.unlock', factor: undefined })), { oktaUserRisk: false })).toEqual(
      [],
    );
  });

  it('credential change required only when the policy enforces expire_password or reset_factors', async () => {
    const types = async (data: Record<string, unknown>) => (await setIntents(decision(data), storeWith(change()), { oktaUserRisk: false })).map((i) => i.type);
    expect(await types({ actions: [{ kind: 'expire_password', dryRun: false }] })).toEqual([CAEP_CREDENTIAL_CHANGE, RISC_ACCOUNT_CREDENTIAL_CHANGE_REQUIRED]);
    expect(await types({ actions: [{ kind: 'reset_factors', dryRun: false }] })).toEqual([CAEP_CREDENTIAL_CHANGE, RISC_ACCOUNT_CREDENTIAL_CHANGE_REQUIRED]);
    expect(await types({ mode: 'monitor', actions: [{ kind: 'expire_password', dryRun: true }] })).toEqual([CAEP_CREDENTIAL_CHANGE]);
    expect(await types({ actions: [{ kind: 'hold_group', dryRun: false }] })).toEqual([CAEP_CREDENTIAL_CHANGE]);
  });

  it('Okta user-risk-change on a hold only when the tenant asks for it, and not in monitor mode', async () => {
    expect((await setIntents(decision({}), storeWith(change()), { oktaUserRisk: true })).map((i) => i.type)).toEqual([
      CAEP_CREDENTIAL_CHANGE,
      OKTA_USER_RISK_CHANGE,
    ]);
    expect((await setIntents(decision({ mode: 'monitor' }), storeWith(change()), { oktaUserRisk: true })).map((i) => i.type)).toEqual([CAEP_CREDENTIAL_CHANGE]);
    expect((await setIntents(decision({ outcome: 'deny' }), storeWith(change()), { oktaUserRisk: true })).map((i) => i.type)).toEqual([CAEP_CREDENTIAL_CHANGE]);
  });

  it("executed revoke_sessions becomes session-revoked about the change's target, with the decision as txn", async () => {
    const record: AuditRecord = {
      ...decision({}),
      type: 'action.executed',
      actor: { type: 'system', id: 'warden:okta' },
      subject: { actionId: 'a1', decisionId: 'd1' },
      data: { kind: 'revoke_sessions', targetId: '00u1', connector: 'okta' },
    };
    expect(await setIntents(record, storeWith(change()), { oktaUserRisk: false })).toEqual([
      {
        type: CAEP_SESSION_REVOKED,
        person: { id: '00u1', email: 'jane@acme.example' },
        txn: 'd1',
        event: {
          initiating_entity: 'policy',
          reason_admin: { en: 'Warden revoked the sessions as its policy asked' },
          event_timestamp: Date.parse('2026-12-01T09:00:00Z') / 1000,
        },
      },
    ]);
    // The same person in another IdP (containment through an alert): only the IdP id is known.
    const elsewhere = { ...record, data: { ...record.data, targetId: 'entra-oid-9', connector: 'entra' } };
    expect((await setIntents(elsewhere, storeWith(change()), { oktaUserRisk: false }))[0]!.person).toEqual({ id: 'entra-oid-9' });
    // Other actions send nothing.
    expect(await setIntents({ ...record, data: { ...record.data, kind: 'hold_group' } }, storeWith(change()), { oktaUserRisk: false })).toEqual([]);
  });

  it('an alert on a person raises Okta risk when asked; a key that is no e-mail sends nothing', async () => {
    const alert: AuditRecord = {
      ...decision({}),
      type: 'alert.raised',
      actor: { type: 'system', id: 'warden:detect' },
      subject: { alertId: 'al1' },
      data: { rule: 'mfa-reset-then-login', severity: 'high', key: 'jane@acme.example' },
    };
    expect((await setIntents(alert, storeWith(change()), { oktaUserRisk: true })).map((i) => [i.type, i.person])).toEqual([
      [OKTA_USER_RISK_CHANGE, { id: 'jane@acme.example', email: 'jane@acme.example' }],
    ]);
    expect(await setIntents(alert, storeWith(change()), { oktaUserRisk: false })).toEqual([]);
    expect(await setIntents({ ...alert, data: { ...alert.data, key: '10.0.0.1' } }, storeWith(change()), { oktaUserRisk: true })).toEqual([]);
  });
});

describe('subjectOf', () => {
  it('names the person by e-mail when known and wanted, else by opaque IdP id', () => {
    expect(subjectOf({ id: '00u1', email: 'jane@acme.example' }, 'email')).toEqual({ format: 'email', email: 'jane@acme.example' });
    expect(subjectOf({ id: '00u1', email: 'jane@acme.example' }, 'opaque')).toEqual({ format: 'opaque', id: '00u1' });
    expect(subjectOf({ id: '00u1' }, 'email')).toEqual({ format: 'opaque', id: '00u1' });
  });
});
