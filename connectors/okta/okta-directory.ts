import type { Principal } from '../../src/core/identity-change.js';
import { wardenCommand, type ConnectorContext, type Directory } from '../../src/connector/index.js';
import { httpStatusOf, toActionError } from './okta-errors.js';
import { systemClock, type Clock } from '../../src/core/clock.js';
import type { OktaTenant, OktaTenants } from './okta-tenant.js';
import { WardenError } from '../../src/core/errors.js';
import { DIRECTORY_CACHE_MAX_ENTRIES, DirectoryCache } from '../../src/connector/directory-cache.js';

/**
 * Reads users from Okta (profile, groups, admin roles) for enrichment, with a
 * short per-tenant, per-person cache (`DirectoryCache`) so a burst of events
 * about one user — or a catch-up over thousands of changes to the same few
 * thousand people — costs one set of API calls per person per
 * `enrichment.cacheSeconds` (60 s by default): concurrent look-ups of one user
 * share one request, at most 10,000 users are kept (least recently used
 * dropped), and any action Warden takes on a user forgets that user
 * (`forgetUser`, called by the enforcer). Also the connector's `directory`
 * port.
 *
 * APIs: `GET /api/v1/users/{id}`, `GET /api/v1/users/{id}/groups`
 * (`userApi.listUserGroups`), `GET /api/v1/users/{id}/roles`
 * (`roleAssignmentApi.listAssignedRolesForUser`).
 */
export interface OktaUser {
  principal: Principal;
  status?: string;
  /** Admin role types (`SUPER_ADMIN`, `HELP_DESK_ADMIN`, …). */
  roleTypes: string[];
}

/** A user as Okta's Users API returns one (the fields Warden reads). */
export interface OktaUserJson {
  id: string;
  status?: string;
  profile?: Record<string, unknown>;
}

type Scalar = string | number | boolean | null;

/** The Okta directory: users with groups, roles and attributes (cached), the hold group, Warden's own identity. */
export interface OktaDirectory extends Directory {
  /** The `directory` port: a user by id or login, undefined when Okta has none. */
  getUser(tenantId: string, idOrLogin: string, ctx: ConnectorContext): Promise<Principal | undefined>;
  /** A user with roles, from the cache when fresh. */
  user(tenant: OktaTenant, idOrLogin: string, ctx: ConnectorContext): Promise<OktaUser | undefined>;
  /** Forgets what is cached for a tenant. */
  forget(tenantId: string): void;
  /** Forgets what is cached of one user, by id or login (after Warden changed the user's groups); the others stay cached. */
  forgetUser(tenantId: string, userId: string): void;
  /** A user Okta returned, with groups and roles read and the profile mapped as enrichment maps it (uncached): `warden okta directory export`. */
  complete(tenant: OktaTenant, user: OktaUserJson): Promise<OktaUser>;
  /** Whether the user is in the tenant's hold group (inline token hook). */
  isHeld(tenant: OktaTenant, userId: string, ctx: ConnectorContext): Promise<boolean>;
  /** The hold group's id: configured, or looked up by name once (`groupApi.listGroups`, `q=`). */
  holdGroupId(tenant: OktaTenant): Promise<string>;
  /** The Okta principal Warden acts as: configured, or the OAuth client id, or the API token's user. */
  serviceIdentity(tenant: OktaTenant, clock?: Clock): Promise<string | undefined>;
}

/** Test switches: the cache's bound. */
export interface OktaDirectoryOptions {
  /** Users kept at most, all tenants together (least recently used dropped first). Default 10,000. */
  maxUsers?: number;
}

