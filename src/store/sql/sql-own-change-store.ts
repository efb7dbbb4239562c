import type { BrokerRun, BrokerRunClaim, BrokerRunResult, BrokerRunStore } from '../capabilities/broker-run-store.js';
import type { OwnChange, OwnChangeStore } from '../capabilities/own-change-store.js';
import { storableJson } from '../storable-values.js';
import { SqlAggregate, date, parsed, type Row } from './sql-aggregate.js';
const brokerRef = (requestId: string) => `broker:${requestId}`;

function ownChangeRow(r: Row): OwnChange {
  const result = r.result === null || r.result === undefined ? undefined : parsed<unknown>(r.result);
  return {
    tenant: String(r.tenant),
    connector: String(r.connector),
    ref: String(r.ref),
    targetId: String(r.target_id),
    eventTypes: parsed<string[]>(r.event_types),
    at: date(r.at),
    ...(result === undefined || result === null ? {} : { result }),
  };
}

function brokerRunRow(r: Row): BrokerRun {
  const result = (r.result == null ? {} : parsed<Record<string, unknown>>(r.result)) as { reference?: unknown; expiresAt?: unknown; details?: unknown };
  return {
    tenant: String(r.tenant),
    requestId: String(r.ref).slice('broker:'.length),
    connector: String(r.connector),
    kind: String(r.kind ?? ''),
    state: r.state as BrokerRun['state'],
    startedAt: date(r.started_at),
    ...(r.finished_at != null ? { finishedAt: date(r.finished_at) } : {}),
    ...(typeof result.reference === 'string' ? { reference: result.reference } : {}),
    ...(typeof result.expiresAt === 'string' ? { expiresAt: new Date(result.expiresAt) } : {}),
    details: (result.details as Record<string, unknown> | undefined) ?? {},
  };
}

/**
 * Warden's own changes in SQL (table `own_changes`, migrations 0020 and
 * 0080): enforcement actions and broker runs alike, one row each, written
 * before the IdP call and completed after it.
 */
export class SqlOwnChangeStore extends SqlAggregate implements OwnChangeStore, BrokerRunStore {
  async putOwnChange(c: OwnChange): Promise<void> {
    const done = c.result !== undefined;
    await this.db.query(
      `INSERT INTO own_changes (tenant, connector, ref, target_id, event_types, at, result, state, started_at, finished_at)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7::jsonb, $8, $6, CASE WHEN $8 = 'done' THEN $6::timestamptz END)
       ON CONFLICT (tenant, connector, ref) DO UPDATE SET target_id = EXCLUDED.target_id, event_types = EXCLUDED.event_types, at = EXCLUDED.at,
         result = EXCLUDED.result, state = EXCLUDED.state, finished_at = EXCLUDED.finished_at`,
      [
        c.tenant,
        c.connector,
        c.ref,
        c.targetId,
        storableJson(c.eventTypes),
        c.at.toISOString(),
        done ? storableJson(c.result) : null,
        done ? 'done' : 'started',
      ],
    );
  }

  async getOwnChange(tenant: string, connector: string, ref: string): Promise<OwnChange | undefined> {
    const [row] = await this.db.query<Row>('SELECT * FROM own_changes WHERE tenant = $1 AND connector = $2 AND ref = $3', [tenant, connector, ref]);
    return row ? ownChangeRow(row) : undefined;
  }

  async findOwnChanges(tenant: string, connector: string, targetId: string, from: Date, to: Date): Promise<OwnChange[]> {
    const rows = await this.db.query<Row>(
      'SELECT * FROM own_changes WHERE tenant = $1 AND connector = $2 AND target_id = $3 AND at >= $4 AND at <= $5 ORDER BY at, ref',
      [tenant, connector, targetId, from.toISOString(), to.toISOString()],
    );
    return rows.map(ownChangeRow);
  }

  async findOwnChangesOverlapping(tenant: string, connector: string, targetId: string, from: Date, to: Date): Promise<OwnChange[]> {
    const rows = await this.db.query<Row>(
      'SELECT * FROM own_changes WHERE tenant = $1 AND connector = $2 AND target_id = $3 AND at >= $4 AND started_at <= $5 ORDER BY at, ref',
      [tenant, connector, targetId, from.toISOString(), to.toISOString()],
    );
    return rows.map(ownChangeRow);
  }

  async claimBrokerRun(run: BrokerRunClaim): Promise<{ claimed: true } | { claimed: false; run: BrokerRun }> {
    // ON CONFLICT without a target also covers the one-run-per-request index across connectors.
    const inserted = await this.db.query(
      `INSERT INTO own_changes (tenant, connector, ref, target_id, event_types, at, kind, state, started_at)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, 'started', $6)
       ON CONFLICT DO NOTHING RETURNING ref`,
      [run.tenant, run.connector, brokerRef(run.requestId), run.targetId ?? '', storableJson(run.eventTypes ?? []), run.startedAt.toISOString(), run.kind],
    );
    if (inserted.length > 0) return { claimed: true };
    const existing = await this.getBrokerRun(run.tenant, run.requestId);
    if (existing) return { claimed: false, run: existing };
    // Abandoned between our insert and our read: try once more.
    return this.claimBrokerRun(run);
  }

  async restartBrokerRun(tenant: string, requestId: string, expectedStartedAt: Date, now: Date): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE own_changes SET started_at = $4, at = $4 WHERE tenant = $1 AND ref = $2 AND state = 'started' AND started_at = $3 RETURNING ref`,
      [tenant, brokerRef(requestId), expectedStartedAt.toISOString(), now.toISOString()],
    );
    return rows.length > 0;
  }

  async finishBrokerRun(tenant: string, requestId: string, result: BrokerRunResult, now: Date): Promise<void> {
    const recorded = { reference: result.reference, ...(result.expiresAt ? { expiresAt: result.expiresAt.toISOString() } : {}), details: result.details ?? {} };
    await this.db.query(`UPDATE own_changes SET state = 'done', finished_at = $3, at = $3, result = $4::jsonb WHERE tenant = $1 AND ref = $2`, [
      tenant,
      brokerRef(requestId),
      now.toISOString(),
      storableJson(recorded),
    ]);
  }

  async abandonBrokerRun(tenant: string, requestId: string): Promise<void> {
    await this.db.query(`DELETE FROM own_changes WHERE tenant = $1 AND ref = $2 AND state = 'started'`, [tenant, brokerRef(requestId)]);
  }

  async getBrokerRun(tenant: string, requestId: string): Promise<BrokerRun | undefined> {
    const [row] = await this.db.query<Row>('SELECT * FROM own_changes WHERE tenant = $1 AND ref = $2', [tenant, brokerRef(requestId)]);
    return row ? brokerRunRow(row) : undefined;
  }
}
