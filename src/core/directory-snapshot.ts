import { z } from 'zod';
import { Principal } from './identity-change.js';

/**
 * A directory snapshot: what an IdP's directory said at one time about its
 * users (profile, groups, admin roles), which of its roles and groups make an
 * administrator the help desk, and which accounts across IdPs are one person.
 * `warden okta directory export` and `warden entra directory export` write
 * one from the live IdP; `warden detect replay --directory FILE` reads it, so
 * that a replay enriches vendor records as the live path does (channel, tier,
 * person). Format: docs/detection.md ("Directory snapshots").
 *
 * @example
 * {
 *   "apiVersion": "warden/v1", "kind": "DirectorySnapshot", "exportedAt": "2026-03-02T09:00:00.000Z",
 *   "directories": [{ "idp": "okta", "org": "https://acme.okta.com", "helpdesk": { "roles": ["HELP_DESK_ADMIN"], "groups": [] },
 *                     "users": [{ "id": "00u1", "login": "dana@acme.com", "groups": ["Everyone"], "adminRoles": [] }] }],
 *   "links": [{ "person": "dana@acme.com", "accounts": ["entra:5f1c…", "dana@acme.onmicrosoft.com"] }]
 * }
 */

/** The format's version: readers refuse any other. */
export const DIRECTORY_SNAPSHOT_API_VERSION = 'warden/v1';

const IsoTime = z.iso.datetime({ offset: true });

/** A user as the IdP's directory gave it: a Principal (as the live enrichment builds it), with the account status where the IdP has one. */
export const SnapshotUser = Principal.extend({
  status: z.string().max(64).optional().describe('Account status in the IdP (Okta: ACTIVE, SUSPENDED, …)'),
}).strict();
export type SnapshotUser = z.infer<typeof SnapshotUser>;

/** One IdP's directory. */
export const SnapshotDirectory = z
  .object({
    idp: z.string().min(1).max(64).describe('The IdP whose records it enriches: okta, entra (Entra also enriches Microsoft 365 records, as live)'),
    org: z.string().max(512).describe('Which directory: the Okta org URL, the Entra tenant id'),
    tenant: z.string().max(64).optional().describe('The Warden tenant it was exported for'),
    exportedAt: IsoTime.optional(),
    helpdesk: z
      .object({
        roles: z.array(z.string().max(256)).default([]).describe('Admin roles that make an administrator the help desk'),
        groups: z.array(z.string().max(256)).default([]).describe('Groups that make an administrator the help desk (Okta)'),
      })
      .strict()
      .default({ roles: [], groups: [] }),
    users: z.array(SnapshotUser).default([]),
  })
  .strict();
export type SnapshotDirectory = z.infer<typeof SnapshotDirectory>;

/** Accounts that are one person: the person's key, and the other names it goes by (logins, emails, `<idp>:<id>`). */
export const IdentityLink = z
  .object({
    person: z.string().min(1).max(320),
    accounts: z.array(z.string().min(1).max(320)).min(1),
  })
  .strict();
export type IdentityLink = z.infer<typeof IdentityLink>;

/** The whole file. */
export const DirectorySnapshot = z
  .object({
    apiVersion: z.literal(DIRECTORY_SNAPSHOT_API_VERSION),
    kind: z.literal('DirectorySnapshot'),
    exportedAt: IsoTime,
    directories: z.array(SnapshotDirectory).default([]),
    domains: z.record(z.string(), z.string()).default({}).describe('Domain aliases: `acme.onmicrosoft.com: acme.com` (as detection.identities.domains)'),
    links: z.array(IdentityLink).default([]).describe('Accounts that are one person (as detection.identities.aliases)'),
  })
  .strict();
export type DirectorySnapshot = z.infer<typeof DirectorySnapshot>;
export type DirectorySnapshotInput = z.input<typeof DirectorySnapshot>;

/** What an export is told besides its directory: when, the tenant's identity links, progress, page size. */
export interface DirectoryExportOptions {
  exportedAt: Date;
  identities?: { domains: Readonly<Record<string, string>>; aliases: Readonly<Record<string, readonly string[]>> };
  onUser?: (count: number) => void;
  /** Users per page of the IdP's listing (default: the largest page the IdP serves). */
  pageSize?: number;
}

