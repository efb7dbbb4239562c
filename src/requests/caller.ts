import type { WorkflowActor } from '../core/change-request.js';
import { WardenError } from '../core/errors.js';
import type { ApiScope } from '../access/api-keys.js';

/** Warden roles of people, mapped from their IdP groups (`tenants[].oidc.roles`). */
export const ROLES = ['helpdesk', 'approver', 'admin', 'auditor'] as const;
/** One of the Warden roles. */
export type Role = (typeof ROLES)[number];

/** A person signed in with the tenant's IdP (OIDC bearer token, verified). */
export interface UserCaller {
  type: 'user';
  tenant: string;
  /** The subject claim (`sub` for Okta, `oid` for Entra): the IdP id of the person. */
  subject: string;
  /** Other names of the person from the token (login, email), lower-cased. */
  names: string[];
  displayName?: string;
  groups: string[];
  roles: Role[];
  /** When the person last authenticated (`auth_time`). */
  authTime?: Date;
  /** Authentication methods (`amr`). */
  amr: string[];
}

/** Who calls a workflow operation: a person, a machine with an API key, an operator at the CLI, or Warden itself. */
export type Caller =
  | UserCaller
  | { type: 'api_key'; tenant: string; id: string; name: string; scopes: string[] }
  | { type: 'cli'; id: string }
  | { type: 'system'; id: string };

/** Every name the caller's token gives, lower-cased, as recorded in the audit log. Never compared for separation of duties: that compares persons (resolve-person.ts). */
export function callerNames(caller: Caller): Set<string> {
  if (caller.type === 'user') return new Set([caller.subject.toLowerCase(), ...caller.names]);
  return new Set([caller.id.toLowerCase()]);
}

/** How the audit log and the records name a caller. */
export function actorOf(caller: Caller): WorkflowActor {
  switch (caller.type) {
    case 'user':
      return { type: 'user', id: caller.subject, ...(caller.displayName ? { name: caller.displayName } : {}) };
    case 'api_key':
      return { type: 'api_key', id: caller.id, name: caller.name };
    default:
      return { type: caller.type, id: caller.id };
  }
}

/**
 * The caller as a person the records can show: like {@link actorOf}, and a person signed in with a
 * token that carries no display name is named by their login or e-mail, never by the bare IdP id.
 */
export function personOf(caller: Caller): WorkflowActor {
  const actor = actorOf(caller);
  if (caller.type !== 'user' || actor.name) return actor;
  const name = caller.names.find((n) => n.includes('@')) ?? caller.names[0];
  return name ? { ...actor, name } : actor;
}

/**
 * Checks that `caller` may act on `tenant` as one of `roles` (people) or with
 * `scope` (API keys). The CLI operator and Warden itself may. A scope of
 * `requests:write` implies `requests:read`.
 *
 * @throws WardenError `ERR_FORBIDDEN`
 */
export function authorizeCaller(caller: Caller, tenant: string, access: { roles: readonly Role[]; scope?: ApiScope; what: string }): void {
  if (caller.type === 'cli' || caller.type === 'system') return;
  if (caller.tenant !== tenant) throw new WardenError('ERR_FORBIDDEN', `you act for tenant "${caller.tenant}", not "${tenant}"`);
  if (caller.type === 'api_key') {
    const scopes = new Set(caller.scopes);
    if (scopes.has('requests:write')) scopes.add('requests:read');
    if (!access.scope) throw new WardenError('ERR_FORBIDDEN', `${access.what} needs a person signed in with the IdP, not an API key`);
    if (!scopes.has(access.scope)) throw new WardenError('ERR_FORBIDDEN', `${access.what} needs the API key scope ${access.scope}`);
    return;
  }
  if (!access.roles.some((r) => caller.roles.includes(r)))
    throw new WardenError(
      'ERR_FORBIDDEN',
      `${access.what} needs the role ${access.roles.join(' or ')} (from your IdP groups); you have ${caller.roles.join(', ') || 'none'}`,
    );
}
