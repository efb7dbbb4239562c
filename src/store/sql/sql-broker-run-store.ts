import type { BrokerRun, BrokerRunStore } from '../capabilities/broker-run-store.js';
import { SqlAggregate, date, json, parsed, type Row } from './sql-aggregate.js';

function brokerRunRow(r: Row): BrokerRun {
  return {
    tenant: String(r.tenant),
    requestId: String(r.request_id),
    connector: String(r.connector),
    kind: String(r.kind),
    state: r.state as BrokerRun['state'],
    startedAt: date(r.started_at),
    ...(r.finished_at != null ? { finishedAt: date(r.finished_at) } : {}),
    ...(r.reference != null ? { reference: String(r.reference) } : {}),
    ...(r.expires_at != null ? { expiresAt: date(r.expires_at) } : {}),
    details: parsed<Record<string, unknown>>(r.details) ?? {},
  };
}

/** Broker runs: the one change Warden performs for an approved change request, in SQL. */
export class SqlBrokerRunStore extends SqlAggregate implements BrokerRunStore {
  async claimBrokerRun(run: { tenant: string; requestId: string; connector: string; kind: string; startedAt: Date }): Promise<{ claimed: true } | { claimed: false; run: BrokerRun }> {
    const inserted = await this.db.query(
      `INSERT INTO broker_runs (tenant, request_id, connector, kind, state, started_at) VALUES ($1, $2, $3, $4, 'started', $5)
       ON CONFLICT (tenant, request_id) DO NOTHING RETURNING request_id`,
      [run.tenant, run.requestId, run.connector, run.kind, run.startedAt.toISOString()],
    );
    if (inserted.length > 0) return { claimed: true };
    const existing = await this.getBrokerRun(run.tenant, run.requestId);
    return { claimed: false, run: existing! };
  }

  async restartBrokerRun(tenant: string, requestId: string, expectedStartedAt: Date, now: Date): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE broker_runs SET started_at = $4 WHERE tenant = $1 AND request_id = $2 AND state = 'started' AND started_at = $3 RETURNING request_id`,
      [tenant, requestId, expectedStartedAt.toISOString(), now.toISOString()],
    );
    return rows.length > 0;
  }

  async finishBrokerRun(tenant: string, requestId: string, result: { reference: string; expiresAt?: Date; details?: Record<string, unknown> }, now: Date): Promise<void> {
    await this.db.query(
      `UPDATE broker_runs SET state = 'done', finished_at = $3, reference = $4, expires_at = $5, details = $6::jsonb WHERE tenant = $1 AND request_id = $2`,
      [tenant, requestId, now.toISOString(), result.reference, result.expiresAt?.toISOString() ?? null, json(result.details ?? {})],
    );
  }

  async abandonBrokerRun(tenant: string, requestId: string): Promise<void> {
    await this.db.query(`DELETE FROM broker_runs WHERE tenant = $1 AND request_id = $2 AND state = 'started'`, [tenant, requestId]);
  }

  async getBrokerRun(tenant: string, requestId: string): Promise<BrokerRun | undefined> {
    const [row] = await this.db.query('SELECT * FROM broker_runs WHERE tenant = $1 AND request_id = $2', [tenant, requestId]);
    return row ? brokerRunRow(row) : undefined;
  }
}
