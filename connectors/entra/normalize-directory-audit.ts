import { createHash } from 'node:crypto';
import type { Actor, ChangeKind, Channel, FactorType, IdentityChange, Principal } from '../../src/core/identity-change.js';
import { uuidv7 } from '../../src/core/ids.js';
import { decodeJsonValue, field, isRecord, list, text, vendorTime, type VendorRecord } from './vendor-record.js';

/**
 * Entra audit records (`directoryAudit`, graph-docs resources/directoryaudit.md;
 * shared/research/entra.md §3) → `IdentityChange`. Pure: no Graph calls. The
 * inbox handler refines the channel (help-desk roles) and enriches target and
 * actor through the directory afterwards.
 *
 * Accepts the Graph shape and the Azure Monitor diagnostic-settings shape
 * (category `AuditLogs`, the directoryAudit under `properties`), which is what
 * Event Hubs streaming and SIEM exports carry.
 */

export interface AuditNormalizeOptions {
  tenant: string;
  via: IdentityChange['source']['via'];
  observedAt: Date;
  /** Role names that make an administrator the help desk (when the record carries the actor's roles). */
  helpdeskRoles?: ReadonlySet<string>;
}

export type NormalizeResult = { changes: IdentityChange[] } | { ignored: string };

/** What an activity means: a change kind (and how to fill it in), or why it is not governed. */
type Classification =
  | {
      kind: ChangeKind;
      selfService?: boolean;
      factor?: { type: FactorType; name?: string };
      target?: 'user' | 'service_principal';
      context?: Record<string, string | number | boolean>;
    }
  | { ignored: string };

/** Sign-in categories of Azure Monitor exports: not changes. */
const SIGN_IN_CATEGORIES = new Set([
  'signinlogs',
  'noninteractiveusersigninlogs',
  'serviceprincipalsigninlogs',
  'managedidentitysigninlogs',
  'adfssigninlogs',
  'microsoftgraphactivitylogs',
  'riskyusers',
  'userriskevents',
]);

/** Steps of a flow that change nothing yet (the change itself is its own record). */
const STEPS = new Set([
  'user started security info registration',
  'user canceled security info registration',
  'user reviewed security info',
  'user registered all required security info',
  'get passkey creation options',
  'user started password change',
  'user started password reset',
  'admin started password reset',
  'self-service password reset flow activity progress',
  'security info saved for self-service password reset',
  'blocked from self-service password reset',
]);

/** The factor a `resultReason` names ("Admin registered phone method for user", "User registered Authenticator App with Notification and Code"). */
export function factorFromText(reason: string | undefined): { type: FactorType; name?: string } {
  const r = (reason ?? '').toLowerCase();
  if (r.includes('temporary access pass')) return { type: 'tap', name: 'Temporary Access Pass' };
  if (r.includes('authenticator'))
    return r.includes('notification') || r.includes('passwordless')
      ? { type: 'push', name: 'Microsoft Authenticator' }
      : { type: 'totp', name: 'Microsoft Authenticator (code)' };
  if (r.includes('fido') || r.includes('passkey') || r.includes('security key')) return { type: 'webauthn', name: 'FIDO2 / passkey' };
  if (r.includes('windows hello')) return { type: 'platform', name: 'Windows Hello for Business' };
  if (r.includes('platform credential')) return { type: 'platform', name: 'platform credential' };
  if (r.includes('hardware oath') || r.includes('hardware token')) return { type: 'hardware_token', name: 'hardware OATH token' };
  if (r.includes('oath') || r.includes('software token')) return { type: 'totp', name: 'software OATH token' };
  if (r.includes('email')) return { type: 'email', name: 'email' };
  if (r.includes('office phone')) return { type: 'voice', name: 'office phone' };
  if (r.includes('phone call') && !r.includes('sms')) return { type: 'voice', name: 'phone (call)' };
  if (r.includes('phone') || r.includes('sms')) return { type: 'sms', name: 'phone' };
  if (r.includes('password')) return { type: 'password', name: 'password' };
  return { type: 'other', ...(reason ? { name: reason.slice(0, 256) } : {}) };
}

