import type { InboxEntry, InboxRow, InboxStore } from '../capabilities/inbox-store.js';
import { SqlAggregate, date, json, num, parsed, type Row } from './sql-aggregate.js';

/** The inbox's unique key as one string (tenant and source hold no NUL; the store escapes any it is given). */
const inboxKey = (tenant: string, source: string, eventId: string) => `${tenant}\u0000${source}\u0000${eventId}`;

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

  async putInboxMany(entries: readonly InboxEntry[]): Promise<Array<{ inserted: boolean; id: number }>> {
    if (entries.length === 0) return [];
    if (entries.length === 1) return [await this.putInbox(entries[0]!)];
    // One parameter for the whole page (a System Log page is 1,000 events), read as rows by PostgreSQL;
    // the payload travels as the text putInbox would store (escaped where PostgreSQL refuses a value).
    // Every string of the page is escaped as a text parameter would be (json: NUL in an event id too).
    const page = json(
      entries.map((e, n) => ({
        n,
        tenant: e.tenant,
        source: e.source,
        event_id: e.eventId,
        event_type: e.eventType ?? null,
        via: e.via,
        payload: json(e.payload),
        received_at: e.receivedAt.toISOString(),
        occurred_at: e.occurredAt?.toISOString() ?? null,
      })),
    );
    // A key that comes twice in `entries` is stored once, as its first copy; the later copies are refused.
    const rows = await this.db.query<{ n: unknown; id: unknown; inserted: unknown }>(
      `WITH page AS (
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(n int, tenant text, source text, event_id text, event_type text, via text, payload text, received_at timestamptz, occurred_at timestamptz)
       ), stored AS (
         INSERT INTO inbox (tenant, source, event_id, event_type, via, payload, received_at, occurred_at, next_attempt_at)
         SELECT tenant, source, event_id, event_type, via, payload::jsonb, received_at, occurred_at, received_at FROM page ORDER BY n
         ON CONFLICT (tenant, source, event_id) DO NOTHING RETURNING id, tenant, source, event_id
       ), firsts AS (
         SELECT min(n) AS n FROM page GROUP BY tenant, source, event_id
       )
       SELECT page.n, stored.id, true AS inserted FROM stored JOIN page USING (tenant, source, event_id) JOIN firsts ON firsts.n = page.n
       UNION ALL
       SELECT page.n, inbox.id, false FROM page JOIN inbox USING (tenant, source, event_id)
        WHERE NOT EXISTS (SELECT 1 FROM stored WHERE stored.tenant = page.tenant AND stored.source = page.source AND stored.event_id = page.event_id)`,
      [page],
    );
    const answers = new Array<{ inserted: boolean; id: number } | undefined>(entries.length);
    const idOf = new Map<string, number>();
    const key = (e: InboxEntry) => inboxKey(e.tenant, e.source, e.eventId);
    for (const r of rows) {
      const n = num(r.n);
      answers[n] = { inserted: r.inserted === true, id: num(r.id) };
      idOf.set(key(entries[n]!), num(r.id));
    }
    // The later copies of a key stored by this statement: refused, with the id of the first. A key
    // another transaction stored while this statement ran is refused too, but this statement's
    // snapshot does not show its row: its id is read afterwards, as putInbox reads it.
    const out: Array<{ inserted: boolean; id: number }> = [];
    for (const [n, e] of entries.entries()) {
      let answer = answers[n];
      if (!answer) {
        let id = idOf.get(key(e));
        if (id === undefined) {
          const [row] = await this.db.query<{ id: unknown }>('SELECT id FROM inbox WHERE tenant = $1 AND source = $2 AND event_id = $3', [
            e.tenant,
            e.source,
            e.eventId,
          ]);
          id = num(row!.id);
          idOf.set(key(e), id);
        }
        answer = { inserted: false, id };
      }
      out.push(answer);
    }
    return out;
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

  async ignoreInboxes(entries: ReadonlyArray<{ id: number; reason: string }>, now: Date): Promise<void> {
    if (entries.length === 0) return;
    // One JSON parameter, its strings escaped as a text parameter would be (json).
    await this.db.query(
      `UPDATE inbox SET state = 'ignored', processed_at = $2, error = x.reason
       FROM jsonb_to_recordset($1::jsonb) AS x(id bigint, reason text) WHERE inbox.id = x.id`,
      [json(entries.map((e) => ({ id: e.id, reason: e.reason }))), now.toISOString()],
    );
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
