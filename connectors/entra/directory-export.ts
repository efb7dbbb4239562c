import { directorySnapshotOf, type DirectoryExportOptions, type DirectorySnapshot, type SnapshotUser } from '../../src/core/directory-snapshot.js';
import type { EntraTenant } from './entra-tenant.js';

/**
 * `warden entra directory export`: the directory's users, each read exactly
 * as enrichment reads one (`EntraDirectory.principal`: profile and account
 * flags, transitive group names, directory roles), the tenant's help-desk
 * roles and its identity links, as a directory snapshot
 * (src/core/directory-snapshot.ts) for `warden detect replay --directory`.
 * In a replay it enriches Entra directoryAudits and Microsoft 365 records, as
 * live.
 *
 * APIs: `GET /users?$select=id&$top=999` (following `@odata.nextLink`), then
 * per user `GET /users/{id}`, `…/transitiveMemberOf/microsoft.graph.group` and
 * `GET /roleManagement/directory/roleAssignments?$filter=principalId eq '…'`.
 */
export async function exportEntraDirectory(tenant: EntraTenant, options: DirectoryExportOptions): Promise<DirectorySnapshot> {
  interface Page {
    value: Array<{ id?: string }>;
    '@odata.nextLink'?: string;
  }
  const users: SnapshotUser[] = [];
  let page = await tenant.session.call(
    'listUsers',
    {},
    (r) =>
      r
        .select(['id'])
        .top(options.pageSize ?? 999)
        .get() as Promise<Page>,
  );
  for (;;) {
    for (const u of page.value) {
      if (typeof u.id !== 'string') continue;
      const principal = await tenant.directory.principal(u.id);
      if (!principal) continue;
      users.push(principal);
      options.onUser?.(users.length);
    }
    const next = page['@odata.nextLink'];
    if (!next) break;
    page = await tenant.session.next<Page>('listUsers', next);
  }
  return directorySnapshotOf(
    { idp: 'entra', org: tenant.config.tenantId, tenant: tenant.id, helpdesk: { roles: [...tenant.helpdeskRoles], groups: [] }, users },
    options,
  );
}
