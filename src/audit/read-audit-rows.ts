import type { AuditRow, StoreOps } from '../store/store.js';

const PAGE = 1000;

/**
 * A tenant's audit rows in chain order, paged. `afterSeq` starts after a
 * record (a sink's cursor); `since` keeps the records whose hashed time is at
 * or after it — the hashed record's time, not the row's column, so re-dating a
 * row cannot drop it from an export.
 */
export async function* readAuditRows(store: StoreOps, tenant: string, options: { since?: Date; afterSeq?: number } = {}): AsyncGenerator<AuditRow> {
  let seq = options.afterSeq ?? 0;
  for (;;) {
    const rows = await store.readAudit(tenant, seq, PAGE);
    for (const row of rows) {
      seq = row.seq;
      if (options.since && Date.parse((JSON.parse(row.record) as { at: string }).at) < options.since.getTime()) continue;
      yield row;
    }
    if (rows.length < PAGE) return;
  }
}
