import type { AuditRow } from '../capabilities/audit-store.js';
import type { AuditSubjectRefs, CursorState, DecisionDayCount, FailureCounts, OversightStore } from '../capabilities/oversight-store.js';
import { SqlAggregate, iso, num, parsed } from './sql-aggregate.js';

/** Read-only views for oversight, in SQL. */
export class SqlOversightStore extends SqlAggregate implements OversightStore {
  async auditAbout(tenant: string, refs: AuditSubjectRefs, limit: number): Promise<AuditRow[]> {
    const ids = [refs.requestId ?? null, refs.decisionId ?? null, refs.changeId ?? null];
    if (ids.every((v) => v === null)) return [];
    // The record is the canonical JSON that was hashed: read as jsonb only to filter, returned verbatim.
    const rows = await this.db.query(
      `SELECT * FROM audit WHERE tenant = $1 AND (
         ($2::text IS NOT NULL AND (record::jsonb -> 'subject' ->> 'requestId') = $2) OR
         ($3::text IS NOT NULL AND (record::jsonb -> 'subject' ->> 'decisionId') = $3) OR
         ($4::text IS NOT NULL AND (record::jsonb -> 'subject' ->> 'changeId') = $4))
       ORDER BY seq LIMIT $5`,
      [tenant, ...ids, limit],
    );
    return rows.map((r) => ({
      tenant: String(r.tenant),
      seq: num(r.seq),
      id: String(r.id),
      at: iso(r.at),
      type: String(r.type),
      record: String(r.record),
      prevHash: String(r.prev_hash),
      hash: String(r.hash),
    }));
  }

  async decisionsByDay(tenant: string, since: Date): Promise<DecisionDayCount[]> {
    const rows = await this.db.query<{ day: string; outcome: string; n: unknown }>(
      `SELECT to_char(decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, outcome, count(*) AS n
         FROM decisions WHERE tenant = $1 AND decided_at >= $2 GROUP BY 1, 2 ORDER BY 1, 2`,
      [tenant, since.toISOString()],
    );
    return rows.map((r) => ({ day: r.day, outcome: r.outcome as DecisionDayCount['outcome'], count: num(r.n) }));
  }

  async alertsByRule(tenant: string, since: Date): Promise<Array<{ rule: string; count: number }>> {
    const rows = await this.db.query<{ rule: string; n: unknown }>(
      'SELECT rule, count(*) AS n FROM alerts WHERE tenant = $1 AND raised_at >= $2 GROUP BY rule ORDER BY 2 DESC, 1',
      [tenant, since.toISOString()],
    );
    return rows.map((r) => ({ rule: r.rule, count: num(r.n) }));
  }

  async cursorStates(tenant: string): Promise<CursorState[]> {
    const rows = await this.db.query('SELECT name, value, updated_at FROM cursors WHERE tenant = $1 ORDER BY name', [tenant]);
    return rows.map((r) => ({ name: String(r.name), value: parsed(r.value), updatedAt: iso(r.updated_at) }));
  }

  async failureCounts(tenant: string): Promise<FailureCounts> {
    const [row] = await this.db.query<Record<string, unknown>>(
      `SELECT (SELECT count(*) FROM inbox WHERE tenant = $1 AND state = 'failed') AS inbox_failed,
              (SELECT count(*) FROM actions WHERE tenant = $1 AND state = 'failed') AS outbox_failed,
              (SELECT count(*) FROM notify_deliveries WHERE tenant = $1 AND state = 'failed') AS notify_failed,
              (SELECT count(*) FROM notify_deliveries WHERE tenant = $1 AND state IN ('queued', 'running') AND attempts > 0) AS notify_retrying`,
      [tenant],
    );
    return {
      inboxFailed: num(row!.inbox_failed),
      outboxFailed: num(row!.outbox_failed),
      notifyFailed: num(row!.notify_failed),
      notifyRetrying: num(row!.notify_retrying),
    };
  }
}
