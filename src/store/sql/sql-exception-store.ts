import type { PolicyException } from '../../core/policy-exception.js';
import type { ExceptionStore } from '../capabilities/exception-store.js';
import { SqlAggregate, json, parsed } from './sql-aggregate.js';

/** Policy exceptions, in SQL. */
export class SqlExceptionStore extends SqlAggregate implements ExceptionStore {
  async putException(e: PolicyException): Promise<void> {
    await this.db.query(
      'INSERT INTO policy_exceptions (id, tenant, rule_id, target, created_at, expires_at, revoked_at, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)',
      [e.id, e.tenant, e.ruleId, e.target.toLowerCase(), e.createdAt, e.expiresAt, e.revokedAt ?? null, json(e)],
    );
  }

  async getException(tenant: string, id: string): Promise<PolicyException | undefined> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
    const [row] = await this.db.query<{ body: unknown }>('SELECT body FROM policy_exceptions WHERE tenant = $1 AND id = $2', [tenant, id]);
    return row ? parsed<PolicyException>(row.body) : undefined;
  }

  async revokeException(tenant: string, id: string, at: Date): Promise<boolean> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return false;
    const rows = await this.db.query(
      `UPDATE policy_exceptions SET revoked_at = $3::timestamptz, body = jsonb_set(body, '{revokedAt}', to_jsonb($4::text))
       WHERE tenant = $1 AND id = $2 AND revoked_at IS NULL RETURNING id`,
      [tenant, id, at.toISOString(), at.toISOString()],
    );
    return rows.length > 0;
  }

  async listExceptions(tenant: string, filter: { targets?: readonly string[] }): Promise<PolicyException[]> {
    const rows = filter.targets
      ? await this.db.query<{ body: unknown }>(
          'SELECT body FROM policy_exceptions WHERE tenant = $1 AND target IN (SELECT jsonb_array_elements_text($2::jsonb)) ORDER BY created_at, id',
          [tenant, json(filter.targets.map((t) => t.toLowerCase()))],
        )
      : await this.db.query<{ body: unknown }>('SELECT body FROM policy_exceptions WHERE tenant = $1 ORDER BY created_at, id', [tenant]);
    return rows.map((r) => parsed<PolicyException>(r.body));
  }
}
