/** One audit record as stored: `record` is the canonical JSON that was hashed. */
export interface AuditRow {
  tenant: string;
  seq: number;
  id: string;
  at: string;
  type: string;
  record: string;
  prevHash: string;
  hash: string;
}

/** The tip of a tenant's audit chain. */
export interface AuditHead {
  seq: number;
  hash: string;
}

/** The tamper-evident audit chain of each tenant: part of the Store port (src/store/store.ts). */
export interface AuditStore {
  /**
   * Appends to a tenant's audit chain. `build` gets the current head and
   * returns the new record with its hash; appends for one tenant are
   * serialized, so the chain never forks.
   */
  appendAudit(tenant: string, build: (head: AuditHead) => Omit<AuditRow, 'tenant'>): Promise<AuditRow>;
  /** Audit records of a tenant with `seq > afterSeq`, oldest first. */
  readAudit(tenant: string, afterSeq: number, limit: number): Promise<AuditRow[]>;
  auditHead(tenant: string): Promise<AuditHead>;
  /** Tenants that have audit records. */
  auditTenants(): Promise<string[]>;
}
