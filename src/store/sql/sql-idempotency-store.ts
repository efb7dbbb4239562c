import type { IdempotencyRecord, IdempotencyStore } from '../capabilities/idempotency-store.js';
import { SqlAggregate, iso, json, parsed } from './sql-aggregate.js';

/** Stored responses of idempotent API calls, in SQL. */
export class SqlIdempotencyStore extends SqlAggregate implements IdempotencyStore {
  async getIdempotency(tenant: string, principal: string, key: string): Promise<IdempotencyRecord | undefined> {
    const [row] = await this.db.query('SELECT * FROM idempotency_keys WHERE tenant = $1 AND principal = $2 AND key = $3', [tenant, principal, key]);
    return row
      ? {
          tenant: String(row.tenant),
          principal: String(row.principal),
          key: String(row.key),
          fingerprint: String(row.fingerprint),
          status: Number(row.status),
          response: parsed(row.response),
          createdAt: iso(row.created_at),
        }
      : undefined;
  }

  async putIdempotency(r: IdempotencyRecord): Promise<boolean> {
    const rows = await this.db.query(
      `INSERT INTO idempotency_keys (tenant, principal, key, fingerprint, status, response, created_at) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)
       ON CONFLICT DO NOTHING RETURNING key`,
      [r.tenant, r.principal, r.key, r.fingerprint, r.status, json(r.response), r.createdAt],
    );
    return rows.length > 0;
  }
}
