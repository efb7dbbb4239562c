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
    // One row per key: a later copy of a key in `entries` is answered as a refused copy of the first.
    const first = new Map<string, number>();
    const rows: InboxEntry[] = [];
    const slot: number[] = [];
    for (const e of entries) {
      const key = inboxKey(e.tenant, e.source, e.eventId);
      let at = first.get(key);
      if (at === undefined) {
        first.set(key, (at = rows.length));
        rows.push(e);
      }
      slot.push(at);
    }
    const params: unknown[] = [];
    const values: string[] = [];
    for (const e of rows) {
      const n = params.length;
      values.push(
        `($${n + 1}, $${n + 2}, $${n + 3}, $${n + 4}, $${n + 5}, $${n + 6}::jsonb, $${n + 7}::timestamptz, $${n + 8}::timestamptz, $${n + 7}::timestamptz)`,
      );
      params.push(e.tenant, e.source, e.eventId, e.eventType ?? null, e.via, json(e.payload), e.receivedAt.toISOString(), e.occurredAt?.toISOString() ?? null);
    }
    const inserted = await this.db.query<{ id: unknown; tenant: unknown; source: unknown; event_id: unknown }>(
      `INSERT INTO inbox (tenant, source, event_id, event_type, via, payload, received_at, occurred_at, next_attempt_at)
       VALUES ${values.join(', ')}
       ON CONFLICT (tenant, source, event_id) DO NOTHING RETURNING id, tenant, source, event_id`,
      params,
    );
    const ids = new Map<string, number>(inserted.map((r) => [inboxKey(String(r.tenant), String(r.source), String(r.event_id)), num(r.id)]));
    const answers = rows.map((e) => {
      const id = ids.get(inboxKey(e.tenant, e.source, e.eventId));
      return id === undefined ? undefined : { inserted: true, id };
    });
    // Rows already stored (a retry, the poller's copy): their ids, as putInbox answers them.
    for (let i = 0; i < rows.length; i++) {
      if (answers[i]) continue;
      const e = rows[i]!;
      const [existing] = await this.db.query<{ id: unknown }>('SELECT id FROM inbox WHERE tenant = $1 AND source = $2 AND event_id = $3', [
        e.tenant,
        e.source,
        e.eventId,
      ]);
      answers[i] = { inserted: false, id: num(existing!.id) };
    }
    const seen = new Set<number>();
    return slot.map((at) => {
      const answer = answers[at]!;
      if (seen.has(at)) return { inserted: false, id: answer.id };
      seen.add(at);
      return answer;
    });
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
}
