import type { Principal } from '../../src/core/identity-change.js';
import { GraphCallError, type EntraSession } from './graph-session.js';

/**
 * User look-ups in Entra for enrichment (the `directory` port): profile and
 * account flags (`GET /users/{id}`), group names (`transitiveMemberOf`), and
 * directory roles (`roleManagement/directory/roleAssignments`). Results are
 * cached for `cacheSeconds` so a burst of audit records about one user costs
 * one set of calls; failures are not cached.
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
  const cache = new Map<string, { at: number; value: Promise<unknown> }>();
  const cached = <T>(key: string, load: () => Promise<T>): Promise<T> => {
    const now = clock().getTime();
    const hit = cache.get(key);
    if (hit && now - hit.at < cacheSeconds * 1000) return hit.value as Promise<T>;
    const value = load();
    cache.set(key, { at: now, value });
    value.catch(() => cache.delete(key));
    if (cache.size > 5000) cache.delete(cache.keys().next().value!);
    return value;
  };

  const directory: EntraDirectory = {
    forget(id) {
      for (const key of cache.keys()) if (key.endsWith(`:${id.toLowerCase()}`)) cache.delete(key);
    },

    getUser(idOrUpn) {
      return cached(`user:${idOrUpn.toLowerCase()}`, async () => {
        try {
          return await session.call('getUser', { user: idOrUpn }, (r) => r.select(USER_SELECT).get() as Promise<EntraUser>);
        } catch (err) {
          // 400: not a valid object id or UPN (an Exchange alias, say): no such user either.
          if (err instanceof GraphCallError && (err.status === 404 || err.status === 400)) return undefined;
          throw err;
        }
      });
    },

    groupNames(id) {
      return cached(`groups:${id.toLowerCase()}`, async () => {
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
      });
    },

    roleNames(id) {
      return cached(`roles:${id.toLowerCase()}`, async () => {
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
      });
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
