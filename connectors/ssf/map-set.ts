import { IdentityChange, type ChangeKind, type Channel, type FactorType } from '../../src/core/identity-change.js';
import { uuidv7 } from '../../src/core/ids.js';
import {
  CAEP_CREDENTIAL_CHANGE,
  CAEP_SESSION_REVOKED,
  RISC_ACCOUNT_DISABLED,
  RISC_IDENTIFIER_CHANGED,
  RISC_RECOVERY_INFORMATION_CHANGED,
  SSF_VERIFICATION,
} from './event-types.js';
import type { VerifiedSet } from './verify-set.js';

/**
 * A verified SET from a third system as the `IdentityChange` it reports,
 * decided and correlated like a change an IdP connector saw:
 *
 * | Event | Change kind |
 * |---|---|
 * | CAEP `credential-change`, `credential_type: password` | `password.change` (`revoke` / `delete`: `password.reset`) |
 * | CAEP `credential-change`, `credential_type: ALL_FACTORS` (Okta) | `factor.reset_all` |
 * | CAEP `credential-change`, other credential | `factor.enroll` / `factor.remove` / `factor.update` / `factor.suspend` for `create` / `delete` / `update` / `revoke` |
 * | RISC `account-disabled` | `account.suspend` (`reason` in `context.ssfReason`) |
 * | RISC `identifier-changed` | `recovery.update` (the new value in `context.newIdentifier`) |
 * | RISC `recovery-information-changed` | `recovery.update` |
 *
 * The person is the SET's subject (`sub_id`, or a complex subject's `user`):
 * `email` → login and e-mail, `iss_sub` → the `sub`, `opaque` → the id,
 * `phone_number` → the number. Detection keys people by login / e-mail, so a
 * transmitter that names people by e-mail correlates with Okta and Entra.
 */

/** CAEP credential types (CAEP 1.0 "Credential Change") as Warden factor types. */
const FACTOR: Record<string, FactorType> = {
  password: 'password',
  pin: 'other',
  x509: 'other',
  'fido2-platform': 'platform',
  'fido2-roaming': 'webauthn',
  'fido-u2f': 'hardware_token',
  'verifiable-credential': 'other',
  'phone-voice': 'voice',
  'phone-sms': 'sms',
  app: 'other',
};

const FACTOR_KIND: Record<string, ChangeKind> = { create: 'factor.enroll', delete: 'factor.remove', update: 'factor.update', revoke: 'factor.suspend' };

/** CAEP `initiating_entity` (CAEP 1.0 "Optional Event Claims") as Warden's channel. */
const CHANNEL: Record<string, Channel> = { admin: 'admin', user: 'self_service', policy: 'system', system: 'system' };

/** The person a subject identifier names, or undefined when it names none Warden can use. */
export function personOf(subject: unknown): { id: string; login?: string; email?: string } | undefined {
  if (!subject || typeof subject !== 'object') return undefined;
  const s = subject as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' && v.length > 0 && v.length <= 256 ? v : undefined);
  switch (s.format) {
    case 'email': {
      const email = str(s.email);
      return email ? { id: email, login: email, email } : undefined;
    }
    case 'iss_sub': {
      const sub = str(s.sub);
      if (!sub) return undefined;
      return /^[^@\s]+@[^@\s]+$/.test(sub) ? { id: sub, login: sub, email: sub } : { id: sub };
    }
    case 'opaque': {
      const id = str(s.id);
      return id ? { id } : undefined;
    }
    case 'phone_number': {
      const phone = str(s.phone_number);
      return phone ? { id: phone } : undefined;
    }
    case 'complex':
      return personOf(s.user);
    default:
      return undefined;
  }
}

/**
 * `event_timestamp` in seconds. CAEP 1.0 ("Optional Event Claims") says
 * seconds; Okta's transmitter sends milliseconds (its published SETs carry
 * 1615304991643), so a value past the year 5138 in seconds is read as
 * milliseconds. Undefined when absent or not a number.
 */
