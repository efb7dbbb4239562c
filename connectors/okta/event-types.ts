import type { ChangeKind, SignalKind } from '../../src/core/identity-change.js';
import { OwnChanges } from '../../src/connector/index.js';

/**
 * The Okta System Log event types Warden governs, what each becomes, and how
 * it reaches Warden. Okta delivers only "event hook eligible" types by event
 * hook; the rest come only from the System Log poller.
 *
 * Source: Okta's event-type catalogue (release 2026.08.1, tag
 * `event-hook-eligible`), https://developer.okta.com/docs/reference/api/event-types/
 * — checked against test/fixtures/okta/event-types-identity-subset.json by a test.
 */
export interface GovernedEventType {
  kind: ChangeKind;
  /** Okta delivers it by event hook (catalogue tag `event-hook-eligible`); otherwise only the poller sees it. */
  hook: boolean;
  /** Any outcome is a change (an attempt counts), not only `SUCCESS`. */
  anyOutcome?: boolean;
}

/** Governed Okta event types by name: the change kind each becomes, and whether Okta delivers it by hook. */
export const GOVERNED_EVENT_TYPES: Readonly<Record<string, GovernedEventType>> = Object.freeze({
  'user.mfa.factor.activate': { kind: 'factor.enroll', hook: true },
  'user.mfa.factor.deactivate': { kind: 'factor.remove', hook: true },
  'user.mfa.factor.reset_all': { kind: 'factor.reset_all', hook: true },
  'user.mfa.factor.update': { kind: 'factor.update', hook: true },
  'user.mfa.factor.suspend': { kind: 'factor.suspend', hook: true },
  'user.mfa.factor.unsuspend': { kind: 'factor.update', hook: true },
  'user.mfa.attempt_bypass': { kind: 'mfa.bypass', hook: false, anyOutcome: true },
  'user.account.reset_password': { kind: 'password.reset', hook: true },
  'user.account.update_password': { kind: 'password.change', hook: true },
  'user.account.expire_password': { kind: 'password.expire', hook: false },
  'user.account.update_primary_email': { kind: 'recovery.update', hook: false },
  'user.account.update_secondary_email': { kind: 'recovery.update', hook: false },
  'user.session.clear': { kind: 'session.revoke', hook: true },
  'user.lifecycle.suspend': { kind: 'account.suspend', hook: true },
  'user.account.unlock_by_admin': { kind: 'account.unlock', hook: true },
  'user.account.unlock': { kind: 'account.unlock', hook: true },
  'user.session.impersonation.grant': { kind: 'support.access', hook: false },
  'user.session.impersonation.initiate': { kind: 'support.access', hook: false },
  'user.session.impersonation.extend': { kind: 'support.access', hook: false },
  'support.org.update': { kind: 'support.access', hook: false },
  'support.org.view': { kind: 'support.access', hook: false },
  'user.account.privilege.grant': { kind: 'role.assign', hook: true },
  'system.api_token.create': { kind: 'credential.add', hook: true },
});

/** An Okta event type that carries a signal (an MFA challenge outcome), not a change. */
export interface SignalEventType {
  /** What it can become (which one, or none, depends on the event's outcome and factor: normalize-log-event.ts). */
  kinds: readonly SignalKind[];
  /** Okta delivers it by event hook (catalogue tag `event-hook-eligible`); otherwise only the poller sees it. */
  hook: boolean;
}

/**
 * Okta event types that carry **signals**: MFA challenge outcomes, which
 * detection reads (push fatigue) and policy never decides (SIGNAL_KINDS in
 * src/core/identity-change.ts). What counts follows Elastic's push-bombing
 * rules 97a8e584 / 8a0fbd26 (research detection.md §2.2), conservatively:
 * - `user.authentication.auth_via_mfa` (hook-eligible): a FAILURE with
 *   reason `INVALID_CREDENTIALS` and `debugContext.debugData.factor`
 *   `OKTA_VERIFY_PUSH` is a denied push (how Identity Engine records one);
 *   a SUCCESS other than the password is a passed MFA verification;
 * - `user.mfa.okta_verify.deny_push` (not hook-eligible: poller only): the
 *   user rejected an Okta Verify push (Classic, V1 API).
 * `user.session.start`, `user.authentication.sso` and
 * `user.authentication.verify` are not read: docs/okta.md says why.
 */
