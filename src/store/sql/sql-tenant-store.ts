import type { TenantStore } from '../capabilities/tenant-store.js';
import { SqlAggregate } from './sql-aggregate.js';

/** Tenants and the policy version in force for each, in SQL. */
export class SqlTenantStore extends SqlAggregate implements TenantStore {
  async ensureTenants(ids: readonly string[]): Promise<void> {
    for (const id of ids) await this.db.query('INSERT INTO tenants (id) VALUES ($1) ON CONFLICT (id) DO NOTHING', [id]);
  }

  async listTenants(): Promise<string[]> {
    return (await this.db.query<{ id: string }>('SELECT id FROM tenants ORDER BY id')).map((r) => r.id);
  }

  async setTenantPolicy(tenant: string, version: string, now: Date): Promise<string | undefined> {
    const [row] = await this.db.query<{ previous: string | null }>(
      `UPDATE tenants t SET policy_version = $2, policy_loaded_at = $3
       FROM (SELECT id, policy_version AS previous FROM tenants WHERE id = $1 FOR UPDATE) old
       WHERE t.id = old.id RETURNING old.previous`,
      [tenant, version, now.toISOString()],
    );
    return row?.previous ?? undefined;
  }
}