/** Known fixed ids of phone methods by phone type (phoneauthenticationmethod-delete.md). */
const PHONE_IDS: Record<string, string> = {
  mobile: '3179e48a-750b-4051-897c-87b9720928f7',
  alternatemobile: 'b6332ec1-7057-4abe-9331-3d72feddfe41',
  office: 'e37fc753-ff3b-4958-9484-eaa9425c82bc',
};

/** The method id a security-info record carries in its modifiedProperties (`TemporaryAccessPass.Id`, a phone type), if any. */
function methodIdFrom(target: VendorRecord | undefined, deleted: boolean): string | undefined {
  for (const prop of list(target, 'modifiedProperties')) {
    const name = text(prop, 'displayName') ?? '';
    const value = decodeJsonValue(field(prop, deleted ? 'oldValue' : 'newValue'));
    const scalar = Array.isArray(value) ? value[0] : value;
    if (typeof scalar !== 'string' || !scalar) continue;
    if (/(^|\.)id$/i.test(name)) return scalar;
    const phone = PHONE_IDS[scalar.toLowerCase()];
    if (phone && /phonetype|authtype|type$/i.test(name)) return phone;
  }
  return undefined;
}

/** The StrongAuthenticationMethod property of "Update user": what changed in per-user MFA methods. */
function strongAuthChange(oldValue: unknown, newValue: unknown): ChangeKind {
  const methods = (v: unknown) => {
    const decoded = decodeJsonValue(v);
    return Array.isArray(decoded) ? decoded.map((m) => JSON.stringify(field(m, 'MethodType'))) : [];
  };
  const before = methods(oldValue);
  const after = methods(newValue);
  if (after.length === 0 && before.length > 0) return 'factor.reset_all';
  if (after.some((m) => !before.includes(m))) return 'factor.enroll';
  if (before.some((m) => !after.includes(m))) return 'factor.remove';
  return 'factor.update';
}