/**
 * The snapshot of one IdP's exported directory (`warden okta|entra directory
 * export`): the directory as read, with the tenant's identity links as `domains` and `links`.
 */
export function directorySnapshotOf(
  directory: Omit<SnapshotDirectory, 'exportedAt'>,
  options: Pick<DirectoryExportOptions, 'exportedAt' | 'identities'>,
): DirectorySnapshot {
  const exportedAt = options.exportedAt.toISOString();
  return DirectorySnapshot.parse({
    apiVersion: DIRECTORY_SNAPSHOT_API_VERSION,
    kind: 'DirectorySnapshot',
    exportedAt,
    directories: [{ ...directory, exportedAt }],
    domains: { ...(options.identities?.domains ?? {}) },
    links: Object.entries(options.identities?.aliases ?? {})
      .filter(([, accounts]) => accounts.length > 0)
      .map(([person, accounts]) => ({ person, accounts: [...accounts] })),
  });
}

/** The users of one IdP's snapshot, found by id or login as the live directory finds them. */
export interface DirectoryView {
  /** The IdP's directory name (org URL, tenant id). */
  readonly org: string;
  readonly helpdesk: { readonly roles: readonly string[]; readonly groups: readonly string[] };
  /** A user by IdP id (exact), or by login or email (any case); undefined when the snapshot has none. */
  user(idOrLogin: string): SnapshotUser | undefined;
}

class IndexedDirectory implements DirectoryView {
  readonly org: string;
  readonly helpdesk: { roles: string[]; groups: string[] };
  readonly #byId = new Map<string, SnapshotUser>();
  readonly #byName = new Map<string, SnapshotUser>();

  constructor(directories: readonly SnapshotDirectory[]) {
    this.org = directories.map((d) => d.org).join(', ');
    this.helpdesk = {
      roles: [...new Set(directories.flatMap((d) => d.helpdesk.roles))],
      groups: [...new Set(directories.flatMap((d) => d.helpdesk.groups))],
    };
    for (const d of directories)
      for (const u of d.users) {
        this.#byId.set(u.id, u);
        if (u.login) this.#byName.set(u.login.toLowerCase(), u);
        if (u.email && !this.#byName.has(u.email.toLowerCase())) this.#byName.set(u.email.toLowerCase(), u);
      }
  }

  user(idOrLogin: string): SnapshotUser | undefined {
    return this.#byId.get(idOrLogin) ?? this.#byName.get(idOrLogin.toLowerCase());
  }
}

/** Several snapshots read together: each IdP's directory, and the identity links of all. */
export class DirectoryIndex {
  readonly #views = new Map<string, DirectoryView>();
  /** Domain aliases of all snapshots. */
  readonly domains: Readonly<Record<string, string>>;
  /** Identity links of all snapshots, as aliases: person → the names it goes by. */
  readonly aliases: Readonly<Record<string, readonly string[]>>;

  constructor(snapshots: readonly DirectorySnapshot[]) {
    const byIdp = new Map<string, SnapshotDirectory[]>();
    for (const s of snapshots) for (const d of s.directories) byIdp.set(d.idp, [...(byIdp.get(d.idp) ?? []), d]);
    for (const [idp, dirs] of byIdp) this.#views.set(idp, new IndexedDirectory(dirs));
    const domains: Record<string, string> = {};
    const aliases: Record<string, string[]> = {};
    for (const s of snapshots) {
      Object.assign(domains, s.domains);
      for (const l of s.links) aliases[l.person] = [...new Set([...(aliases[l.person] ?? []), ...l.accounts])];
    }
    this.domains = domains;
    this.aliases = aliases;
  }

  /** The directory of one IdP, if a snapshot has it. */
  directory(idp: string): DirectoryView | undefined {
    return this.#views.get(idp);
  }

  /** The IdPs the snapshots hold directories of. */
  get idps(): string[] {
    return [...this.#views.keys()];
  }
}
