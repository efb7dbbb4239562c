import { directorySnapshotOf, type DirectoryExportOptions, type DirectorySnapshot, type SnapshotUser } from '../../src/core/directory-snapshot.js';
import { WardenError } from '../../src/core/errors.js';
import type { OktaDirectory, OktaUserJson } from './okta-directory.js';
import type { OktaTenant } from './okta-tenant.js';
import { nextLink } from './system-log-poller.js';

/**
 * `warden okta directory export`: the org's users, each with its groups and
 * admin roles read and its profile mapped exactly as enrichment maps it
 * (`OktaDirectory.complete`), the tenant's help-desk roles and groups, and
 * its identity links, as a directory snapshot (src/core/directory-snapshot.ts)
 * for `warden detect replay --directory`.
 *
 * APIs: `GET /api/v1/users` (`limit` 200, following `Link: rel="next"`), then
 * per user `GET /api/v1/users/{id}/groups` and `GET /api/v1/users/{id}/roles`.
 */
export async function exportOktaDirectory(tenant: OktaTenant, directory: OktaDirectory, options: DirectoryExportOptions): Promise<DirectorySnapshot> {
  const client = await tenant.client();
  const users: SnapshotUser[] = [];
  let url: string | undefined = `${client.baseUrl}/api/v1/users?limit=${options.pageSize ?? 200}`;
  while (url) {
    const response = await client.http.http(url, { headers: { Accept: 'application/json' } } as Parameters<typeof client.http.http>[1]);
    const page = (await response.json()) as unknown;
    if (!Array.isArray(page)) throw new WardenError('ERR_UPSTREAM', `GET /api/v1/users answered ${typeof page}, not a list`);
    for (const raw of page as OktaUserJson[]) {
      if (typeof raw?.id !== 'string') continue;
      const user = await directory.complete(tenant, raw);
      users.push({ ...user.principal, ...(user.status ? { status: user.status } : {}) });
      options.onUser?.(users.length);
    }
    url = nextLink(response.headers.get('link'));
  }
  return directorySnapshotOf(
    {
      idp: 'okta',
      org: tenant.config.orgUrl,
      tenant: tenant.id,
      helpdesk: { roles: [...tenant.config.helpdesk.roles], groups: [...tenant.config.helpdesk.groups] },
      users,
    },
    options,
  );
}
