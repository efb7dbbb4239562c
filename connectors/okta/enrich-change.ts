import { isSignalKind, type IdentityChange, type Principal } from '../../src/core/identity-change.js';
import type { DirectoryView, SnapshotUser } from '../../src/core/directory-snapshot.js';
import { ORG_TARGET_ID } from './normalize-log-event.js';
import type { OktaUser } from './okta-directory.js';

/**
 * What the Okta directory adds to a normalized change, the one code both the
 * inbox handler (users read from Okta) and a replay with a directory snapshot
 * (`warden detect replay --directory`, users read from the snapshot) run:
 * target and actor enriched (groups, admin roles, profile attributes, flags),
 * and an administrator holding a help-desk role or group makes the change
 * channel `helpdesk`.
 */

/** Which roles and groups make an administrator the help desk (`okta.helpdesk` in warden.yaml). */
export interface HelpdeskRule {
  roles: readonly string[];
  groups: readonly string[];
}

function merge(base: Principal, user: OktaUser | undefined): Principal {
  if (!user) return base;
  return {
    ...user.principal,
    ...(user.principal.login ? {} : base.login ? { login: base.login } : {}),
    ...(user.principal.displayName ? {} : base.displayName ? { displayName: base.displayName } : {}),
  };
}

/** The change with what the directory knows of its target and actor (undefined: not found, or not looked up). */
export function applyOktaDirectory(change: IdentityChange, target: OktaUser | undefined, actor: OktaUser | undefined, helpdesk: HelpdeskRule): IdentityChange {
  const isHelpdesk = !!actor && (actor.roleTypes.some((r) => helpdesk.roles.includes(r)) || actor.principal.groups.some((g) => helpdesk.groups.includes(g)));
  return {
    ...change,
    channel: change.channel === 'admin' && isHelpdesk ? 'helpdesk' : change.channel,
    target: merge(change.target, target),
    actor: {
      ...change.actor,
      ...(actor ? { groups: actor.principal.groups, adminRoles: actor.principal.adminRoles } : {}),
      ...(actor?.principal.login && !change.actor.login ? { login: actor.principal.login } : {}),
    },
  };
}

/** Whose users the inbox handler looks up: the target (unless the org itself), and the actor when a person. */
export function oktaLookups(change: IdentityChange): { target: string | undefined; actor: string | undefined } {
  return {
    target: change.target.id !== ORG_TARGET_ID ? change.target.id : undefined,
    actor: change.actor.type === 'user' ? change.actor.id : undefined,
  };
}

/** A snapshot's user as the Okta directory reads one (its admin roles are Okta's role types). */
export function oktaUserOf(user: SnapshotUser | undefined): OktaUser | undefined {
  if (!user) return undefined;
  const { status, ...principal } = user;
  return { principal, roleTypes: principal.adminRoles, ...(status ? { status } : {}) };
}

/**
 * `applyOktaDirectory` with the users from a snapshot, as the inbox handler
 * does with the users from Okta. Signals are not enriched (nor are they live).
 */
export function enrichFromSnapshot(change: IdentityChange, directory: DirectoryView): IdentityChange {
  if (isSignalKind(change.kind)) return change;
  const ids = oktaLookups(change);
  const target = ids.target !== undefined ? oktaUserOf(directory.user(ids.target)) : undefined;
  const actor = ids.actor === undefined ? undefined : ids.actor === change.target.id ? target : oktaUserOf(directory.user(ids.actor));
  return applyOktaDirectory(change, target, actor, directory.helpdesk);
}
