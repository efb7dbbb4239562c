import type { AuditHead, AuditRow, AuditStore } from '../capabilities/audit-store.js';
import { SqlAggregate, iso, num, type Row } from './sql-aggregate.js';

/** The audit head of a tenant with no records yet: seq 0 and a hash of 64 zeros. */
export const GENESIS_HASH = '0'.repeat(64);

function auditRow(r: Row): AuditRow {
  return {
    tenant: String(r.tenant),
    seq: num(r.seq),
    id: String(r.id),
    at: iso(r.at),
    type: String(r.type),
    record: String(r.record),
    prevHash: String(r.prev_hash),
    hash: String(r.hash),
  };
}

/** The tamper-evident audit chain of each tenant, in SQL. */
export class SqlAuditStore extends SqlAggregate implements AuditStore {
  /**
   * Two statements on a chain that has a head: the head locked and read, then
   * the record inserted and the head moved in one statement (every decision
   * appends at least one record; the round trips count). The head row of a
   * tenant's first record is created first, once.
   */
  async appendAudit(tenant: string, build: (head: AuditHead) => Omit<AuditRow, 'tenant'>): Promise<AuditRow> {
    return this.db.transaction(async (tx) => {
      const lockHead = () => tx.query<{ seq: unknown; hash: string }>('SELECT seq, hash FROM audit_heads WHERE tenant = $1 FOR UPDATE', [tenant]);
      let [head] = await lockHead();
      if (!head) {
        await tx.query('INSERT INTO audit_heads (tenant, seq, hash) VALUES ($1, 0, $2) ON CONFLICT (tenant) DO NOTHING', [tenant, GENESIS_HASH]);
        [head] = await lockHead();
      }
      const record = build({ seq: num(head!.seq), hash: head!.hash });
      await tx.query(
        `WITH appended AS (
           INSERT INTO audit (tenant, seq, id, at, type, record, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         )
         UPDATE audit_heads SET seq = $2, hash = $8 WHERE tenant = $1`,
        [tenant, record.seq, record.id, record.at, record.type, record.record, record.prevHash, record.hash],
      );
      return { tenant, ...record };
    });
  }

  async readAudit(tenant: string, afterSeq: number, limit: number): Promise<AuditRow[]> {
    const rows = await this.db.query('SELECT * FROM audit WHERE tenant = $1 AND seq > $2 ORDER BY seq LIMIT $3', [tenant, afterSeq, limit]);
    return rows.map(auditRow);
  }

  async auditHead(tenant: string): Promise<AuditHead> {
    const [row] = await this.db.query<{ seq: unknown; hash: string }>('SELECT seq, hash FROM audit_heads WHERE tenant = $1', [tenant]);
    return row ? { seq: num(row.seq), hash: row.hash } : { seq: 0, hash: GENESIS_HASH };
  }

  async auditTenants(): Promise<string[]> {
    return (await this.db.query<{ tenant: string }>('SELECT DISTINCT tenant FROM audit ORDER BY tenant')).map((r) => r.tenant);
  }
}
