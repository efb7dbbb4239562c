import type { Actor, Channel, ChangeContext, FactorType, IdentityChange, Principal } from '../../src/core/identity-change.js';
import { uuidv7 } from '../../src/core/ids.js';
import { GOVERNED_EVENT_TYPES, SIGNAL_EVENT_TYPES } from './event-types.js';
import { canonicalLogEvent, publishedIso, type LogActor, type LogEvent, type LogTarget } from './log-event.js';

/**
 * Okta LogEvent → IdentityChange, without any call to Okta (the inbox handler
 * enriches the result afterwards; replays and backtests use it as is).
 *
 * Event types: research okta.md §2 / Okta's event-type catalogue
 * (https://developer.okta.com/docs/reference/api/event-types/).
 */

export interface NormalizeOptions {
  tenant: string;
  via: 'hook' | 'poll';
  /** When Warden learned of the event. */
  observedAt: Date;
}

/** A change and the canonical event it came from, or why the event is not one. */
export type Normalized = { change: IdentityChange; event: LogEvent } | { ignored: string };

/** Okta Support acts as this principal (research okta.md §2; Panther Okta.Support.Reset). */
export const OKTA_SUPPORT_LOGIN = 'system@okta.com';

/** The org itself, as the target of org-level support access (`support.org.*`, impersonation grants). */
export const ORG_TARGET_ID = 'okta-org';

const SUCCESS = new Set(['SUCCESS', 'ALLOW']);

/** Okta factor type names (Factors API `factorType`, System Log `debugData.factor`, `outcome.reason`) → vendor-neutral type. */
export function factorTypeOf(name: string | undefined): FactorType | undefined {
  if (!name) return undefined;
  const n = name.toUpperCase().replace(/[^A-Z0-9]+/g, '_');
  if (/(^|_)(PUSH|SIGNED_NONCE|OKTA_VERIFY|FASTPASS)(_|$)/.test(n) && !/TOTP/.test(n)) return 'push';
  if (/TOTP|GOOGLE_AUTHENTICATOR|TOKEN_SOFTWARE|HOTP/.test(n)) return 'totp';
  if (/SMS/.test(n)) return 'sms';
  if (/CALL|VOICE/.test(n)) return 'voice';
  if (/EMAIL/.test(n)) return 'email';
  if (/WEBAUTHN|FIDO|U2F|(^|_)WEB(_|$)/.test(n)) return 'webauthn';
  if (/YUBIKEY|HARDWARE|RSA|SYMANTEC|DUO|TOKEN/.test(n)) return 'hardware_token';
  if (/QUESTION/.test(n)) return 'security_question';
  if (/TEMPORARY_ACCESS|(^|_)TAC(_|$)/.test(n)) return 'tap';
  if (/PASSWORD/.test(n)) return 'password';
  if (/PHONE/.test(n)) return 'sms';
  return 'other';
}

const lower = (s: string | undefined) => (s ?? '').toLowerCase();
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' && v !== 'unknown' && v !== 'null' ? v : undefined);

function isUserType(t: LogActor | undefined): boolean {
  return lower(t?.type) === 'user';
}

function isSupportActor(actor: LogActor | undefined): boolean {
  return lower(actor?.alternateId) === OKTA_SUPPORT_LOGIN;
}

function isSystemActor(actor: LogActor | undefined): boolean {
  return lower(actor?.type) === 'systemprincipal';
}

/** OAuth service apps (Okta Workflows, scripts) appear as `PublicClientApp`, `PublicClientAppEntity`, app instances. */
function isAppActor(actor: LogActor | undefined): boolean {
  return /app|client/i.test(actor?.type ?? '');
}

function apiTokenId(event: LogEvent): string | undefined {
  return str(event.transaction?.detail?.requestApiTokenId);
}

function principalOf(t: LogActor): Principal {
  return {
    id: t.id!,
    ...(str(t.alternateId) ? { login: t.alternateId } : {}),
    ...(str(t.displayName) ? { displayName: t.displayName } : {}),
    groups: [],
    adminRoles: [],
    flags: { shared: false, executive: false, serviceAccount: false, breakGlass: false },
    attributes: {},
  };
}

/**
 * Who drove the change, read from the event only:
 * - `support`: Okta Support (`system@okta.com`) or Okta-initiated support access;
 * - `system`: Okta itself (`SystemPrincipal`);
 * - `api`: an API token (`transaction.detail.requestApiTokenId`) or an OAuth
 *   service app such as Okta Workflows (actor type `PublicClientApp…`);
 * - `self_service`: the actor is the user changed (same id or same login);
 * - `admin`: another person. The inbox handler turns it into `helpdesk` when
 *   the directory says the actor holds a help-desk role or group.
 */
export function deriveChannel(event: LogEvent, target: LogActor | undefined): Channel {
  const actor = event.actor;
  if (isSupportActor(actor)) return 'support';
  if (isSystemActor(actor)) return 'system';
  if (apiTokenId(event) || isAppActor(actor)) return 'api';
  if (!target) return 'self_service';
  if (isUserType(actor) && (actor?.id === target.id || (!!actor?.alternateId && lower(actor.alternateId) === lower(target.alternateId)))) return 'self_service';
  return 'admin';
}

