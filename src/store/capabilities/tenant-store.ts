/** Tenants and the policy version in force for each: part of the Store port (src/store/store.ts). */
export interface TenantStore {
  /** Makes sure tenants exist (from config); returns nothing new for known ones. */
  ensureTenants(ids: readonly string[]): Promise<void>;
  listTenants(): Promise<string[]>;
  /** Records the policy version in force for a tenant; returns the one recorded before, if any. */
  setTenantPolicy(tenant: string, version: string, now: Date): Promise<string | undefined>;
}
