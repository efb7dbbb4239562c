import { systemClock } from './clock.js';
import { z } from 'zod';
import { uuidv7 } from './ids.js';

/**
 * The normalized operation, whatever IdP it came from (design §3). Connectors
 * turn vendor events into an `IdentityChange`; policy, workflow and detection
 * only ever see this shape. The schemas here are also what the HTTP API
 * validates and what `/openapi.json` is generated from.
 */

export const TenantId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'tenant ids are 1-63 lower-case letters, digits or "-", starting with a letter or digit')
  .describe('Tenant id, as in the hook URLs and the config file');
export type TenantId = z.infer<typeof TenantId>;

export const CHANGE_KINDS = [
  'factor.enroll',
  'factor.remove',
  'factor.reset_all',
  'factor.update',
  'factor.suspend',
  'password.reset',
  'password.change',
  'password.expire',
  'recovery.update',
  'tap.issue',
  'session.revoke',
  'account.suspend',
  'account.unlock',
  'support.access',
  'mfa.bypass',
  // MFA challenge outcomes (a denied push, a passed verification): signals, not changes (SIGNAL_KINDS).
  'mfa.denied',
  'mfa.verified',
  'mailbox.rule',
  'role.assign',
  'credential.add',
] as const;
export const ChangeKind = z.enum(CHANGE_KINDS).describe('What kind of identity change this is');
export type ChangeKind = z.infer<typeof ChangeKind>;

/**
 * The kinds that are **signals**, not changes: MFA challenge outcomes (a
 * denied push, a passed verification). Nothing in the IdP changed, and a busy
 * tenant logs thousands an hour, so they are never decided: no policy
 * evaluation, no decision, no outbox action, no audit record, not stored as
 * changes. The inbox worker hands them to detection only
 * (src/engine/observe-signal.ts), where push fatigue correlates them; the
 * alert they raise is audited like any other.
 */
export const SIGNAL_KINDS = ['mfa.denied', 'mfa.verified'] as const satisfies readonly ChangeKind[];
export type SignalKind = (typeof SIGNAL_KINDS)[number];

const SIGNALS: ReadonlySet<string> = new Set(SIGNAL_KINDS);

/** Whether a change kind is a signal (`SIGNAL_KINDS`): observed by detection, never decided. */
export function isSignalKind(kind: string): kind is SignalKind {
  return SIGNALS.has(kind);
}

export const CHANNELS = ['self_service', 'admin', 'helpdesk', 'support', 'api', 'system'] as const;
export const Channel = z
  .enum(CHANNELS)
  .describe('Who drove the change: the user themself, an administrator, the help desk, IdP vendor support, an API client, or the IdP itself');
export type Channel = z.infer<typeof Channel>;

export const FACTOR_TYPES = [
  'push',
  'totp',
  'sms',
  'voice',
  'email',
  'webauthn',
  'platform',
  'hardware_token',
  'security_question',
  'password',
  'tap',
  'other',
] as const;
export const FactorType = z.enum(FACTOR_TYPES).describe('Authenticator type, vendor-neutral');
export type FactorType = z.infer<typeof FactorType>;

const Scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

const IsoTime = z.iso.datetime({ offset: true });

export const PrincipalFlags = z
  .object({
    shared: z.boolean().default(false).describe('A shared or team account'),
    executive: z.boolean().default(false).describe('Marked as an executive (VIP) in the IdP'),
    serviceAccount: z.boolean().default(false).describe('A non-human identity'),
    breakGlass: z.boolean().default(false).describe('An emergency-access account'),
  })
  .strict();

/** A person or non-human identity in the IdP: the target of a change, or its actor. */
export const Principal = z
  .object({
    id: z.string().min(1).max(256).describe('IdP object id (Okta user id, Entra object id)'),
    login: z.string().max(320).optional().describe('Login / user principal name'),
    email: z.string().max(320).optional(),
    displayName: z.string().max(256).optional(),
    groups: z.array(z.string().max(256)).max(2000).default([]).describe('Group names the principal belongs to'),
    adminRoles: z.array(z.string().max(256)).max(500).default([]).describe('Administrator roles held'),
    employeeType: z.string().max(64).optional().describe('e.g. employee, contractor'),
    managerId: z.string().max(256).optional(),
    flags: PrincipalFlags.default({ shared: false, executive: false, serviceAccount: false, breakGlass: false }),
    attributes: z.record(z.string().max(128), Scalar).default({}).describe('Further profile attributes, for tier expressions'),
  })
  .strict();
export type Principal = z.infer<typeof Principal>;
export type PrincipalInput = z.input<typeof Principal>;

export const ActorType = z.enum(['user', 'service', 'system']).describe('user: a person; service: an API token or app; system: the IdP itself');

