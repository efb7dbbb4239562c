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

export class EntraDirectory {
  readonly #cache = new Map<string, { at: number; value: Promise<unknown> }>();

  constructor(
    private readonly session: EntraSession,
    private readonly cacheSeconds: number,
    private readonly clock: () => Date,
  ) {}

  #cached<T>(key: string, load: () => Promise<T>): Promise<T> {
    const now = this.clock().getTime();
    const hit = this.#cache.get(key);
    if (hit && now - hit.at < this.cacheSeconds * 1000) return hit.value as Promise<T>;
    const value = load();
    this.#cache.set(key, { at: now, value });
    value.catch(() => this.#cache.delete(key));
    if (this.#cache.size > 5000) this.#cache.delete(this.#cache.keys().next().value!);
    return value;
  }

  /** Drops what is cached about a user (after Warden changed them). */
  forget(id: string): void {
    for (const key of this.#cache.keys()) if (key.endsWith(`:${id.toLowerCase()}`)) this.#cache.delete(key);
  }

  /** A user by object id or UPN; undefined when Entra has none. */
  getUser(idOrUpn: string): Promise<EntraUser | undefined> {
    return this.#cached(`user:${idOrUpn.toLowerCase()}`, async () => {
      try {
        return await this.session.call('getUser', { user: idOrUpn }, (r) => r.select(USER_SELECT).get() as Promise<EntraUser>);
      } catch (err) {
        // 400: not a valid object id or UPN (an Exchange alias, say): no such user either.
        if (err instanceof GraphCallError && (err.status === 404 || err.status === 400)) return undefined;
        throw err;
      }
    });
  }

  /** Names of the groups a user belongs to, directly or through nesting. */
  groupNames(id: string): Promise<string[]> {
    return this.#cached(`groups:${id.toLowerCase()}`, async () => {
      const names: string[] = [];
      let page = await this.session.call(
        'listUserGroups',
        { user: id },
        (r) => r.select(['id', 'displayName']).top(999).get() as Promise<Page<{ displayName?: string | null }>>,
      );
      for (;;) {
        for (const g of page.value) if (g.displayName) names.push(g.displayName);
        const next = page['@odata.nextLink'];
        if (!next || names.length >= 2000) break;
        page = await this.session.next<Page<{ displayName?: string | null }>>('listUserGroups', next);
      }
      return names.slice(0, 2000);
    });
  }

  /** Names of the directory roles assigned to a principal (any scope). */
  roleNames(id: string): Promise<string[]> {
    return this.#cached(`roles:${id.toLowerCase()}`, async () => {
      const page = await this.session.call(
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
  }

  /** A user as a Warden Principal (groups, roles, employee type, account flags); undefined when Entra has none. */
  async principal(idOrUpn: string): Promise<Principal | undefined> {
    const user = await this.getUser(idOrUpn);
    if (!user) return undefined;
    const [groups, roles] = await Promise.all([this.groupNames(user.id), this.roleNames(user.id)]);
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
  }
}