export function createOktaDirectory(tenants: OktaTenants, options: OktaDirectoryOptions = {}): OktaDirectory {
  const maxUsers = options.maxUsers ?? DIRECTORY_CACHE_MAX_ENTRIES;
  /** Whole users, as enrichment reads them. */
  const cache = new DirectoryCache<OktaUser | undefined>({ maxEntries: maxUsers });
  /**
   * The three reads of a user being loaded (user, groups, roles), kept only until the user is
   * complete: when Okta refuses one (a 429 on the `api` bucket, say) the retry reads what is
   * missing, not the user again. Dropped once the user is cached whole, or forgotten with it.
   */
  const parts = new DirectoryCache<unknown>({ maxEntries: 3 * maxUsers });

  const holdGroupIds = new Map<string, Promise<string>>();

  /** Warden's own principal per tenant, once learnt; a lookup Okta refused for its rate limit, until the bucket resets. */
  const identities = new Map<string, { id: Promise<string | undefined>; refusedUntil?: number }>();

  async function load(tenant: OktaTenant, idOrLogin: string, lookup: { now: number; ttlMs: number }): Promise<OktaUser | undefined> {
    const client = await tenant.client();
    const part = <T>(key: string, read: () => Promise<T>, person: { id?: string; idOf?: (value: unknown) => string | undefined }) =>
      parts.get(tenant.id, key, { ...lookup, ...person }, read) as Promise<T>;
    const userKey = `user:${idOrLogin}`;
    const user = await part<OktaUserJson | undefined>(
      userKey,
      async () => {
        try {
          return (await client.http.getJson(`${client.baseUrl}/api/v1/users/${encodeURIComponent(idOrLogin)}`)) as unknown as OktaUserJson;
        } catch (err) {
          if (httpStatusOf(err) === 404) return undefined;
          throw err;
        }
      },
      { idOf: (u) => (u as OktaUserJson | undefined)?.id },
    );
    if (!user) {
      parts.drop(tenant.id, userKey);
      return undefined;
    }
    const groups = await part(`groups:${user.id}`, () => readGroups(tenant, user.id), { id: user.id });
    const roleTypes = await part(`roles:${user.id}`, () => readRoles(tenant, user.id), { id: user.id });
    for (const key of [userKey, `groups:${user.id}`, `roles:${user.id}`]) parts.drop(tenant.id, key);
    return oktaUserOf(tenant, user, groups, roleTypes);
  }

  /** The names of a user's groups (`GET /api/v1/users/{id}/groups`). */
  async function readGroups(tenant: OktaTenant, userId: string): Promise<string[]> {
    const client = await tenant.client();
    const groups: string[] = [];
    for await (const g of await client.userApi.listUserGroups({ userId })) if (g?.profile?.name) groups.push(g.profile.name);
    return groups;
  }

  /** A user's admin role types, a custom role by its label (`GET /api/v1/users/{id}/roles`). */
  async function readRoles(tenant: OktaTenant, userId: string): Promise<string[]> {
    const client = await tenant.client();
    const roleTypes: string[] = [];
    for await (const r of await client.roleAssignmentApi.listAssignedRolesForUser({ userId })) {
      const role = r as { type?: string; label?: string };
      if (role?.type) roleTypes.push(role.type === 'CUSTOM' && role.label ? role.label : role.type);
    }
    return roleTypes;
  }

  /**
   * A user Okta returned (`GET /api/v1/users/{id}`, or one of `GET /api/v1/users`), with its groups and
   * admin roles read and its profile mapped as enrichment maps it (uncached): what
   * `warden okta directory export` writes for each user.
   */
  async function complete(tenant: OktaTenant, user: OktaUserJson): Promise<OktaUser> {
    const groups = await readGroups(tenant, user.id);
    return oktaUserOf(tenant, user, groups, await readRoles(tenant, user.id));
  }

  /** The profile mapped as enrichment maps it, with the user's groups and role types. */
  function oktaUserOf(tenant: OktaTenant, user: OktaUserJson, groups: string[], roleTypes: string[]): OktaUser {
    const profile = user.profile ?? {};
    const str = (k: string) => (typeof profile[k] === 'string' && profile[k] !== '' ? (profile[k] as string) : undefined);
    const { enrichment } = tenant.config;
    const attributes: Record<string, Scalar> = {};
    for (const name of enrichment.attributes) {
      const v = profile[name];
      if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) attributes[name] = v as Scalar;
    }
    const inAny = (names: readonly string[]) => names.some((n) => groups.includes(n));
    const displayName = [str('firstName'), str('lastName')].filter(Boolean).join(' ') || str('displayName');
    const principal: Principal = {
      id: user.id,
      ...(str('login') ? { login: str('login') } : {}),
      ...(str('email') ? { email: str('email') } : {}),
      ...(displayName ? { displayName } : {}),
      groups: groups.slice(0, 2000),
      adminRoles: roleTypes.slice(0, 500),
      ...((str('employeeType') ?? str('userType')) ? { employeeType: (str('employeeType') ?? str('userType'))!.slice(0, 64) } : {}),
      ...(str('managerId') ? { managerId: str('managerId') } : {}),
      flags: {
        executive: inAny(enrichment.flagGroups.executive),
        shared: inAny(enrichment.flagGroups.shared),
        serviceAccount: inAny(enrichment.flagGroups.serviceAccount),
        breakGlass: inAny(enrichment.flagGroups.breakGlass),
      },
      attributes,
    };
    return { principal, roleTypes, ...(user.status ? { status: user.status } : {}) };
  }

  const directory: OktaDirectory = {
    complete,
    /** The `directory` port: a user by id or login, undefined when Okta has none. */
    async getUser(tenantId: string, idOrLogin: string, ctx: ConnectorContext): Promise<Principal | undefined> {
      return (await directory.user(tenants.get(ctx.config, tenantId), idOrLogin, ctx))?.principal;
    },
    /** A user with roles, from the cache when fresh. */
    user(tenant: OktaTenant, idOrLogin: string, ctx: ConnectorContext): Promise<OktaUser | undefined> {
      const lookup = { now: ctx.clock().getTime(), ttlMs: tenant.config.enrichment.cacheSeconds * 1000 };
      return cache.get(tenant.id, idOrLogin, { ...lookup, idOf: (u) => u?.principal.id }, () => load(tenant, idOrLogin, lookup));
    },
    /** Forgets what is cached for a tenant. */
    forget(tenantId: string): void {
      cache.forgetTenant(tenantId);
      parts.forgetTenant(tenantId);
    },
    /** Forgets one user: the entry under its id, those under a login that Okta answered with that id, and a look-up by login still in flight that turns out to be that user. */
    forgetUser(tenantId: string, userId: string): void {
      cache.forget(tenantId, userId);
      parts.forget(tenantId, userId);
    },
    /** Whether the user is in the tenant's hold group (inline token hook). */
    async isHeld(tenant: OktaTenant, userId: string, ctx: ConnectorContext): Promise<boolean> {
      const user = await directory.user(tenant, userId, ctx);
      return !!user && user.principal.groups.includes(tenant.config.holdGroup.name);
    },
    /** The hold group's id: configured, or looked up by name once (`groupApi.listGroups`, `q=`). */
    holdGroupId(tenant: OktaTenant): Promise<string> {
      if (tenant.config.holdGroup.id) return Promise.resolve(tenant.config.holdGroup.id);
      let id = holdGroupIds.get(tenant.id);
      if (!id) {
        id = findGroupId(tenant, tenant.config.holdGroup.name).then((found) => {
          if (!found)
            throw new WardenError(
              'ERR_CONFIG_INVALID',
              `the hold group "${tenant.config.holdGroup.name}" does not exist in ${tenant.config.orgUrl}: run \`${wardenCommand()} okta provision --tenant ${tenant.id}\``,
            );
          return found;
        });
        id.catch(() => holdGroupIds.delete(tenant.id));
        holdGroupIds.set(tenant.id, id);
      }
      return id;
    },
    /**
     * The Okta principal Warden acts as: configured, or the OAuth client id, or
     * the API token's user (`GET /api/v1/users/me`).
     */
    serviceIdentity(tenant: OktaTenant, clock: Clock = systemClock): Promise<string | undefined> {
      if (tenant.config.serviceIdentity || tenant.config.auth.type === 'oauth') return serviceIdentityOf(tenant);
      const known = identities.get(tenant.id);
      if (known && (known.refusedUntil === undefined || clock().getTime() < known.refusedUntil)) return known.id;
      const lookup: { id: Promise<string | undefined>; refusedUntil?: number } = { id: serviceIdentityOf(tenant) };
      identities.set(tenant.id, lookup);
      lookup.id.catch((err: unknown) => {
        if (identities.get(tenant.id) !== lookup) return;
        // Refused by the rate limit: every entry asks again only once the bucket has reset (one call, not one per entry).
        const wait = httpStatusOf(err) === 429 ? toActionError(err, 'GET /api/v1/users/me', clock()).retryAfterMs : undefined;
        if (wait !== undefined) lookup.refusedUntil = clock().getTime() + wait;
        else identities.delete(tenant.id);
      });
      return lookup.id;
    },
  };
  return directory;
}
/**
 * The Okta principal Warden acts as, the `actor` of the events Okta logs for
 * Warden's calls: `serviceIdentity` when configured, else the OAuth service
 * app's client id, else the API token's user (`GET /api/v1/users/me`).
 * `workflow.brokerIdentities` must name it for broker mode.
 */
export async function serviceIdentityOf(tenant: OktaTenant): Promise<string | undefined> {
  if (tenant.config.serviceIdentity) return tenant.config.serviceIdentity;
  if (tenant.config.auth.type === 'oauth') return tenant.config.auth.clientId;
  const client = await tenant.client();
  return ((await client.http.getJson(`${client.baseUrl}/api/v1/users/me`)) as { id?: string }).id;
}

/** A group's id by exact name (`GET /api/v1/groups?q=`), undefined when there is none. */
export async function findGroupId(tenant: OktaTenant, name: string): Promise<string | undefined> {
  for await (const g of await (await tenant.client()).groupApi.listGroups({ q: name, limit: 200 })) if (g?.profile?.name === name && g.id) return g.id;
  return undefined;
}