/** Classifies a record by `activityDisplayName` (entra-docs reference-audit-activities.md, entra.md §3.1). */
function classify(audit: VendorRecord, activity: string): Classification {
  const a = activity.toLowerCase();
  const reason = text(audit, 'resultReason');
  if (STEPS.has(a)) return { ignored: `"${activity}" is a step of a flow; the change itself has its own record` };

  const securityInfo = /^(user|admin) (registered|deleted|updated|changed default) security info$/.exec(a);
  if (securityInfo) {
    const factor = factorFromText(reason);
    const selfService = securityInfo[1] === 'user';
    switch (securityInfo[2]) {
      case 'registered':
        return { kind: factor.type === 'tap' ? 'tap.issue' : 'factor.enroll', selfService, factor };
      case 'deleted':
        return { kind: 'factor.remove', selfService, factor };
      case 'changed default':
        return { kind: 'factor.update', selfService, factor, context: { defaultMethodChanged: true } };
      default:
        return { kind: 'factor.update', selfService, factor };
    }
  }
  if (a === 'reset password (self-service)') return { kind: 'password.reset', selfService: true, factor: { type: 'password' } };
  if (a === 'reset password (by admin)' || a === 'reset user password' || a === 'reset password')
    return { kind: 'password.reset', factor: { type: 'password' } };
  if (a === 'change password (self-service)' || a === 'change user password') return { kind: 'password.change', factor: { type: 'password' } };
  if (a === 'set force change user password') return { kind: 'password.expire', factor: { type: 'password' } };
  if (a === 'unlock user account (self-service)') return { kind: 'account.unlock', selfService: true };
  if (a === 'disable account') return { kind: 'account.suspend' };
  if (a === 'update stsrefreshtokenvalidfrom timestamp') return { kind: 'session.revoke' };
  if (a === 'disable strong authentication') return { kind: 'mfa.bypass', context: { perUserMfaDisabled: true } };
  if (a === 'post tenant.createbypasseduser') return { kind: 'mfa.bypass', context: { mfaServerBypass: true } };

  const phoneApp = /^(add|remove) users? strong authentication phone app detail$/.exec(a);
  if (phoneApp) return { kind: phoneApp[1] === 'add' ? 'factor.enroll' : 'factor.remove', factor: { type: 'push', name: 'Microsoft Authenticator' } };

  const device = /^(add|delete) (fido2 security key|windows hello for business credential|passwordless phone sign-in credential|platform credential)/.exec(a);
  if (device) {
    const factor = factorFromText(device[2] === 'passwordless phone sign-in credential' ? 'authenticator notification' : device[2]);
    return { kind: device[1] === 'add' ? 'factor.enroll' : 'factor.remove', factor };
  }

  if (/^add (eligible |scoped )?member to role/.test(a)) {
    if (/request|approv/.test(a)) return { ignored: `"${activity}" is a request; the assignment is its own record` };
    if (/activation/.test(a)) return { ignored: `"${activity}" activates an eligible assignment: the assignment was judged when it was made` };
    return { kind: 'role.assign' };
  }
  if (a === 'add service principal credentials' || a === 'update application – certificates and secrets management')
    return { kind: 'credential.add', target: 'service_principal' };

  if (a === 'update user') {
    for (const target of list(audit, 'targetResources'))
      for (const prop of list(target, 'modifiedProperties')) {
        const name = (text(prop, 'displayName') ?? '').toLowerCase();
        if (name === 'strongauthenticationmethod')
          return {
            kind: strongAuthChange(field(prop, 'oldValue'), field(prop, 'newValue')),
            factor: { type: 'other', name: 'per-user MFA methods' },
            context: { perUserMfaMethods: true },
          };
        if (name === 'strongauthenticationphoneappdetail') return { kind: 'factor.update', factor: { type: 'push', name: 'Microsoft Authenticator' } };
        if (name === 'strongauthenticationuserdetails') return { kind: 'recovery.update', context: { mfaPhoneDetails: true } };
      }
    return { ignored: '"Update user" changed no authentication method or recovery property' };
  }
  if (a === 'fraud reported - user is blocked for mfa' || a === 'suspicious activity reported')
    return { ignored: `"${activity}" is a report by the user: a detection signal, not a change` };
  return { ignored: `"${activity}" is not an identity change Warden governs` };
}

/** The directoryAudit inside a record: the record itself (Graph), or `properties` of an Azure Monitor export; or why it is none. */
export function unwrapDirectoryAudit(record: unknown): { audit: VendorRecord } | { ignored: string } {
  if (!isRecord(record)) return { ignored: 'not a JSON object' };
  if (typeof field(record, 'activityDisplayName') === 'string' && field(record, 'loggedByService') !== undefined) return { audit: record };
  const category = (text(record, 'category') ?? '').toLowerCase();
  if (SIGN_IN_CATEGORIES.has(category)) return { ignored: `${text(record, 'category')} record: Warden governs identity changes, not sign-ins` };
  const properties = field(record, 'properties');
  if (isRecord(properties) && typeof field(properties, 'activityDisplayName') === 'string') return { audit: properties };
  const operation = text(record, 'operationName');
  return { ignored: `Azure Monitor ${text(record, 'category') ?? ''} record "${operation ?? '?'}" carries no directoryAudit` };
}

/** A Principal from a user target resource. */
function principalOf(target: VendorRecord): Principal {
  const id = text(target, 'id')!;
  const upn = text(target, 'userPrincipalName');
  const name = text(target, 'displayName');
  return {
    id,
    ...(upn ? { login: upn } : {}),
    ...(name ? { displayName: name } : {}),
    groups: [],
    adminRoles: [],
    flags: { shared: false, executive: false, serviceAccount: false, breakGlass: false },
    attributes: {},
  };
}