function actorOf(event: LogEvent): Actor | undefined {
  const a = event.actor;
  if (!a || !str(a.id)) return undefined;
  const type: Actor['type'] = isSupportActor(a) || isSystemActor(a) ? 'system' : isAppActor(a) || apiTokenId(event) ? 'service' : 'user';
  const ip = str(event.client?.ipAddress);
  const ua = str(event.client?.userAgent?.rawUserAgent);
  const session = str(event.authenticationContext?.externalSessionId);
  return { ...principalOf(a), type, ...(ip ? { ip } : {}), ...(ua ? { userAgent: ua.slice(0, 1024) } : {}), ...(session ? { sessionId: session } : {}) };
}

/** `{level=HIGH, reasons=…}` (debugData.risk) → risk level. */
function riskLevel(value: unknown): ChangeContext['riskLevel'] {
  const m = /level=(\w+)/i.exec(typeof value === 'string' ? value : '');
  const level = m?.[1]?.toLowerCase();
  return level === 'high' || level === 'medium' || level === 'low' ? level : undefined;
}

function contextOf(event: LogEvent): ChangeContext {
  const debug = event.debugContext?.debugData ?? {};
  const context: ChangeContext = {};
  const country = str(event.client?.geographicalContext?.country);
  if (country) context.country = country.slice(0, 64);
  const risk = riskLevel(debug.risk);
  if (risk) context.riskLevel = risk;
  if (String(debug.threatSuspected).toLowerCase() === 'true') context.ipReputation = 'suspicious';
  if (typeof debug.behaviors === 'string' && /New Device=POSITIVE/i.test(debug.behaviors)) context.newDevice = true;
  const requestId = str(debug.requestId);
  if (requestId) context.oktaRequestId = requestId.slice(0, 256);
  const tx = str(event.transaction?.id);
  if (tx) context.oktaTransactionId = tx.slice(0, 256);
  const token = apiTokenId(event);
  if (token) context.apiTokenId = token;
  const reason = str(event.outcome?.reason);
  if (reason) context.oktaOutcomeReason = reason.slice(0, 255);
  return context;
}

function factorOf(event: LogEvent): IdentityChange['factor'] {
  const enrollment = event.target?.find((t) => /authenticatorenrollment|factor/i.test(t.type ?? ''));
  const debug = event.debugContext?.debugData ?? {};
  const fromReason = /\b([A-Z][A-Z0-9_:]+)\s+factor\b/.exec(event.outcome?.reason ?? '')?.[1];
  const name = str(debug.factor) ?? fromReason ?? str(enrollment?.displayName);
  const type = factorTypeOf(name) ?? factorTypeOf(str(enrollment?.displayName));
  if (!type && !enrollment?.id) return undefined;
  return {
    type: type ?? 'other',
    ...(str(enrollment?.id) ? { id: enrollment!.id } : {}),
    ...(name ? { name: name.slice(0, 256) } : str(enrollment?.displayName) ? { name: enrollment!.displayName } : {}),
  };
}

/** The Okta Verify push factor, as `debugContext.debugData.factor` names it (Elastic rules 97a8e584 / 8a0fbd26). */
const OKTA_VERIFY_PUSH = 'OKTA_VERIFY_PUSH';

/**
 * An MFA challenge outcome as a signal (`mfa.denied` / `mfa.verified`), or
 * why the event is none. The person challenged is the event's actor (the
 * catalogue lists only authenticator enrollments as targets of
 * `auth_via_mfa`; Elastic keys push bombing on `okta.actor.id`), so the
 * signal's target and actor are both that user. Conservative on purpose: a
 * denied push only when the event shows a push was denied (a Classic
 * `deny_push`, or an Identity Engine `auth_via_mfa` FAILURE with reason
 * `INVALID_CREDENTIALS` and factor `OKTA_VERIFY_PUSH`); a wrong TOTP code, a
 * FastPass phishing refusal or a failure without a named factor is not one.
 * A passed verification is a successful `auth_via_mfa` other than the
 * password (Identity Engine logs the password step as `auth_via_mfa` too,
 * factor `PASSWORD_AS_FACTOR`): counting it would let the attacker's own next
 * password step "complete" push fatigue before anyone approved a push.
 */