export function eventSeconds(value: unknown): number | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) return undefined;
  return value > 1e11 ? Math.floor(value / 1000) : value;
}

/** Where a SET came from, for the change's `source`. */
export interface SetOrigin {
  tenant: string;
  transmitter: string;
  via: 'push' | 'poll';
  receivedAt: Date;
}

/**
 * The changes a verified SET reports, or `ignored` with the reason
 * (verification events, session-revoked, a subject Warden cannot name).
 */
export function setToChanges(set: VerifiedSet, origin: SetOrigin): { changes: IdentityChange[] } | { ignored: string } {
  const [type, event] = Object.entries(set.events)[0] ?? [];
  if (!type || !event) return { ignored: 'no event' };
  if (type === SSF_VERIFICATION) return { ignored: 'SSF verification event' };
  if (type === CAEP_SESSION_REVOKED) return { ignored: 'CAEP session-revoked: a session ended elsewhere is not a change Warden governs' };
  const subject = set.sub_id ?? (event.subject as unknown);
  const person = personOf(subject);
  if (!person) return { ignored: `subject ${JSON.stringify(subject)} names no person Warden can use` };

  let kind: ChangeKind;
  let factor: FactorType | undefined;
  const context: Record<string, string | number | boolean | null> = {};
  if (type === CAEP_CREDENTIAL_CHANGE) {
    const credential = String(event.credential_type ?? '');
    const change = String(event.change_type ?? '');
    if (!FACTOR_KIND[change]) return { ignored: `credential-change with change_type ${JSON.stringify(event.change_type)}` };
    // A revoked or deleted password was replaced by someone (Okta sends user.account.reset_password as `revoke`).
    if (credential === 'password') kind = change === 'revoke' || change === 'delete' ? 'password.reset' : 'password.change';
    // Okta's transmitter names a reset of every factor `ALL_FACTORS` (not a CAEP value).
    else if (credential.toUpperCase() === 'ALL_FACTORS') kind = 'factor.reset_all';
    else kind = FACTOR_KIND[change]!;
    if (kind !== 'factor.reset_all') factor = FACTOR[credential] ?? 'other';
    if (credential) context.ssfCredentialType = credential.slice(0, 64);
  } else if (type === RISC_ACCOUNT_DISABLED) {
    kind = 'account.suspend';
    if (typeof event.reason === 'string') context.ssfReason = event.reason.slice(0, 64);
  } else if (type === RISC_IDENTIFIER_CHANGED) {
    kind = 'recovery.update';
    if (typeof event['new-value'] === 'string') context.newIdentifier = event['new-value'].slice(0, 320);
  } else if (type === RISC_RECOVERY_INFORMATION_CHANGED) kind = 'recovery.update';
  else return { ignored: `event type ${type} is not mapped` };

  const initiator = typeof event.initiating_entity === 'string' ? event.initiating_entity : undefined;
  const channel = (initiator && CHANNEL[initiator]) || 'system';
  const occurred = eventSeconds(event.event_timestamp) ?? set.iat;
  const target = { id: person.id, ...(person.login ? { login: person.login } : {}), ...(person.email ? { email: person.email } : {}) };
  // The SET says who initiated, not who they were: a user acting on themself is the target; anyone else is the transmitter.
  const actor = channel === 'self_service' ? { ...target, type: 'user' as const } : { id: `ssf:${origin.transmitter}`, type: 'system' as const };
  const change = IdentityChange.parse({
    id: uuidv7(origin.receivedAt.getTime()),
    tenant: origin.tenant,
    source: { idp: origin.transmitter, eventIds: [set.jti], rawType: type, via: 'ssf' },
    kind,
    channel,
    ...(factor ? { factor: { type: factor, ...(typeof event.friendly_name === 'string' ? { name: event.friendly_name.slice(0, 256) } : {}) } } : {}),
    target,
    actor,
    occurredAt: new Date(occurred * 1000).toISOString(),
    observedAt: origin.receivedAt.toISOString(),
    context: { ...context, ssfVia: origin.via },
  });
  return { changes: [change] };
}
