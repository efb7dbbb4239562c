import type { OidcConfig } from '../config/workflow-config-schema.js';
import { ROLES, type Role, type UserCaller } from '../requests/caller.js';

/** A signed-in person as a session stores them (JSON-safe {@link UserCaller}). */
export interface ConsolePerson {
  tenant: string;
  subject: string;
  names: string[];
  displayName?: string;
  groups: string[];
  roles: Role[];
  /** `auth_time`, ISO 8601. */
  authTime?: string;
  amr: string[];
  /** When this session last completed a step-up sign-in (ISO 8601); decisions need one within `oidc.stepUp.maxAuthAge`. */
  stepUpAt?: string;
}

/**
 * The person an ID token names, with their Warden roles from the groups
 * claim, mapped as `tenants[].oidc.roles` maps them for the API: the same
 * claims {@link OidcVerifier} reads from a bearer token.
 */
export function personFromClaims(tenant: string, oidc: OidcConfig, claims: Record<string, unknown>): ConsolePerson | undefined {
  const subject = claims[oidc.subjectClaim];
  if (typeof subject !== 'string' || !subject) return undefined;
  const rawGroups = claims[oidc.groupsClaim];
  const groups = Array.isArray(rawGroups) ? rawGroups.filter((g): g is string => typeof g === 'string') : [];
  const roles = ROLES.filter((role) => oidc.roles[role].some((g) => groups.includes(g)));
  const names = new Set<string>();
  for (const claim of ['sub', 'uid', 'oid', 'preferred_username', 'email', 'upn']) {
    const v = claims[claim];
    if (typeof v === 'string' && v) names.add(v.toLowerCase());
  }
  names.delete(subject.toLowerCase());
  const amr = Array.isArray(claims.amr) ? claims.amr.filter((m): m is string => typeof m === 'string') : [];
  const authTime = typeof claims.auth_time === 'number' ? new Date(claims.auth_time * 1000).toISOString() : undefined;
  const displayName = typeof claims.name === 'string' && claims.name ? claims.name : undefined;
  return { tenant, subject, names: [...names], ...(displayName ? { displayName } : {}), groups, roles, ...(authTime ? { authTime } : {}), amr };
}

/** The caller the workflow operations authorize: the same shape a bearer token gives the API. */
export function callerOf(person: ConsolePerson): UserCaller {
  return {
    type: 'user',
    tenant: person.tenant,
    subject: person.subject,
    names: [...person.names],
    ...(person.displayName ? { displayName: person.displayName } : {}),
    groups: [...person.groups],
    roles: [...person.roles],
    ...(person.authTime ? { authTime: new Date(person.authTime) } : {}),
    amr: [...person.amr],
  };
}

/** How pages name the person. */
export function nameOf(person: ConsolePerson): string {
  return person.displayName ?? person.names.find((n) => n.includes('@')) ?? person.names[0] ?? person.subject;
}
