import { GENESIS_HASH } from '../store/sql-store.js';
import type { AuditRow, StoreOps } from '../store/store.js';
import type { AuditRecord } from './audit-log.js';
import { canonicalJson } from './canonical-json.js';
import { hashRecordText } from './audit-log.js';

/** The first record of a chain that does not verify, and why. */
export interface AuditBreak {
  tenant: string;
  seq: number;
  id: string;
  reason: string;
}

export interface AuditVerification {
  tenant: string;
  records: number;
  /** Hash of the last record: compare it with a copy kept elsewhere to detect a rewritten chain. */
  head: string;
  ok: boolean;
  break?: AuditBreak;
}

const PAGE = 1000;

/**
 * Checks one stored record against the expected predecessor; returns why it
 * fails, if it does. The row's columns that queries use (tenant, seq, id,
 * type, at) must agree with the hashed record: a column edited alone shows.
 */
export function checkRecord(row: AuditRow, expectedSeq: number, expectedPrev: string): string | undefined {
  if (row.seq !== expectedSeq) return `sequence gap: expected record ${expectedSeq}, found ${row.seq}`;
  let record: AuditRecord;
  try {
    record = JSON.parse(row.record) as AuditRecord;
  } catch {
    return 'record is not valid JSON';
  }
  if (canonicalJson(record) !== row.record) return 'record is not in canonical form (edited outside Warden)';
  const hash = hashRecordText(row.record);
  if (hash !== row.hash) return `hash mismatch: stored ${row.hash.slice(0, 12)}…, recomputed ${hash.slice(0, 12)}… (record content changed)`;
  if (record.prevHash !== expectedPrev || row.prevHash !== expectedPrev)
    return `broken link: previous hash should be ${expectedPrev.slice(0, 12)}…, record says ${record.prevHash.slice(0, 12)}…`;
  if (record.tenant !== row.tenant || record.seq !== row.seq || record.id !== row.id || record.type !== row.type)
    return 'record fields disagree with its row (tenant, seq, id or type)';
  // The row's time is what exports and queries filter on; the hashed record's time is the true one.
  if (typeof record.at !== 'string' || Date.parse(record.at) !== Date.parse(row.at))
    return `record time disagrees with its row: the record says ${String(record.at)}, the row ${row.at} (row re-dated)`;
  return undefined;
}

/**
 * Recomputes a tenant's chain from the first record: sequence without gaps,
 * each hash over the canonical JSON, each record linked to the previous hash,
 * and the stored head matching the last record (a deleted tail shows).
 * Stops at the first record that fails.
 */
export async function verifyAudit(store: StoreOps, tenant: string, onProgress?: (records: number) => void): Promise<AuditVerification> {
  let prev = GENESIS_HASH;
  let seq = 0;
  for (;;) {
    const rows = await store.readAudit(tenant, seq, PAGE);
    for (const row of rows) {
      const reason = checkRecord(row, seq + 1, prev);
      if (reason) return { tenant, records: seq, head: prev, ok: false, break: { tenant, seq: row.seq, id: row.id, reason } };
      prev = row.hash;
      seq = row.seq;
    }
    onProgress?.(seq);
    if (rows.length < PAGE) break;
  }
  const head = await store.auditHead(tenant);
  if (head.seq !== seq || head.hash !== prev) {
    return {
      tenant,
      records: seq,
      head: prev,
      ok: false,
      break: {
        tenant,
        seq: Math.min(head.seq, seq + 1),
        id: '',
        reason: `chain head says ${head.seq} records ending in ${head.hash.slice(0, 12)}…, but ${seq} records end in ${prev.slice(0, 12)}… (records removed?)`,
      },
    };
  }
  return { tenant, records: seq, head: prev, ok: true };
}
