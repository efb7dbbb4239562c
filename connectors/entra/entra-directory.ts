import type { Principal } from '../../src/core/identity-change.js';
import { DIRECTORY_CACHE_MAX_ENTRIES, DirectoryCache } from '../../src/connector/directory-cache.js';
import { GraphCallError, type EntraSession } from './graph-session.js';

/**
 * User look-ups in Entra for enrichment (the `directory` port): profile and
 * account flags (`GET /users/{id}`), group names (`transitiveMemberOf`), and
 * directory roles (`roleManagement/directory/roleAssignments`). Results are
 * cached per person for `cacheSeconds` (`DirectoryCache`) so a burst of audit
 * records about one user, or a back-fill over the same few thousand people,
 * costs one set of calls per person per `cacheSeconds`; concurrent look-ups
 * share one request, failures are not cached, at most 10,000 users are kept
 * (least recently used dropped), and `forget` (after any action Warden takes
 * on the user) drops the user, its groups and roles, and the entries looked
 * up by UPN that answered with that user. One directory per tenant.
 */

/** The user properties Warden reads (a `$select`: employeeType and accountEnabled are not returned by default). */
export const USER_SELECT = ['id', 'userPrincipalName', 'mail', 'displayName', 'employeeType', 'accountEnabled', 'userType', 'department', 'jobTitle'];

export interface EntraUser {
  id: string;
  userPrincipalName?: string | null;
  mail?: string | null;
  displayName?: string | null;
  employeeType?: string | null;
  accountEnabled?: boolean | null;
  userType?: string | null;
  department?: string | null;
  jobTitle?: string | null;
}

interface Page<T> {
  value: T[];
  '@odata.nextLink'?: string;
}

/** Cached user look-ups in one tenant. */
export interface EntraDirectory {
  /** Drops what is cached about a user (after Warden changed them). */
  forget(id: string): void;
  /** A user by object id or UPN; undefined when Entra has none. */
  getUser(idOrUpn: string): Promise<EntraUser | undefined>;
  /** Names of the groups a user belongs to, directly or through nesting. */
  groupNames(id: string): Promise<string[]>;
  /** Names of the directory roles assigned to a principal (any scope). */
  roleNames(id: string): Promise<string[]>;
  /** A user as a Warden Principal (groups, roles, employee type, account flags); undefined when Entra has none. */
  principal(idOrUpn: string): Promise<Principal | undefined>;
}

export function createEntraDirectory(session: EntraSession, cacheSeconds: number, clock: () => Date): EntraDirectory {
  // Three entries a user (the user, its groups, its roles): 10,000 users.
  const cache = new DirectoryCache<unknown>({ maxEntries: 3 * DIRECTORY_CACHE_MAX_ENTRIES });
  // One directory per tenant (EntraTenant): its entries live under one tenant key.
  const TENANT = 'tenant';
  const cached = <T>(key: string, load: () => Promise<T>, person: { id?: string; idOf?: (value: T) => string | undefined } = {}): Promise<T> => {
    const lookup = {
      now: clock().getTime(),
      ttlMs: cacheSeconds * 1000,
      ...(person.id !== undefined ? { id: person.id } : {}),
      ...(person.idOf ? { idOf: person.idOf as (value: unknown) => string | undefined } : {}),
    };
    return cache.get(TENANT, key, lookup, load) as Promise<T>;
  };

  const directory: EntraDirectory = {
    forget(id) {
      cache.forget(TENANT, id);
    },

    getUser(idOrUpn) {
      return cached(
        `user:${idOrUpn.toLowerCase()}`,
        async () => {
          try {
            return await session.call('getUser', { user: idOrUpn }, (r) => r.select(USER_SELECT).get() as Promise<EntraUser>);
          } catch (err) {
            // 400: not a valid object id or UPN (an Exchange alias, say): no such user either.
            if (err instanceof GraphCallError && (err.status === 404 || err.status === 400)) return undefined;
            throw err;
          }
        },
        { idOf: (u: EntraUser | undefined) => u?.id, ...(idOrUpn.includes('@') ? {} : { id: idOrUpn }) },
      );
    },

    groupNames(id) {
      return cached(
        `groups:${id.toLowerCase()}`,
        async () => {
          const names: string[] = [];
          let page = await session.call(
            'listUserGroups',
            { user: id },
            (r) => r.select(['id', 'displayName']).top(999).get() as Promise<Page<{ displayName?: string | null }>>,
          );
          for (;;) {
            for (const g of page.value) if (g.displayName) names.push(g.displayName);
            const next = page['@odata.nextLink'];
            if (!next || names.length >= 2000) break;
            page = await session.next<Page<{ displayName?: string | null }>>('listUserGroups', next);
          }
          return names.slice(0, 2000);
        },
        { id },
      );
    },

    roleNames(id) {
      return cached(
        `roles:${id.toLowerCase()}`,
        async () => {
          const page = await session.call(
            'listRoleAssignments',
            {},
            (r) =>
              r
                .filter(`principalId eq '${id.replace(/'/g, "''")}'`)
                .expand('roleDefinition')
                .get() as Promise<Page<{ roleDefinition?: { displayName?: string } }>>,
          );
          return [...new Set(page.value.map((a) => a.roleDefinition?.displayName).filter((n): n is string => !!n))];
        },
        { id },
      );
    },

    async principal(idOrUpn) {
      const user = await directory.getUser(idOrUpn);
      if (!user) return undefined;
      const [groups, roles] = await Promise.all([directory.groupNames(user.id), directory.roleNames(user.id)]);
      const attributes: Record<string, string | boolean> = {};
      if (typeof user.accountEnabled === 'boolean') attributes.accountEnabled = user.accountEnabled;
      for (const key of ['userType', 'department', 'jobTitle'] as const) if (user[key]) attributes[key] = String(user[key]).slice(0, 256);
      return {
        id: user.id,
        ...(user.userPrincipalName ? { login: user.userPrincipalName } : {}),
        ...(user.mail ? { email: user.mail } : {}),
        ...(user.displayName ? { displayName: user.displayName.slice(0, 256) } : {}),
        groups: groups.map((g) => g.slice(0, 256)),
        adminRoles: roles,
        ...(user.employeeType ? { employeeType: user.employeeType.slice(0, 64) } : {}),
        flags: { shared: false, executive: false, serviceAccount: false, breakGlass: false },
        attributes,
      };
    },
  };
  return directory;
}
