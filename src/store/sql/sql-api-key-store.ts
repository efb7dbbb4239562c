import type { ApiKeyRow, ApiKeyStore } from '../capabilities/api-key-store.js';
import { SqlAggregate, iso, json, parsed, type Row } from './sql-aggregate.js';

function apiKeyRow(r: Row): ApiKeyRow {
  return {
    id: String(r.id),
    tenant: String(r.tenant),
    name: String(r.name),
    secretHash: String(r.secret_hash),
    scopes: parsed<string[]>(r.scopes),
    createdAt: iso(r.created_at),
    ...(r.revoked_at != null ? { revokedAt: iso(r.revoked_at) } : {}),
  };
}

/** API keys (only a hash of each secret is kept), in SQL. */
export class SqlApiKeyStore extends SqlAggregate implements ApiKeyStore {
  async putApiKey(k: ApiKeyRow): Promise<void> {
    await this.db.query('INSERT INTO api_keys (id, tenant, name, secret_hash, scopes, created_at) VALUES ($1, $2, $3, $4, $5::jsonb, $6)', [
      k.id,
      k.tenant,
      k.name,
      k.secretHash,
      json(k.scopes),
      k.createdAt,
    ]);
  }

  async getApiKey(id: string): Promise<ApiKeyRow | undefined> {
    const [row] = await this.db.query('SELECT * FROM api_keys WHERE id = $1', [id]);
    return row ? apiKeyRow(row) : undefined;
  }

  async listApiKeys(tenant: string): Promise<ApiKeyRow[]> {
    return (await this.db.query('SELECT * FROM api_keys WHERE tenant = $1 ORDER BY created_at, id', [tenant])).map(apiKeyRow);
  }

  async revokeApiKey(id: string, now: Date): Promise<boolean> {
    const rows = await this.db.query('UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING id', [id, now.toISOString()]);
    return rows.length > 0;
  }
}
