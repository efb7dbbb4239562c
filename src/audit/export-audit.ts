import type { StoreOps } from '../store/store.js';

const PAGE = 1000;

/**
 * The audit records of a tenant as JSON Lines: one record per line, each
 * exactly the canonical JSON that was hashed, with its hash. Lines can be
 * re-verified outside Warden with any SHA-256 and JCS implementation.
 */
export async function* exportAuditJsonl(store: StoreOps, tenant: string, options: { since?: Date } = {}): AsyncGenerator<string> {
  let seq = 0;
  for (;;) {
    const rows = await store.readAudit(tenant, seq, PAGE);
    for (const row of rows) {
      seq = row.seq;
      if (options.since && Date.parse(row.at) < options.since.getTime()) continue;
      yield `{"hash":${JSON.stringify(row.hash)},"record":${row.record}}\n`;
    }
    if (rows.length < PAGE) return;
  }
}
