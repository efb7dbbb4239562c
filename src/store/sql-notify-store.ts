import { SqlSsfStore } from './sql-ssf-store.js';
import type { DeliveryRow, NotifyEventRow, NotifyStoreOps } from './workflow-store.js';

type Row = Record<string, unknown>;
const date = (v: unknown): Date => (v instanceof Date ? v : new Date(String(v)));

function deliveryRow(r: Row): DeliveryRow {
  return {
    id: Number(r.id),
    eventId: String(r.event_id),
    tenant: String(r.tenant),
    endpoint: String(r.endpoint),
    state: r.state as DeliveryRow['state'],
    attempts: Number(r.attempts),
    nextAttemptAt: date(r.next_attempt_at),
    ...(r.last_status != null ? { lastStatus: Number(r.last_status) } : {}),
    ...(r.last_error != null ? { lastError: String(r.last_error) } : {}),
    ...(r.delivered_at != null ? { deliveredAt: date(r.delivered_at) } : {}),
    event: { id: String(r.event_id), tenant: String(r.tenant), type: String(r.type), body: String(r.body), createdAt: date(r.created_at) },
  };
}

const SELECT_DELIVERY = `SELECT d.*, e.type, e.body, e.created_at FROM notify_deliveries d JOIN notify_events e ON e.id = d.event_id`;

/** The outbound event queue (src/notify) in SQL; base of SqlStore (its executor, wrapped, comes from SqlSsfStore). */
export class SqlNotifyStore extends SqlSsfStore implements NotifyStoreOps {

  async putNotifyEvent(event: NotifyEventRow, endpoints: readonly string[]): Promise<void> {
    await this.db.query('INSERT INTO notify_events (id, tenant, type, body, created_at) VALUES ($1, $2, $3, $4, $5)', [
      event.id,
      event.tenant,
      event.type,
      event.body,
      event.createdAt.toISOString(),
    ]);
    for (const endpoint of new Set(endpoints))
      await this.db.query('INSERT INTO notify_deliveries (event_id, tenant, endpoint, next_attempt_at) VALUES ($1, $2, $3, $4)', [
        event.id,
        event.tenant,
        endpoint,
        event.createdAt.toISOString(),
      ]);
  }

  async claimDeliveries(limit: number, now: Date, leaseSeconds: number): Promise<DeliveryRow[]> {
    const claimed = await this.db.query<{ id: unknown }>(
      `UPDATE notify_deliveries SET state = 'running', attempts = attempts + 1, lease_until = $2::timestamptz + make_interval(secs => $3)
       WHERE id IN (
         SELECT id FROM notify_deliveries
         WHERE (state = 'queued' AND next_attempt_at <= $2) OR (state = 'running' AND lease_until <= $2)
         ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING id`,
      [limit, now.toISOString(), leaseSeconds],
    );
    if (claimed.length === 0) return [];
    const rows = await this.db.query(`${SELECT_DELIVERY} WHERE d.id IN (SELECT (jsonb_array_elements_text($1::jsonb))::bigint) ORDER BY d.id`, [
      JSON.stringify(claimed.map((r) => Number(r.id))),
    ]);
    return rows.map(deliveryRow);
  }

  async completeDelivery(id: number, now: Date, status: number): Promise<void> {
    await this.db.query(`UPDATE notify_deliveries SET state = 'delivered', delivered_at = $2, last_status = $3, last_error = NULL, lease_until = NULL WHERE id = $1`, [
      id,
      now.toISOString(),
      status,
    ]);
  }

  async failDelivery(id: number, _now: Date, error: string, status: number | null, retryAt: Date | null): Promise<void> {
    if (retryAt)
      await this.db.query(`UPDATE notify_deliveries SET state = 'queued', last_error = $2, last_status = $3, next_attempt_at = $4, lease_until = NULL WHERE id = $1`, [
        id,
        error,
        status,
        retryAt.toISOString(),
      ]);
    else await this.db.query(`UPDATE notify_deliveries SET state = 'failed', last_error = $2, last_status = $3, lease_until = NULL WHERE id = $1`, [id, error, status]);
  }

  async listDeliveries(tenant: string, limit: number): Promise<DeliveryRow[]> {
    return (await this.db.query(`${SELECT_DELIVERY} WHERE d.tenant = $1 ORDER BY d.id DESC LIMIT $2`, [tenant, limit])).map(deliveryRow);
  }
}
