import { SEVERITIES } from '../../core/alert.js';
import type { Alert } from '../../core/alert.js';
import type { AlertQuery, AlertStore } from '../capabilities/alert-store.js';
import { SqlAggregate, json, parsed } from './sql-aggregate.js';

/** Alerts raised by detection, in SQL. */
export class SqlAlertStore extends SqlAggregate implements AlertStore {
  async putAlert(a: Alert): Promise<void> {
    await this.db.query(
      `INSERT INTO alerts (id, tenant, key, rule, severity, status, first_at, last_at, raised_at, updated_at, body)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb)`,
      [a.id, a.tenant, a.key, a.rule, a.severity, a.status, a.firstAt, a.lastAt, a.raisedAt, a.updatedAt, json(a)],
    );
  }

  async updateAlert(a: Alert): Promise<void> {
    await this.db.query(
      `UPDATE alerts SET rule = $3, severity = $4, status = $5, first_at = $6, last_at = $7, updated_at = $8, body = $9::jsonb
       WHERE tenant = $1 AND id = $2`,
      [a.tenant, a.id, a.rule, a.severity, a.status, a.firstAt, a.lastAt, a.updatedAt, json(a)],
    );
  }

  async getAlert(tenant: string, id: string): Promise<Alert | undefined> {
    const [row] = await this.db.query<{ body: unknown }>('SELECT body FROM alerts WHERE tenant = $1 AND id = $2', [tenant, id]);
    return row ? parsed<Alert>(row.body) : undefined;
  }

  async lockOpenAlert(tenant: string, key: string, lastAtFrom: Date): Promise<Alert | undefined> {
    await this.db.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`alert|${tenant}|${key}`]);
    const [row] = await this.db.query<{ body: unknown }>(
      `SELECT body FROM alerts WHERE tenant = $1 AND key = $2 AND status = 'open' AND last_at >= $3
       ORDER BY last_at DESC, id DESC LIMIT 1 FOR UPDATE`,
      [tenant, key, lastAtFrom.toISOString()],
    );
    return row ? parsed<Alert>(row.body) : undefined;
  }

  async openAlertsFor(tenant: string, keys: readonly string[], since: Date, limit: number): Promise<Alert[]> {
    const rows = await this.db.query<{ body: unknown }>(
      `SELECT body FROM alerts WHERE tenant = $1 AND status = 'open' AND key IN (SELECT jsonb_array_elements_text($2::jsonb)) AND updated_at >= $3
       ORDER BY array_position(ARRAY['critical', 'high', 'medium', 'low'], severity), updated_at DESC, id DESC LIMIT $4`,
      [tenant, json([...new Set(keys)]), since.toISOString(), limit],
    );
    return rows.map((r) => parsed<Alert>(r.body));
  }

  async listAlerts(tenant: string, q: AlertQuery): Promise<Alert[]> {
    const where = ['tenant = $1'];
    const params: unknown[] = [tenant];
    const add = (sql: (n: string) => string, value: unknown) => {
      params.push(value);
      where.push(sql(`$${params.length}`));
    };
    if (q.status) add((n) => `status = ${n}`, q.status);
    if (q.severity) add((n) => `severity IN (SELECT jsonb_array_elements_text(${n}::jsonb))`, json(SEVERITIES.slice(SEVERITIES.indexOf(q.severity))));
    if (q.rule) add((n) => `body->'matches' @> ${n}::jsonb`, json([{ rule: q.rule }]));
    if (q.key) add((n) => `key = ${n}`, q.key);
    if (q.since) add((n) => `raised_at >= ${n}`, q.since.toISOString());
    if (q.before) {
      params.push(q.before.raisedAt, q.before.id);
      where.push(`(raised_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    params.push(q.limit);
    const rows = await this.db.query<{ body: unknown }>(
      `SELECT body FROM alerts WHERE ${where.join(' AND ')} ORDER BY raised_at DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    return rows.map((r) => parsed<Alert>(r.body));
  }
}
