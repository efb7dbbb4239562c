import type { DirectoryView, SnapshotUser } from '../../src/core/directory-snapshot.js';
import type { IdentityChange, Principal } from '../../src/core/identity-change.js';

/**
 * What the Entra directory adds to a normalized change, the one code both the
 * inbox handler (users read from Graph) and a replay with a directory snapshot
 * (`warden detect replay --directory`, users read from the snapshot) run.
 */

function merge(from: Principal, found: Principal | undefined): Principal {
  if (!found) return from;
  return {
    ...from,
    ...found,
    login: found.login ?? from.login,
    displayName: found.displayName ?? from.displayName,
    flags: { ...found.flags, serviceAccount: from.flags.serviceAccount || found.flags.serviceAccount },
  } as Principal;
}

/** The context with one more scalar signal. */
export function withSignal(context: IdentityChange['context'], key: string, value: string | number | boolean): IdentityChange['context'] {
  const next: Record<string, unknown> = { ...context, [key]: value };
  return next as IdentityChange['context'];
}

/** Whose users enrichment looks up: the target unless a service principal, the actor when a person. */
export function entraLookups(change: IdentityChange): { target: Principal | undefined; actor: Principal | undefined } {
  return {
    target: change.target.flags.serviceAccount ? undefined : change.target,
    actor: change.actor.type === 'user' && change.actor.id !== 'unknown' ? change.actor : undefined,
  };
}

/**
 * The change with what the directory knows of its target and actor
 * (undefined: not found, or not looked up), and `admin` refined to `helpdesk`
 * by the actor's roles: the one code the inbox handler (users read from
 * Graph) and a replay with a directory snapshot (`warden detect replay
 * --directory`) run.
 */
export function applyEntraDirectory(
  change: IdentityChange,
  target: Principal | undefined,
  actor: Principal | undefined,
  helpdeskRoles: ReadonlySet<string>,
): IdentityChange {
  const enrichedActor = actor
    ? { ...change.actor, ...merge(change.actor, actor), type: change.actor.type, ...(change.actor.ip ? { ip: change.actor.ip } : {}) }
    : change.actor;
  const roles = enrichedActor.adminRoles;
  const channel = change.channel === 'admin' && roles.some((r) => helpdeskRoles.has(r)) ? 'helpdesk' : change.channel;
  const context = target ? change.context : withSignal(change.context, 'targetFound', false);
  return { ...change, channel, target: merge(change.target, target), actor: enrichedActor, context };
}

/** `applyEntraDirectory` with the users from a snapshot, looked up as the inbox handler looks them up in Graph. */
export function enrichFromSnapshot(change: IdentityChange, directory: DirectoryView, helpdeskRoles: ReadonlySet<string>): IdentityChange {
  const lookup = (p: Principal) => principalOf(directory.user(p.id) ?? (p.login && p.login !== p.id ? directory.user(p.login) : undefined));
  const ids = entraLookups(change);
  return applyEntraDirectory(change, ids.target ? lookup(ids.target) : undefined, ids.actor ? lookup(ids.actor) : undefined, helpdeskRoles);
}

function principalOf(user: SnapshotUser | undefined): Principal | undefined {
  if (!user) return undefined;
  const { status: _status, ...principal } = user;
  return principal;
}