const NIL_GUID = '00000000-0000-0000-0000-000000000000';

/** The actor of a record from `initiatedBy` (user, else app, else the directory itself), with the roles the record names. */
export function actorOf(audit: VendorRecord): { actor: Actor; roles: string[]; kind: 'user' | 'app' | 'system' } {
  const by = field(audit, 'initiatedBy');
  const user = field(by, 'user');
  const app = field(by, 'app');
  const userId = text(user, 'id');
  const upn = text(user, 'userPrincipalName');
  const base = { groups: [], adminRoles: [], flags: { shared: false, executive: false, serviceAccount: false, breakGlass: false }, attributes: {} };
  if (isRecord(user) && ((userId && userId !== NIL_GUID) || upn)) {
    const roles = list(user, 'roles')
      .map((r) => (typeof r === 'string' ? r : (text(r, 'displayName') ?? text(r, 'id') ?? '')))
      .filter(Boolean);
    const name = text(user, 'displayName');
    const ip = text(user, 'ipAddress');
    return {
      actor: {
        ...base,
        adminRoles: roles,
        id: userId && userId !== NIL_GUID ? userId : upn!,
        ...(upn ? { login: upn } : {}),
        ...(name ? { displayName: name } : {}),
        type: 'user',
        ...(ip ? { ip } : {}),
      },
      roles,
      kind: 'user',
    };
  }
  if (isRecord(app) && (text(app, 'appId') || text(app, 'servicePrincipalId'))) {
    const appId = text(app, 'appId');
    const name = text(app, 'displayName');
    return {
      actor: {
        ...base,
        id: text(app, 'servicePrincipalId') ?? appId!,
        ...(name ? { displayName: name } : {}),
        type: 'service',
        flags: { ...base.flags, serviceAccount: true },
        attributes: appId ? { appId } : {},
      },
      roles: [],
      kind: 'app',
    };
  }
  return { actor: { ...base, id: 'entra', displayName: 'Microsoft Entra ID', type: 'system' }, roles: [], kind: 'system' };
}

/** The channel of a change: self-service, help desk (by role), admin, API (an app), or system. */
export function channelOf(input: {
  selfService: boolean;
  actorKind: 'user' | 'app' | 'system';
  actorId: string;
  targetId: string;
  actorRoles: readonly string[];
  helpdeskRoles?: ReadonlySet<string>;
}): Channel {
  if (input.selfService) return 'self_service';
  if (input.actorKind === 'app') return 'api';
  if (input.actorKind === 'system') return 'system';
  if (input.actorId === input.targetId) return 'self_service';
  if (input.helpdeskRoles && input.actorRoles.some((r) => input.helpdeskRoles!.has(r))) return 'helpdesk';
  return 'admin';
}

/**
 * Normalizes one audit record. Returns `ignored` with the reason for records
 * Warden does not govern and failed operations. Warden's own changes are
 * recognised afterwards, by the own-change service (src/connector/own-changes.ts),
 * as for every IdP.
 *
 * @example
 * normalizeDirectoryAudit(record, { tenant: 'acme', via: 'poll', observedAt: clock() })
 * // → { changes: [{ kind: 'factor.enroll', channel: 'admin', factor: { type: 'sms' }, … }] }
 */
