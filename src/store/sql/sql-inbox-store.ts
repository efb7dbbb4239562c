import type { InboxEntry, InboxRow, InboxStore } from '../capabilities/inbox-store.js';
import { SqlAggregate, date, json, num, parsed, type Row } from './sql-aggregate.js';

function inboxRow(r: Row): InboxRow {
  return {
    id: num(r.id),
    tenant: String(r.tenant),
    source: String(r.source),
    eventId: String(r.event_id),
    ...(r.event_type != null ? { eventType: String(r.event_type) } : {}),
    via: r.via as InboxRow['via'],
    payload: parsed(r.payload),
    receivedAt: date(r.received_at),
    ...(r.occurred_at != null ? { occurredAt: date(r.occurred_at) } : {}),
    state: r.state as InboxRow['state'],
    attempts: num(r.attempts),
    ...(r.error != null ? { error: String(r.error) } : {}),
  };
}

/** The inbox: raw vendor deliveries, kept before anything else happens to them, and the workers' claims on them, in SQL. */
export class SqlInboxStore extends SqlAggregate implements InboxStore {
  async putInbox(e: InboxEntry): Promise<{ inserted: boolean; id: number }> {
    const inserted = await this.db.query<{ id: unknown }>(
      `INSERT INTO inbox (tenant, source, event_id, event_type, via, payload, received_at, occurred_at, next_attempt_at)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $7)
       ON CONFLICT (tenant, source, event_id) DO NOTHING RETURNING id`,
      [e.tenant, e.source, e.eventId, e.eventType ?? null, e.via, json(e.payload), e.receivedAt.toISOString(), e.occurredAt?.toISOString() ?? null],
    );
    if (inserted[0]) return { inserted: true, id: num(inserted[0].id) };
    const existing = await this.db.query<{ id: unknown }>('SELECT id FROM inbox WHERE tenant = $1 AND source = $2 AND event_id = $3', [
      e.tenant,
      e.source,
      e.eventId,
    ]);
    return { inserted: false, id: num(existing[0]!.id) };
  }

  async putInboxes(entries: readonly InboxEntry[]): Promise<boolean[]> {
    if (entries.length === 0) return [];
    const rows = entries.map((e, i) => ({
      n: i,
      tenant: e.tenant,
      source: e.source,
      event_id: e.eventId,
      event_type: e.eventType ?? null,
      via: e.via,
      // The payload as putInbox stores it (escaped where PostgreSQL refuses a value), read back as jsonb below.
      payload: json(e.payload),
      received_at: e.receivedAt.toISOString(),
      occurred_at: e.occurredAt?.toISOString() ?? null,
    }));
    const inserted = await this.db.query<{ n: unknown }>(
      `WITH page AS (
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(n int, tenant text, source text, event_id text, event_type text, via text, payload text, received_at timestamptz, occurred_at timestamptz)
       ), stored AS (
         INSERT INTO inbox (tenant, source, event_id, event_type, via, payload, received_at, occurred_at, next_attempt_at)
         SELECT tenant, source, event_id, event_type, via, payload::jsonb, received_at, occurred_at, received_at FROM page ORDER BY n
         ON CONFLICT (tenant, source, event_id) DO NOTHING RETURNING tenant, source, event_id
       )
       SELECT min(page.n) AS n FROM stored JOIN page USING (tenant, source, event_id) GROUP BY tenant, source, event_id`,
      [JSON.stringify(rows)],
    );
    const stored = new Array<boolean>(entries.length).fill(false);
    for (const r of inserted) stored[num(r.n)] = true;
    return stored;
  }

  async claimInbox(limit: number, now: Date, leaseSeconds: number): Promise<InboxRow[]> {
    const rows = await this.db.query(
      `UPDATE inbox SET attempts = attempts + 1, next_attempt_at = $2::timestamptz + make_interval(secs => $3)
       WHERE id IN (
         SELECT id FROM inbox WHERE state = 'pending' AND next_attempt_at <= $2
         ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING *`,
      [limit, now.toISOString(), leaseSeconds],
    );
    return rows.map(inboxRow).sort((a, b) => a.id - b.id);
  }

  async finishInbox(id: number, state: 'processed' | 'ignored' | 'failed', now: Date, error?: string): Promise<void> {
    await this.db.query('UPDATE inbox SET state = $2, processed_at = $3, error = $4 WHERE id = $1', [id, state, now.toISOString(), error ?? null]);
  }

  async retryInbox(id: number, at: Date, error: string): Promise<void> {
    await this.db.query(`UPDATE inbox SET next_attempt_at = $2, error = $3 WHERE id = $1 AND state = 'pending'`, [id, at.toISOString(), error]);
  }

  async listInbox(tenant: string, state: InboxRow['state'], limit: number): Promise<InboxRow[]> {
    const rows = await this.db.query('SELECT * FROM inbox WHERE tenant = $1 AND state = $2 ORDER BY id LIMIT $3', [tenant, state, limit]);
    return rows.map(inboxRow);
  }

  async settleInbox(id: number, now: Date): Promise<boolean> {
    const rows = await this.db.query(`UPDATE inbox SET state = 'processed', processed_at = $2, error = NULL WHERE id = $1 AND state = 'pending' RETURNING id`, [
      id,
      now.toISOString(),
    ]);
    return rows.length > 0;
  }

  async settleInboxes(ids: readonly number[], now: Date): Promise<number[]> {
    if (ids.length === 0) return [];
    const rows = await this.db.query<{ id: unknown }>(
      `UPDATE inbox SET state = 'processed', processed_at = $2, error = NULL
       WHERE id IN (SELECT jsonb_array_elements_text($1::jsonb)::bigint) AND state = 'pending' RETURNING id`,
      [JSON.stringify(ids), now.toISOString()],
    );
    return rows.map((r) => num(r.id));
  }
}
