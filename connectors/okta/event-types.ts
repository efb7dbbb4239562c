import type { ChangeKind } from '../../src/core/identity-change.js';

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

/**
 * The event types `warden okta hooks register` subscribes the event hook to
 * (and `infra/terraform/okta` exports): exactly the governed, hook-eligible ones.
 */
export const HOOK_EVENT_TYPES: readonly string[] = Object.freeze(
  Object.entries(GOVERNED_EVENT_TYPES)
    .filter(([, t]) => t.hook)
    .map(([type]) => type)
    .sort(),
);

/** What only the System Log poller can see (not event-hook eligible). */
export const POLL_ONLY_EVENT_TYPES: readonly string[] = Object.freeze(
  Object.entries(GOVERNED_EVENT_TYPES)
    .filter(([, t]) => !t.hook)
    .map(([type]) => type)
    .sort(),
);

/** Every governed type: the System Log poller's filter. */
export const POLLED_EVENT_TYPES: readonly string[] = Object.freeze(Object.keys(GOVERNED_EVENT_TYPES).sort());

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
  'broker:factor.reset_all': ['user.mfa.factor.reset_all', 'user.mfa.factor.deactivate'],
  'broker:password.reset': ['user.account.reset_password'],
});
