import type { StoreOps } from '../store/store.js';

const PAGE = 1000;

/**
 * The audit records of a tenant as JSON Lines: one record per line, each
 * exactly the canonical JSON that was hashed, with its hash. Lines can be
 * re-verified outside Warden with any SHA-256 and JCS implementation.
 * `since` keeps the records whose (hashed) time is at or after it.
 */
export async function* exportAuditJsonl(store: StoreOps, tenant: string, options: { since?: Date } = {}): AsyncGenerator<string> {
  let seq = 0;
  for (;;) {
    const rows = await store.readAudit(tenant, seq, PAGE);
    for (const row of rows) {
      seq = row.seq;
      // Filtered on the hashed record's time, not the row's column: re-dating a row cannot drop it from an export.
      if (options.since && Date.parse((JSON.parse(row.record) as { at: string }).at) < options.since.getTime()) continue;
      yield `{"hash":${JSON.stringify(row.hash)},"record":${row.record}}\n`;
    }
    if (rows.length < PAGE) return;
  }
}

/** `warden audit export --format`: the hashed records (jsonl), decided changes and alerts as OCSF events (ocsf), or a spreadsheet (csv). */
export const AUDIT_EXPORT_FORMATS = ['jsonl', 'ocsf', 'csv'] as const;