export function normalizeDirectoryAudit(record: unknown, options: AuditNormalizeOptions): NormalizeResult {
  const unwrapped = unwrapDirectoryAudit(record);
  if ('ignored' in unwrapped) return unwrapped;
  const rec = unwrapped.audit;
  const activity = text(rec, 'activityDisplayName') ?? '';
  // Graph always sends an id; some exports drop it: a digest of the record keeps duplicates of it one event.
  const id = text(rec, 'id') ?? `sha256:${createHash('sha256').update(JSON.stringify(rec)).digest('hex')}`;
  const result = (text(rec, 'result') ?? 'success').toLowerCase();
  if (result !== 'success') return { ignored: `"${activity}" did not succeed (${result}): nothing changed` };
  const c = classify(rec, activity);
  if ('ignored' in c) return c;

  const targets = list(rec, 'targetResources').filter(isRecord);
  const typeOf = (t: VendorRecord) => (text(t, 'type') ?? '').toLowerCase();
  const target =
    c.target === 'service_principal'
      ? targets.find((t) => ['serviceprincipal', 'application', 'app'].includes(typeOf(t)))
      : targets.find((t) => typeOf(t) === 'user');
  if (!target || !text(target, 'id')) return { ignored: `"${activity}" names no ${c.target === 'service_principal' ? 'service principal' : 'user'} target` };

  const occurredAt = vendorTime(field(rec, 'activityDateTime'));
  if (!occurredAt) return { ignored: `"${activity}" record has no readable activityDateTime` };
  const { actor, roles, kind: actorKind } = actorOf(rec);
  const targetPrincipal = principalOf(target);
  if (c.target === 'service_principal') targetPrincipal.flags = { ...targetPrincipal.flags, serviceAccount: true };
  const channel = channelOf({
    selfService: c.selfService ?? false,
    actorKind,
    actorId: actor.id,
    targetId: targetPrincipal.id,
    actorRoles: roles,
    ...(options.helpdeskRoles ? { helpdeskRoles: options.helpdeskRoles } : {}),
  });

  let factor: IdentityChange['factor'];
  if (c.factor) {
    const methodId =
      c.kind === 'factor.enroll' || c.kind === 'factor.remove' || c.kind === 'tap.issue' ? methodIdFrom(target, c.kind === 'factor.remove') : undefined;
    factor = { type: c.factor.type, ...(methodId ? { id: methodId } : {}), ...(c.factor.name ? { name: c.factor.name } : {}) };
  }

  const context: Record<string, string | number | boolean> = { ...(c.context ?? {}), entraActivity: activity.slice(0, 256) };
  const service = text(rec, 'loggedByService');
  if (service) context.entraService = service;
  if (c.kind === 'role.assign') {
    const role = targets.find((t) => typeOf(t) === 'role');
    const roleName = role ? (text(role, 'displayName') ?? text(role, 'id')) : undefined;
    if (roleName) context.role = roleName;
  }
  if (c.kind === 'credential.add') {
    // Where revoke_new_credential finds it: the object the credential was added to, and whether it is a secret or a key.
    context.credentialOwnerType = typeOf(target) === 'serviceprincipal' ? 'servicePrincipal' : 'application';
    const keyType = list(target, 'modifiedProperties').find((p) => (text(p, 'displayName') ?? '').toLowerCase() === 'keytype');
    const raw = keyType ? field(keyType, 'newValue') : undefined;
    let value: unknown = raw;
    if (typeof raw === 'string')
      try {
        value = JSON.parse(raw);
      } catch {
        value = raw;
      }
    if (typeof value === 'string' && value) context.credentialType = /password/i.test(value) ? 'password' : 'key';
  }
  for (const detail of list(rec, 'additionalDetails'))
    if ((text(detail, 'key') ?? '').toLowerCase() === 'onpremisesagent') context.onPremisesAgent = text(detail, 'value') ?? '';

  const correlationId = text(rec, 'correlationId');
  const eventIds = [id, ...(correlationId ? [`entra-correlation:${correlationId}:${c.kind}:${targetPrincipal.id}`.slice(0, 256)] : [])];
  const change: IdentityChange = {
    id: uuidv7(options.observedAt.getTime()),
    tenant: options.tenant,
    source: { idp: 'entra', eventIds, rawType: activity.slice(0, 256), via: options.via },
    kind: c.kind,
    channel,
    ...(factor ? { factor } : {}),
    target: targetPrincipal,
    actor,
    occurredAt,
    observedAt: options.observedAt.toISOString(),
    context,
  };
  return { changes: [change] };
}
