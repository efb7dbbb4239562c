import type { FactorType, IdentityChange } from '../../src/core/identity-change.js';
import type { AuditRecord } from '../../src/connector/index.js';
import type { ConnectorStoreOps } from '../../src/connector/index.js';
import { CAEP_CREDENTIAL_CHANGE, CAEP_SESSION_REVOKED, OKTA_USER_RISK_CHANGE, RISC_ACCOUNT_CREDENTIAL_CHANGE_REQUIRED } from './event-types.js';

/**
 * Which SETs an audit record gives rise to. The transmitter reads the
 * tenant's audit log (every decision, action outcome and alert is recorded
 * there in the transaction that made it) and maps:
 *
 * | Audit record | SET |
 * |---|---|
 * | `decision.recorded` of an observed change of a credential | CAEP `credential-change` |
 * | `decision.recorded` enforcing `expire_password` or `reset_factors` | RISC `account-credential-change-required` |
 * | `action.executed` of `revoke_sessions` | CAEP `session-revoked` |
 * | `decision.recorded` with outcome `hold` (enforce mode), `alert.raised` | Okta `user-risk-change` to `high` (when `oktaUserRisk`) |
 *
 * Changes that came in through Shared Signals themselves are not sent back
 * as `credential-change` (two Wardens, or Warden and an IdP that both send
 * and receive, would echo each other forever).
 */

/** The person a SET is about. */
export interface SetPerson {
  /** IdP id. */
  id: string;
  /** E-mail (or a login that is one). */
  email?: string;
}

/** One event to send, before it is addressed to a stream. */
export interface SetIntent {
  type: string;
  person: SetPerson;
  /** The event object (claims under `events[type]`). */
  event: Record<string, unknown>;
  /** `txn` (SSF 1.0 "The txn claim"): the audit record id, shared by SETs with one cause. */
  txn: string;
}

/** CAEP `credential_type` per Warden factor type (CAEP 1.0 "Credential Change"); others are sent as Warden's name for them. */
const CREDENTIAL_TYPE: Partial<Record<FactorType, string>> = {
  password: 'password',
  push: 'app',
  totp: 'app',
  sms: 'phone-sms',
  voice: 'phone-voice',
  webauthn: 'fido2-roaming',
  platform: 'fido2-platform',
};

/** CAEP `change_type` per change kind (CAEP 1.0 "Credential Change"); kinds not listed are not credential changes. */
const CHANGE_TYPE: Partial<Record<IdentityChange['kind'], 'create' | 'revoke' | 'update' | 'delete'>> = {
  'factor.enroll': 'create',
  'factor.remove': 'delete',
  'factor.reset_all': 'delete',
  'factor.update': 'update',
  'factor.suspend': 'revoke',
  'password.reset': 'update',
  'password.change': 'update',
  'tap.issue': 'create',
  'credential.add': 'create',
};

/** CAEP `initiating_entity` (CAEP 1.0 "Optional Event Claims") per channel. */
const INITIATOR: Record<IdentityChange['channel'], 'admin' | 'user' | 'policy' | 'system'> = {
  self_service: 'user',
  admin: 'admin',
  helpdesk: 'admin',
  support: 'admin',
  api: 'system',
  system: 'system',
};

const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);
const asEmail = (s: string | undefined) => (s && /^[^@\s]+@[^@\s]+$/.test(s) ? s : undefined);

function personOf(change: IdentityChange): SetPerson {
  const email = asEmail(change.target.email) ?? asEmail(change.target.login);
  return { id: change.target.id, ...(email ? { email } : {}) };
}

function credentialType(change: IdentityChange): string {
  if (change.kind.startsWith('password.')) return 'password';
  if (change.kind === 'tap.issue') return 'tap';
  if (change.kind === 'factor.reset_all') return change.factor ? (CREDENTIAL_TYPE[change.factor.type] ?? change.factor.type) : 'all-factors';
  if (change.factor) return CREDENTIAL_TYPE[change.factor.type] ?? change.factor.type;
  return change.kind === 'credential.add' ? 'x509' : 'app';
}

interface DecisionData {
  outcome: string;
  mode: string;
  rules: Array<{ id: string; outcome: string; reason: string }>;
  actions: Array<{ kind: string; dryRun: boolean; connector?: string; targetId?: string }>;
}

