import type { AuditRecord } from '../audit-log.js';
import type { AuditRow } from '../../store/store.js';

/**
 * Audit records as OCSF events, for SIEMs. Schema release 1.8.0 with the
 * `security_control` profile (the JSON Schemas in `./schema/`, generated from
 * github.com/ocsf/ocsf-schema at tag 1.8.0, are what tests validate against).
 *
 * - `decision.recorded` → Account Change (class 3001): the change Warden decided.
 * - `alert.raised` / `alert.grouped` / `alert.closed` → Detection Finding (class 2004),
 *   activity Create / Update / Close.
 * Other audit records (API keys, policy loads, requests…) have no OCSF class here
 * and are not exported in this format; the JSON Lines export has them all.
 *
 * Every event carries its place in the tenant's hash chain: `raw_data` is the
 * exact canonical JSON that was hashed, `raw_data_hash` its SHA-256 (the chain's
 * current digest — OCSF's own attribute for "the hash of raw_data"), and
 * `unmapped.warden_audit` holds `seq`, `prev_hash` (the previous digest, which
 * OCSF has no attribute for) and `hash` again, so a SIEM can join the chain
 * without parsing `raw_data`.
 *
 * @see https://schema.ocsf.io/1.8.0/classes/account_change
 * @see https://schema.ocsf.io/1.8.0/classes/detection_finding
 */
export const OCSF_VERSION = '1.8.0';
export const OCSF_PROFILES = ['security_control'] as const;

/** An OCSF event as exported (a plain JSON object). */
export type OcsfEvent = Record<string, unknown> & { class_uid: number; activity_id: number; type_uid: number };

/**
 * Account Change activity ids, as defined in ocsf-schema 1.8.0
 * `events/iam/account_change.json` (0 and 99 from `events/base_event.json`).
 */
export const ACCOUNT_CHANGE_ACTIVITY = {
  create: { id: 1, name: 'Create' },
  enable: { id: 2, name: 'Enable' },
  passwordChange: { id: 3, name: 'Password Change' },
  passwordReset: { id: 4, name: 'Password Reset' },
  disable: { id: 5, name: 'Disable' },
  mfaFactorEnable: { id: 10, name: 'MFA Factor Enable' },
  mfaFactorDisable: { id: 11, name: 'MFA Factor Disable' },
  unlock: { id: 12, name: 'Unlock' },
  other: { id: 99, name: 'Other' },
} as const;

/** Warden change kinds with an Account Change activity of their own; every other kind is Other (99) with the kind as `activity_name`. */
const ACTIVITY_OF_KIND: Record<string, { id: number; name: string }> = {
  'password.change': ACCOUNT_CHANGE_ACTIVITY.passwordChange,
  'password.reset': ACCOUNT_CHANGE_ACTIVITY.passwordReset,
  'factor.enroll': ACCOUNT_CHANGE_ACTIVITY.mfaFactorEnable,
  'factor.remove': ACCOUNT_CHANGE_ACTIVITY.mfaFactorDisable,
  'factor.reset_all': ACCOUNT_CHANGE_ACTIVITY.mfaFactorDisable,
  'factor.suspend': ACCOUNT_CHANGE_ACTIVITY.mfaFactorDisable,
  'account.suspend': ACCOUNT_CHANGE_ACTIVITY.disable,
  'account.unlock': ACCOUNT_CHANGE_ACTIVITY.unlock,
};

const SEVERITY = { informational: [1, 'Informational'], low: [2, 'Low'], medium: [3, 'Medium'], high: [4, 'High'], critical: [5, 'Critical'] } as const;
const OUTCOME_SEVERITY = { allow: SEVERITY.informational, hold: SEVERITY.medium, deny: SEVERITY.high } as const;

interface DecisionData {
  outcome: 'allow' | 'deny' | 'hold';
  mode: 'enforce' | 'monitor';
  tier?: string;
  policyVersion?: string;
  rules?: Array<{ id: string; outcome: string; reason?: string }>;
  change: {
    kind: string;
    source: { idp: string; eventIds: string[]; rawType: string; via: string };
    targetId: string;
    targetLogin?: string;
    actorId: string;
    actorLogin?: string;
    occurredAt: string;
    digest: string;
  };
}
interface AlertData {
  rule: string;
  title?: string;
  severity: keyof typeof SEVERITY;
  summary?: string;
  attack?: string[];
  reason?: string;
  changes?: Array<{ id: string; kind: string; occurredAt: string; idp: string }>;
}

/** The OCSF event for one audit row, or undefined when the record's type has no OCSF class here. */
export function auditRowToOcsf(row: AuditRow): OcsfEvent | undefined {
  const record = JSON.parse(row.record) as AuditRecord;
  if (record.type === 'decision.recorded') return accountChange(row, record);
  if (record.type === 'alert.raised' || record.type === 'alert.grouped' || record.type === 'alert.closed') return detectionFinding(row, record);
  return undefined;
}

function common(row: AuditRow, record: AuditRecord, correlation?: string): Record<string, unknown> {
  return {
    metadata: {
      version: OCSF_VERSION,
      profiles: [...OCSF_PROFILES],
      product: { name: 'Warden', vendor_name: 'Warden', uid: 'warden' },
      uid: record.id,
      sequence: record.seq,
      tenant_uid: record.tenant,
      log_name: 'audit',
      event_code: record.type,
      logged_time: Date.parse(record.at),
      ...(correlation ? { correlation_uid: correlation } : {}),
    },
    raw_data: row.record,
    raw_data_hash: { algorithm_id: 3, algorithm: 'SHA-256', value: row.hash },
    unmapped: { warden_audit: { seq: record.seq, prev_hash: record.prevHash, hash: row.hash } },
  };
}

