import type { Decision } from '../../core/decision.js';
import type { HoldRelease, HoldStore } from '../capabilities/hold-store.js';
import { SqlAggregate, iso, json, parsed } from './sql-aggregate.js';

/** Held decisions and their releases, in SQL. */
export class SqlHoldStore extends SqlAggregate implements HoldStore {
  async putRelease(r: HoldRelease): Promise<boolean> {
    const rows = await this.db.query(
      `INSERT INTO releases (decision_id, tenant, released_at, actor, reason) VALUES ($1, $2, $3, $4::jsonb, $5)
       ON CONFLICT (decision_id) DO NOTHING RETURNING decision_id`,
      [r.decisionId, r.tenant, r.releasedAt, json(r.actor), r.reason],
    );
    return rows.length > 0;
  }

  async getRelease(tenant: string, decisionId: string): Promise<HoldRelease | undefined> {
    const [row] = await this.db.query('SELECT * FROM releases WHERE tenant = $1 AND decision_id = $2', [tenant, decisionId]);
    return row
      ? {
          tenant: String(row.tenant),
          decisionId: String(row.decision_id),
          releasedAt: iso(row.released_at),
          actor: parsed(row.actor),
          reason: String(row.reason),
        }
      : undefined;
  }

  async listHolds(tenant: string, limit: number): Promise<Decision[]> {
    const rows = await this.db.query<{ body: unknown }>(
      `SELECT d.body FROM decisions d LEFT JOIN releases r ON r.decision_id = d.id
       WHERE d.tenant = $1 AND d.outcome IN ('hold', 'deny') AND r.decision_id IS NULL
       ORDER BY d.decided_at DESC, d.id DESC LIMIT $2`,
      [tenant, limit],
    );
    return rows.map((r) => parsed<Decision>(r.body));
  }
}