export const SIGNAL_EVENT_TYPES: Readonly<Record<string, SignalEventType>> = Object.freeze({
  'user.authentication.auth_via_mfa': { kinds: ['mfa.denied', 'mfa.verified'], hook: true },
  'user.mfa.okta_verify.deny_push': { kinds: ['mfa.denied'], hook: false },
});

/** Every event type Warden reads, governed or signal, with whether Okta delivers it by hook. */
const READ_EVENT_TYPES: ReadonlyArray<[string, { hook: boolean }]> = [...Object.entries(GOVERNED_EVENT_TYPES), ...Object.entries(SIGNAL_EVENT_TYPES)];

/**
 * The event types `warden okta hooks register` subscribes the event hook to
 * (and `infra/terraform/okta` exports): exactly the hook-eligible ones Warden
 * reads, governed or signal.
 */
export const HOOK_EVENT_TYPES: readonly string[] = Object.freeze(
  READ_EVENT_TYPES.filter(([, t]) => t.hook)
    .map(([type]) => type)
    .sort(),
);

/**
 * The event hook's types for one tenant: `HOOK_EVENT_TYPES`, without the
 * signal types when the tenant has them polled instead
 * (`okta.eventHook.signals: false`, for orgs whose MFA volume would near
 * Okta's 400,000 hooked events a day).
 */
export function hookEventTypes(options: { signals: boolean }): readonly string[] {
  return options.signals ? HOOK_EVENT_TYPES : HOOK_EVENT_TYPES.filter((t) => !SIGNAL_EVENT_TYPES[t]);
}

/** What only the System Log poller can see (not event-hook eligible). */
export const POLL_ONLY_EVENT_TYPES: readonly string[] = Object.freeze(
  READ_EVENT_TYPES.filter(([, t]) => !t.hook)
    .map(([type]) => type)
    .sort(),
);

/** Every type Warden reads: the System Log poller's filter. */
export const POLLED_EVENT_TYPES: readonly string[] = Object.freeze(READ_EVENT_TYPES.map(([type]) => type).sort());

/**
 * The System Log filter expression for the poller:
 * `eventType eq "a" or eventType eq "b" …` (SCIM filter syntax,
 * https://developer.okta.com/docs/reference/system-log-query/).
 */
export function systemLogFilter(types: readonly string[] = POLLED_EVENT_TYPES): string {
  return types.map((t) => `eventType eq "${t}"`).join(' or ');
}

/**
 * Event types Okta records when Warden's own actions run, by action kind:
 * recognised when they come back (and for the governed ones, ignored).
 */
export const OWN_ACTION_EVENT_TYPES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  remove_new_factor: ['user.mfa.factor.deactivate'],
  reset_factors: ['user.mfa.factor.reset_all', 'user.mfa.factor.deactivate'],
  revoke_sessions: ['user.session.clear'],
  expire_password: ['user.account.expire_password'],
  suspend: ['user.lifecycle.suspend'],
  unsuspend: ['user.lifecycle.unsuspend'],
  hold_group: ['group.user_membership.add'],
  release_hold_group: ['group.user_membership.remove'],
  raise_risk: ['user.risk.change'],
  revoke_new_credential: ['system.api_token.revoke'],
  'broker:factor.reset_all': ['user.mfa.factor.reset_all', 'user.mfa.factor.deactivate'],
  'broker:password.reset': ['user.account.reset_password'],
});

/** Okta's own-change service (src/connector/own-changes.ts): the one matching semantics every connector uses. */
export const OKTA_OWN_CHANGES = new OwnChanges('okta', 'Okta');
