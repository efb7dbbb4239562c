import type { StoreOps } from '../../store/store.js';
import { readAuditRows } from '../read-audit-rows.js';
import { auditRowToOcsf } from './audit-to-ocsf.js';

/**
 * A tenant's decided changes and alerts as OCSF events, one JSON object per
 * line (NDJSON), in chain order. Records without an OCSF class (see
 * `auditRowToOcsf`) are left out; each event carries its chain digests.
 */
export async function* exportAuditOcsf(store: StoreOps, tenant: string, options: { since?: Date } = {}): AsyncGenerator<string> {
  for await (const row of readAuditRows(store, tenant, options)) {
    const event = auditRowToOcsf(row);
    if (event) yield JSON.stringify(event) + '\n';
  }
}