/** Who performed the change, with where they performed it from. */
export const Actor = Principal.extend({
  type: ActorType.default('user'),
  ip: z.string().max(64).optional(),
  userAgent: z.string().max(1024).optional(),
  deviceId: z.string().max(256).optional(),
  sessionId: z.string().max(256).optional(),
}).strict();
export type Actor = z.infer<typeof Actor>;

export const AlertRef = z
  .object({
    id: z.string(),
    rule: z.string(),
    severity: z.enum(['low', 'medium', 'high', 'critical']),
    on: z.enum(['target', 'actor']).optional().describe("Whom the alert is about: the change's target, or its actor (e.g. an agent resetting many users)"),
    covered: z
      .boolean()
      .optional()
      .describe(
        "Every change of the alert was covered by an approved change request (Warden's own approved work): `has(a.covered) && a.covered`. False when any change was not",
      ),
  })
  .strict();
/** An open detection alert as policy sees it in `context.alerts`. */
export type AlertRef = z.infer<typeof AlertRef>;

/**
 * Signals around the change. Known keys are typed; connectors may add further
 * scalar signals, which policies can read with `has(context.x)`.
 */
export const ChangeContext = z
  .object({
    ipReputation: z.enum(['trusted', 'unknown', 'suspicious', 'malicious']).optional(),
    newDevice: z.boolean().optional().describe('The device was not seen before for this user'),
    deviceTrusted: z.boolean().optional().describe('The device is managed / compliant'),
    riskLevel: z.enum(['none', 'low', 'medium', 'high']).optional().describe('IdP risk level of the user or session'),
    phoneChangedAt: IsoTime.optional().describe('When the recovery / MFA phone number last changed'),
    recoveryChangedAt: IsoTime.optional().describe('When the primary email or recovery data last changed'),
    mailboxRulesChangedAt: IsoTime.optional().describe('When inbox rules or forwarding of the requester mailbox last changed'),
    country: z.string().max(64).optional(),
    alerts: z.array(AlertRef).max(100).optional().describe('Open detection alerts on the target'),
  })
  .catchall(Scalar);
export type ChangeContext = z.infer<typeof ChangeContext>;

export const ChangeSource = z
  .object({
    idp: z
      .string()
      .regex(/^[a-z][a-z0-9_-]{0,31}$/)
      .describe('okta, entra, m365, api, …'),
    eventIds: z.array(z.string().min(1).max(256)).max(100).default([]).describe('Vendor event ids this change was built from'),
    rawType: z.string().max(256).describe('Vendor event type, e.g. user.mfa.factor.reset_all'),
    via: z.enum(['hook', 'poll', 'ssf', 'inline', 'api']),
  })
  .strict();
export type ChangeSource = z.infer<typeof ChangeSource>;

export const Factor = z
  .object({
    type: FactorType,
    id: z.string().max(256).optional(),
    name: z.string().max(256).optional(),
  })
  .strict();

const changeShape = {
  id: z.uuid(),
  tenant: TenantId,
  source: ChangeSource,
  kind: ChangeKind,
  channel: Channel,
  factor: Factor.optional(),
  target: Principal,
  actor: Actor,
  occurredAt: IsoTime.describe('When the IdP says it happened'),
  observedAt: IsoTime.describe('When Warden learned of it'),
  context: ChangeContext.default({}),
};

/** One normalized identity change. */
export const IdentityChange = z.object(changeShape).strict().describe('A normalized identity change');
export type IdentityChange = z.infer<typeof IdentityChange>;

/**
 * A change as a caller proposes it (HTTP API, decision cases): the fields
 * Warden can fill in are optional.
 */
export const ChangeInput = z
  .object({
    ...changeShape,
    id: changeShape.id.optional(),
    tenant: TenantId.optional(),
    source: ChangeSource.optional(),
    occurredAt: IsoTime.optional(),
    observedAt: IsoTime.optional(),
  })
  .strict()
  .describe('An identity change as proposed by a caller; id, tenant, source and times are filled in when absent');
export type ChangeInput = z.input<typeof ChangeInput>;

/** Fills in what a proposed change may leave out. `input` must already be parsed by `ChangeInput`. */
export function completeChange(input: z.output<typeof ChangeInput>, tenant: TenantId, now: Date = systemClock()): IdentityChange {
  const iso = now.toISOString();
  return {
    ...input,
    id: input.id ?? uuidv7(now.getTime()),
    tenant,
    source: input.source ?? { idp: 'api', eventIds: [], rawType: 'warden.decision_request', via: 'api' },
    occurredAt: input.occurredAt ?? iso,
    observedAt: input.observedAt ?? iso,
  };
}