function person(id: string, login: string | undefined): Record<string, unknown> {
  return { uid: id, ...(login ? { name: login } : {}) };
}

function accountChange(row: AuditRow, record: AuditRecord): OcsfEvent {
  const data = record.data as unknown as DecisionData;
  const c = data.change;
  const activity = ACTIVITY_OF_KIND[c.kind] ?? ACCOUNT_CHANGE_ACTIVITY.other;
  const [severityId, severity] = OUTCOME_SEVERITY[data.outcome];
  // What Warden did about the change (security_control profile): in monitor mode it only observed.
  const monitored = data.mode === 'monitor';
  const action = monitored ? [3, 'Observed'] : data.outcome === 'allow' ? [1, 'Allowed'] : data.outcome === 'deny' ? [2, 'Denied'] : [99, 'Held'];
  const disposition = data.outcome === 'allow' ? [1, 'Allowed'] : monitored ? [17, 'Logged'] : data.outcome === 'deny' ? [2, 'Blocked'] : [14, 'Delayed'];
  const rules = (data.rules ?? []).filter((r) => r.outcome === data.outcome);
  const base = common(row, record, record.subject.changeId);
  return {
    class_uid: 3001,
    class_name: 'Account Change',
    category_uid: 3,
    category_name: 'Identity & Access Management',
    activity_id: activity.id,
    activity_name: activity.id === 99 ? c.kind : activity.name,
    type_uid: 300100 + activity.id,
    type_name: `Account Change: ${activity.id === 99 ? 'Other' : activity.name}`,
    time: Date.parse(c.occurredAt),
    severity_id: severityId,
    severity,
    message: `${c.kind} on ${c.targetLogin ?? c.targetId} by ${c.actorLogin ?? c.actorId}: ${data.outcome}${monitored ? ' (monitor mode)' : ''}`,
    user: person(c.targetId, c.targetLogin),
    actor: { user: person(c.actorId, c.actorLogin) },
    action_id: action[0],
    action: action[1],
    disposition_id: disposition[0],
    disposition: disposition[1],
    ...(data.policyVersion || rules.length
      ? {
          policy: {
            uid: data.policyVersion ?? 'unknown',
            ...(rules.length ? { name: rules.map((r) => r.id).join(', ') } : {}),
            ...(data.policyVersion ? { version: data.policyVersion } : {}),
          },
        }
      : {}),
    ...base,
    metadata: { ...(base.metadata as object), ...(c.source.eventIds[0] ? { original_event_uid: c.source.eventIds[0] } : {}), log_provider: c.source.idp },
    unmapped: {
      warden_audit: { seq: record.seq, prev_hash: record.prevHash, hash: row.hash },
      warden: {
        decision_id: record.subject.decisionId,
        change_id: record.subject.changeId,
        change_kind: c.kind,
        change_digest: c.digest,
        outcome: data.outcome,
        mode: data.mode,
        tier: data.tier,
        source: c.source,
      },
    },
  } as OcsfEvent;
}

function detectionFinding(row: AuditRow, record: AuditRecord): OcsfEvent {
  const data = record.data as unknown as AlertData;
  const [activityId, activityName, statusId, status] =
    record.type === 'alert.raised' ? [1, 'Create', 1, 'New'] : record.type === 'alert.grouped' ? [2, 'Update', 1, 'New'] : [3, 'Close', 4, 'Resolved'];
  const [severityId, severity] = SEVERITY[data.severity] ?? SEVERITY.medium;
  const alertId = record.subject.alertId ?? record.id;
  return {
    class_uid: 2004,
    class_name: 'Detection Finding',
    category_uid: 2,
    category_name: 'Findings',
    activity_id: activityId,
    activity_name: activityName,
    type_uid: 200400 + activityId,
    type_name: `Detection Finding: ${activityName}`,
    time: Date.parse(record.at),
    severity_id: severityId,
    severity,
    status_id: statusId,
    status,
    is_alert: record.type !== 'alert.closed',
    ...(data.summary ? { message: data.summary } : data.reason ? { message: data.reason } : {}),
    ...(data.reason ? { comment: data.reason } : {}),
    finding_info: {
      uid: alertId,
      title: data.title ?? data.rule,
      analytic: { uid: data.rule, name: data.rule, type_id: 1, type: 'Rule' },
      ...(data.attack?.length ? { attacks: data.attack.map((t) => ({ technique: { uid: t } })) } : {}),
      ...(data.changes?.length
        ? { related_events: data.changes.map((c) => ({ uid: c.id, product_uid: c.idp })), related_events_count: data.changes.length }
        : {}),
    },
    action_id: 3,
    action: 'Observed',
    disposition_id: 15,
    disposition: 'Detected',
    ...common(row, record, alertId),
    unmapped: {
      warden_audit: { seq: record.seq, prev_hash: record.prevHash, hash: row.hash },
      warden: { alert_id: alertId, rule: data.rule, ...(data.changes ? { change_kinds: data.changes.map((c) => c.kind) } : {}) },
    },
  } as OcsfEvent;
}
