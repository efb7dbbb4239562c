import type { OwnChange, OwnChangeStore } from '../capabilities/own-change-store.js';
import { SqlAggregate, date, json, parsed, type Row } from './sql-aggregate.js';

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

/** Changes Warden itself makes in an IdP, recorded before they are made, in SQL. */
export class SqlOwnChangeStore extends SqlAggregate implements OwnChangeStore {
  async putOwnChange(c: OwnChange): Promise<void> {
    await this.db.query(
      `INSERT INTO own_changes (tenant, connector, ref, target_id, event_types, at, result) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7::jsonb)
       ON CONFLICT (tenant, connector, ref) DO UPDATE SET target_id = EXCLUDED.target_id, event_types = EXCLUDED.event_types, at = EXCLUDED.at, result = EXCLUDED.result`,
      [c.tenant, c.connector, c.ref, c.targetId, json(c.eventTypes), c.at.toISOString(), c.result === undefined ? null : json(c.result)],
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
}