const reason = (d: DecisionData) => {
  const rule = d.rules.find((r) => r.outcome === d.outcome) ?? d.rules[0];
  return `Warden ${d.outcome}${rule ? ` (${rule.id}: ${rule.reason})` : ''}`;
};

/**
 * The SETs one audit record gives rise to. `store` reads the change and the
 * decision the record names (inside the queueing transaction).
 */
export async function setIntents(record: AuditRecord, store: ConnectorStoreOps, options: { oktaUserRisk: boolean }): Promise<SetIntent[]> {
  const txn = record.id;
  if (record.type === 'decision.recorded') {
    // Only decisions on changes the IdP reported: a proposed change (POST /v1/decisions) did not happen.
    if (record.actor.type !== 'idp' || !record.subject.changeId) return [];
    const change = await store.getChange(record.tenant, record.subject.changeId);
    if (!change) return [];
    const d = record.data as unknown as DecisionData;
    const person = personOf(change);
    const out: SetIntent[] = [];
    const changeType = CHANGE_TYPE[change.kind];
    if (changeType && change.source.via !== 'ssf')
      out.push({
        type: CAEP_CREDENTIAL_CHANGE,
        person,
        txn,
        event: {
          credential_type: credentialType(change),
          change_type: changeType,
          ...(change.factor?.name ? { friendly_name: change.factor.name } : {}),
          initiating_entity: INITIATOR[change.channel],
          reason_admin: { en: `${change.source.rawType} seen in ${change.source.idp}; ${reason(d)}` },
          event_timestamp: seconds(change.occurredAt),
        },
      });
    const enforced = d.mode === 'enforce' && d.outcome !== 'allow';
    if (enforced && d.actions.some((a) => !a.dryRun && (a.kind === 'expire_password' || a.kind === 'reset_factors')))
      out.push({ type: RISC_ACCOUNT_CREDENTIAL_CHANGE_REQUIRED, person, txn, event: {} });
    if (options.oktaUserRisk && d.mode === 'enforce' && d.outcome === 'hold') out.push(riskChange(person, txn, reason(d), record.at));
    return out;
  }
  if (record.type === 'action.executed' && record.data.kind === 'revoke_sessions') {
    const targetId = String(record.data.targetId);
    let person: SetPerson = { id: targetId };
    const decision = record.subject.decisionId ? await store.getDecision(record.tenant, record.subject.decisionId) : undefined;
    const change = decision ? await store.getChange(record.tenant, decision.changeId) : undefined;
    if (change && change.target.id === targetId) person = personOf(change);
    return [
      {
        type: CAEP_SESSION_REVOKED,
        person,
        txn: decision?.id ?? txn,
        event: { initiating_entity: 'policy', reason_admin: { en: 'Warden revoked the sessions as its policy asked' }, event_timestamp: seconds(record.at) },
      },
    ];
  }
  if (record.type === 'alert.raised' && options.oktaUserRisk) {
    const key = String(record.data.key ?? '');
    const email = asEmail(key);
    if (!email) return [];
    return [riskChange({ id: email, email }, txn, `Warden alert ${String(record.data.rule)} (${String(record.data.severity)})`, record.at)];
  }
  return [];
}

/**
 * Okta's `user-risk-change` to high. Claims as Okta's API reference
 * ("SSF Security Event Tokens", model `OktaUserRiskChangeEvent`) names them:
 * `current_level`, `previous_level`, `event_timestamp`, `initiating_entity`,
 * `reason_admin`, and the event's own `subject`. Not verified against a live
 * ITP org: the previous level is not known to Warden (`low` is sent), and the
 * lower-case level values follow the CAEP risk-level-change event.
 */
function riskChange(person: SetPerson, txn: string, why: string, at: string): SetIntent {
  return {
    type: OKTA_USER_RISK_CHANGE,
    person,
    txn,
    event: {
      ...(person.email ? { subject: { user: { format: 'email', email: person.email } } } : {}),
      current_level: 'high',
      previous_level: 'low',
      initiating_entity: 'policy',
      reason_admin: { en: why },
      event_timestamp: seconds(at),
    },
  };
}

/** The `sub_id` (SSF 1.0 "Subject Members in SSF Events") of a person for a receiver: email when known and wanted, else opaque IdP id. */
export function subjectOf(person: SetPerson, format: 'email' | 'opaque'): Record<string, string> {
  if (format === 'email' && person.email) return { format: 'email', email: person.email };
  return { format: 'opaque', id: person.id };
}
