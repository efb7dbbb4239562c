import type { StoreOps } from '../store/store.js';
import type { AuditRecord } from './audit-log.js';
import { csvLine } from './csv-cell.js';
import { readAuditRows } from './read-audit-rows.js';

/** The columns of the CSV export, in order (the header line). */
export const AUDIT_CSV_COLUMNS = [
  'tenant',
  'seq',
  'at',
  'type',
  'actor_type',
  'actor_id',
  'actor_name',
  'subject',
  'outcome',
  'change_kind',
  'target',
  'change_actor',
  'summary',
  'prev_hash',
  'hash',
  'record',
] as const;

/** Whether to write the header line (once per export, not per tenant). */
export function auditCsvHeader(): string {
  return csvLine(AUDIT_CSV_COLUMNS);
}

/**
 * A tenant's audit records as CSV rows (RFC 4180, CRLF, formula-safe cells:
 * `csvCell`), for auditors' spreadsheets. The common fields get columns;
 * `record` is the exact canonical JSON that was hashed, so a row can still be
 * re-verified (SHA-256 of `record` is `hash`) — as long as the spreadsheet
 * did not rewrite it; a cell the export prefixed with `'` is marked so.
 */
export async function* exportAuditCsv(store: StoreOps, tenant: string, options: { since?: Date } = {}): AsyncGenerator<string> {
  for await (const row of readAuditRows(store, tenant, options)) {
    const r = JSON.parse(row.record) as AuditRecord;
    const d = r.data as {
      outcome?: string;
      summary?: string;
      reason?: string;
      change?: { kind?: string; targetId?: string; targetLogin?: string; actorId?: string; actorLogin?: string };
    };
    yield csvLine([
      r.tenant,
      r.seq,
      r.at,
      r.type,
      r.actor.type,
      r.actor.id,
      r.actor.name,
      Object.entries(r.subject)
        .map(([k, v]) => `${k}=${v}`)
        .join(' '),
      d.outcome,
      d.change?.kind,
      d.change ? (d.change.targetLogin ?? d.change.targetId) : undefined,
      d.change ? (d.change.actorLogin ?? d.change.actorId) : undefined,
      d.summary ?? d.reason,
      row.prevHash,
      row.hash,
      row.record,
    ]);
  }
}