function normalizeSignal(event: LogEvent, type: string, options: NormalizeOptions): Normalized {
  const a = event.actor;
  if (!a || !isUserType(a) || !str(a.id)) return { ignored: `${type} names no user who was challenged` };
  const result = str(event.outcome?.result)?.toUpperCase();
  const reason = str(event.outcome?.reason);
  const factorName = str(event.debugContext?.debugData?.factor);
  const enrollment = factorOf(event);
  let kind: 'mfa.denied' | 'mfa.verified';
  let factor: IdentityChange['factor'];
  if (type === 'user.mfa.okta_verify.deny_push') {
    kind = 'mfa.denied';
    factor = { type: 'push', ...(enrollment?.id ? { id: enrollment.id } : {}), ...(factorName ? { name: factorName.slice(0, 256) } : {}) };
  } else if (result === 'FAILURE') {
    if (reason !== 'INVALID_CREDENTIALS' || factorName?.toUpperCase() !== OKTA_VERIFY_PUSH)
      return { ignored: `${type} FAILURE (${reason ?? 'no reason'}, factor ${factorName ?? 'not named'}): not a denied Okta Verify push` };
    kind = 'mfa.denied';
    factor = { type: 'push', ...(enrollment?.id ? { id: enrollment.id } : {}), name: factorName };
  } else if (result === 'SUCCESS') {
    if (enrollment?.type === 'password')
      return { ignored: `${type} SUCCESS with the password (${factorName ?? enrollment.name ?? 'password'}): not an MFA verification` };
    kind = 'mfa.verified';
    factor = enrollment;
  } else return { ignored: `${type} with outcome ${result ?? 'none'}: neither a denied push nor a passed verification` };

  const user = principalOf(a);
  const actor = actorOf(event)!;
  const observedAt = options.observedAt.toISOString();
  const uuid = str(event.uuid);
  const change: IdentityChange = {
    id: uuidv7(options.observedAt.getTime()),
    tenant: options.tenant,
    source: { idp: 'okta', eventIds: uuid ? [uuid.slice(0, 256)] : [], rawType: type, via: options.via },
    kind,
    channel: deriveChannel(event, a),
    ...(factor ? { factor } : {}),
    target: user,
    actor,
    occurredAt: publishedIso(event.published) ?? observedAt,
    observedAt,
    context: contextOf(event),
  };
  return { change, event };
}

/**
 * Normalizes one Okta LogEvent. Returns the change, or `ignored` with the
 * reason for what Warden does not govern (kept and counted by the inbox
 * worker, never dropped silently). Keys may be lower-cased (exports).
 *
 * @example
 *   normalizeLogEvent(event, { tenant: 'acme', via: 'hook', observedAt: clock() })
 *   // → { change: { kind: 'factor.reset_all', channel: 'admin', target: { id: '00u…' }, … } }
 */
export function normalizeLogEvent(raw: unknown, options: NormalizeOptions): Normalized {
  const event = canonicalLogEvent(raw);
  const type = str(event.eventType);
  if (!type) return { ignored: 'not an Okta LogEvent: no eventType' };
  if (SIGNAL_EVENT_TYPES[type]) return normalizeSignal(event, type, options);
  const governed = GOVERNED_EVENT_TYPES[type];
  if (!governed) return { ignored: `event type ${type} is not governed by Warden` };
  const result = str(event.outcome?.result)?.toUpperCase();
  if (result && !SUCCESS.has(result) && !governed.anyOutcome) return { ignored: `${type} with outcome ${result}: nothing changed` };

  const actor = actorOf(event);
  if (!actor) return { ignored: `${type} without an actor` };
  const userTarget = event.target?.find((t) => isUserType(t) && str(t.id));
  let target: Principal;
  let channelTarget: LogTarget | undefined = userTarget;
  if (userTarget) target = principalOf(userTarget);
  else if (governed.kind === 'support.access') {
    target = { ...principalOf({ id: ORG_TARGET_ID, displayName: 'Okta org' }) };
    channelTarget = { id: ORG_TARGET_ID };
  } else if (isUserType(event.actor)) {
    // OIE factor events target the AuthenticatorEnrollment, and API tokens belong to the admin who creates them: the user is the actor.
    target = principalOf(event.actor!);
    channelTarget = event.actor;
  } else return { ignored: `${type} names no user it changed` };

  const context = contextOf(event);
  if (governed.kind === 'credential.add') {
    const token = event.target?.find((t) => /token/i.test(t.type ?? ''));
    if (str(token?.id)) context.credentialId = token!.id!;
    if (str(token?.displayName)) context.credentialName = token!.displayName!.slice(0, 256);
    context.credentialType = 'api_token';
  }
  if (governed.kind === 'role.assign') {
    const granted = str(event.debugContext?.debugData?.privilegeGranted);
    if (granted) context.privilegeGranted = granted.slice(0, 512);
  }

  const factor = governed.kind.startsWith('factor.') && governed.kind !== 'factor.reset_all' ? factorOf(event) : undefined;
  const observedAt = options.observedAt.toISOString();
  const occurredAt = publishedIso(event.published) ?? observedAt;
  const uuid = str(event.uuid);
  const change: IdentityChange = {
    id: uuidv7(options.observedAt.getTime()),
    tenant: options.tenant,
    source: { idp: 'okta', eventIds: uuid ? [uuid.slice(0, 256)] : [], rawType: type, via: options.via },
    kind: governed.kind,
    channel: deriveChannel(event, channelTarget),
    ...(factor ? { factor } : {}),
    target,
    actor,
    occurredAt,
    observedAt,
    context,
  };
  return { change, event };
}
