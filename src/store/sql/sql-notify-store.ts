import type { DeliveryKind, DeliveryRow, NotMeLinkRow, NotMePush, NotifyEventRow, NotifyStore } from '../capabilities/notify-store.js';
import { SqlAggregate, date, type Row } from './sql-aggregate.js';

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

/** SQL condition on `endpoint` (parameter `$n`) selecting one kind of delivery. */
function kindCondition(kind: DeliveryKind, column: string, n: number): { sql: string; param: string } {
  if (kind === 'webhook') return { sql: `position(':' in ${column}) = 0 AND $${n}::text = 'webhook'`, param: 'webhook' };
  return { sql: `starts_with(${column}, $${n}::text)`, param: `${kind}:` };
}

function notMeLinkRow(r: Row): NotMeLinkRow {
  return {
    id: String(r.id),
    tenant: String(r.tenant),
    personId: String(r.person_id),
    subject: { kind: r.subject_kind as 'request' | 'change', id: String(r.subject_id) },
    createdAt: date(r.created_at),
    expiresAt: date(r.expires_at),
    ...(r.used_at != null ? { usedAt: date(r.used_at) } : {}),
    ...(r.outcome != null ? { outcome: r.outcome as 'not_me' | 'was_me' } : {}),
    ...(r.push_state != null
      ? {
          push: {
            state: r.push_state as NotMePush['state'],
            ...(r.push_transaction != null ? { transactionId: String(r.push_transaction) } : {}),
            ...(r.push_note != null ? { note: String(r.push_note) } : {}),
          },
        }
      : {}),
  };
}

const SELECT_DELIVERY = `SELECT d.*, e.type, e.body, e.created_at FROM notify_deliveries d JOIN notify_events e ON e.id = d.event_id`;

/** The outbound event queue (src/notify): events and one delivery per endpoint, in SQL. */
export class SqlNotifyStore extends SqlAggregate implements NotifyStore {
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

  async claimDeliveries(limit: number, now: Date, leaseSeconds: number, kind: DeliveryKind = 'webhook'): Promise<DeliveryRow[]> {
    const which = kindCondition(kind, 'endpoint', 4);
    const claimed = await this.db.query<{ id: unknown }>(
      `UPDATE notify_deliveries SET state = 'running', attempts = attempts + 1, lease_until = $2::timestamptz + make_interval(secs => $3)
       WHERE id IN (
         SELECT id FROM notify_deliveries
         WHERE ((state = 'queued' AND next_attempt_at <= $2) OR (state = 'running' AND lease_until <= $2)) AND ${which.sql}
         ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING id`,
      [limit, now.toISOString(), leaseSeconds, which.param],
    );
    if (claimed.length === 0) return [];
    const rows = await this.db.query(`${SELECT_DELIVERY} WHERE d.id IN (SELECT (jsonb_array_elements_text($1::jsonb))::bigint) ORDER BY d.id`, [
      JSON.stringify(claimed.map((r) => Number(r.id))),
    ]);
    return rows.map(deliveryRow);
  }

  async completeDelivery(id: number, now: Date, status: number): Promise<void> {
    await this.db.query(
      `UPDATE notify_deliveries SET state = 'delivered', delivered_at = $2, last_status = $3, last_error = NULL, lease_until = NULL WHERE id = $1`,
      [id, now.toISOString(), status],
    );
  }

  async failDelivery(id: number, _now: Date, error: string, status: number | null, retryAt: Date | null): Promise<void> {
    if (retryAt)
      await this.db.query(
        `UPDATE notify_deliveries SET state = 'queued', last_error = $2, last_status = $3, next_attempt_at = $4, lease_until = NULL WHERE id = $1`,
        [id, error, status, retryAt.toISOString()],
      );
    else
      await this.db.query(`UPDATE notify_deliveries SET state = 'failed', last_error = $2, last_status = $3, lease_until = NULL WHERE id = $1`, [
        id,
        error,
        status,
      ]);
  }

  async listDeliveries(tenant: string, limit: number, filter: { state?: DeliveryRow['state']; kind?: DeliveryKind } = {}): Promise<DeliveryRow[]> {
    const params: unknown[] = [tenant, limit];
    const where = ['d.tenant = $1'];
    if (filter.state) {
      params.push(filter.state);
      where.push(`d.state = $${params.length}`);
    }
    if (filter.kind) {
      const which = kindCondition(filter.kind, 'd.endpoint', params.length + 1);
      params.push(which.param);
      where.push(which.sql);
    }
    return (await this.db.query(`${SELECT_DELIVERY} WHERE ${where.join(' AND ')} ORDER BY d.id DESC LIMIT $2`, params)).map(deliveryRow);
  }

  async putNotMeLink(link: NotMeLinkRow): Promise<void> {
    await this.db.query(
      'INSERT INTO not_me_links (id, tenant, person_id, subject_kind, subject_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [link.id, link.tenant, link.personId, link.subject.kind, link.subject.id, link.createdAt.toISOString(), link.expiresAt.toISOString()],
    );
  }

  async getNotMeLink(tenant: string, id: string, options: { lock?: boolean } = {}): Promise<NotMeLinkRow | undefined> {
    const [row] = await this.db.query(`SELECT * FROM not_me_links WHERE tenant = $1 AND id = $2${options.lock ? ' FOR UPDATE' : ''}`, [tenant, id]);
    return row ? notMeLinkRow(row) : undefined;
  }

  async useNotMeLink(tenant: string, id: string, outcome: 'not_me' | 'was_me', at: Date): Promise<boolean> {
    const rows = await this.db.query('UPDATE not_me_links SET used_at = $3, outcome = $4 WHERE tenant = $1 AND id = $2 AND used_at IS NULL RETURNING id', [
      tenant,
      id,
      at.toISOString(),
      outcome,
    ]);
    return rows.length === 1;
  }

  async countNotMeLinks(tenant: string, personId: string, since: Date): Promise<number> {
    const [row] = await this.db.query<{ n: unknown }>('SELECT count(*) AS n FROM not_me_links WHERE tenant = $1 AND person_id = $2 AND created_at >= $3', [
      tenant,
      personId,
      since.toISOString(),
    ]);
    return Number(row?.n ?? 0);
  }

  async setNotMePush(tenant: string, id: string, push: NotMePush): Promise<void> {
    await this.db.query('UPDATE not_me_links SET push_state = $3, push_transaction = $4, push_note = $5 WHERE tenant = $1 AND id = $2', [
      tenant,
      id,
      push.state,
      push.transactionId ?? null,
      push.note ?? null,
    ]);
  }

  async waitingNotMePushes(now: Date, limit: number): Promise<NotMeLinkRow[]> {
    const rows = await this.db.query(
      `SELECT * FROM not_me_links WHERE push_state = 'waiting' AND used_at IS NULL AND expires_at > $1 ORDER BY created_at, id LIMIT $2`,
      [now.toISOString(), limit],
    );
    return rows.map(notMeLinkRow);
  }
}
