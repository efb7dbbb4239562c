import type { SsfAlwaysDelivered, SsfSetEntry, SsfSetRow, SsfStore, SsfStreamRow } from '../capabilities/ssf-store.js';
import { storableJson } from '../storable-values.js';
import { SqlAggregate, date, parsed, type Row } from './sql-aggregate.js';

function streamRow(r: Row): SsfStreamRow {
  return {
    tenant: String(r.tenant),
    id: String(r.id),
    receiver: String(r.receiver),
    config: parsed<Record<string, unknown>>(r.config),
    status: r.status as SsfStreamRow['status'],
    ...(r.reason != null ? { reason: String(r.reason) } : {}),
    createdAt: date(r.created_at),
    updatedAt: date(r.updated_at),
  };
}

function setRow(r: Row): SsfSetRow {
  return {
    id: Number(r.id),
    tenant: String(r.tenant),
    streamId: String(r.stream_id),
    jti: String(r.jti),
    eventType: String(r.event_type),
    claims: parsed<Record<string, unknown>>(r.claims),
    method: r.method as SsfSetRow['method'],
    createdAt: date(r.created_at),
    state: r.state as SsfSetRow['state'],
    attempts: Number(r.attempts),
    nextAttemptAt: date(r.next_attempt_at),
    ...(r.last_status != null ? { lastStatus: Number(r.last_status) } : {}),
    ...(r.last_error != null ? { lastError: String(r.last_error) } : {}),
    ...(r.delivered_at != null ? { deliveredAt: date(r.delivered_at) } : {}),
  };
}

/** The Shared Signals tables (migration 0070) in SQL. */
export class SqlSsfStore extends SqlAggregate implements SsfStore {
  async putSsfStream(s: SsfStreamRow): Promise<void> {
    await this.db.query(
      'INSERT INTO ssf_streams (tenant, id, receiver, config, status, reason, created_at, updated_at) VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8)',
      [s.tenant, s.id, s.receiver, storableJson(s.config), s.status, s.reason ?? null, s.createdAt.toISOString(), s.updatedAt.toISOString()],
    );
  }

  async getSsfStream(tenant: string, id: string): Promise<SsfStreamRow | undefined> {
    const [row] = await this.db.query('SELECT * FROM ssf_streams WHERE tenant = $1 AND id = $2', [tenant, id]);
    return row ? streamRow(row) : undefined;
  }

  async listSsfStreams(tenant: string, receiver?: string): Promise<SsfStreamRow[]> {
    const rows =
      receiver === undefined
        ? await this.db.query('SELECT * FROM ssf_streams WHERE tenant = $1 ORDER BY created_at, id', [tenant])
        : await this.db.query('SELECT * FROM ssf_streams WHERE tenant = $1 AND receiver = $2 ORDER BY created_at, id', [tenant, receiver]);
    return rows.map(streamRow);
  }

  async updateSsfStream(s: SsfStreamRow): Promise<boolean> {
    const rows = await this.db.query(
      'UPDATE ssf_streams SET config = $3::jsonb, status = $4, reason = $5, updated_at = $6 WHERE tenant = $1 AND id = $2 RETURNING id',
      [s.tenant, s.id, storableJson(s.config), s.status, s.reason ?? null, s.updatedAt.toISOString()],
    );
    return rows.length > 0;
  }

  async deleteSsfStream(tenant: string, id: string): Promise<boolean> {
    await this.db.query('DELETE FROM ssf_sets WHERE tenant = $1 AND stream_id = $2', [tenant, id]);
    return (await this.db.query('DELETE FROM ssf_streams WHERE tenant = $1 AND id = $2 RETURNING id', [tenant, id])).length > 0;
  }

  async putSsfSet(e: SsfSetEntry, nextAttemptAt: Date): Promise<boolean> {
    const rows = await this.db.query(
      `INSERT INTO ssf_sets (tenant, stream_id, jti, event_type, claims, method, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8)
       ON CONFLICT (tenant, stream_id, jti) DO NOTHING RETURNING id`,
      [e.tenant, e.streamId, e.jti, e.eventType, storableJson(e.claims), e.method, nextAttemptAt.toISOString(), e.createdAt.toISOString()],
    );
    return rows.length > 0;
  }

  async claimSsfPushSets(limit: number, now: Date, leaseSeconds: number, options: SsfAlwaysDelivered = {}): Promise<SsfSetRow[]> {
    const rows = await this.db.query(
      `UPDATE ssf_sets SET state = 'running', attempts = attempts + 1, lease_until = $2::timestamptz + make_interval(secs => $3)
       WHERE id IN (
         SELECT s.id FROM ssf_sets s JOIN ssf_streams st ON st.tenant = s.tenant AND st.id = s.stream_id
         WHERE s.method = 'push' AND (st.status = 'enabled' OR s.event_type = ANY($4::text[]))
           AND ((s.state = 'queued' AND s.next_attempt_at <= $2) OR (s.state = 'running' AND s.lease_until <= $2))
         ORDER BY s.next_attempt_at, s.id LIMIT $1 FOR UPDATE OF s SKIP LOCKED)
       RETURNING *`,
      [limit, now.toISOString(), leaseSeconds, [...(options.alwaysTypes ?? [])]],
    );
    return rows.map(setRow).sort((a, b) => a.id - b.id);
  }

  async completeSsfSet(id: number, now: Date, status: number | null): Promise<void> {
    await this.db.query(`UPDATE ssf_sets SET state = 'delivered', delivered_at = $2, last_status = $3, last_error = NULL, lease_until = NULL WHERE id = $1`, [
      id,
      now.toISOString(),
      status,
    ]);
  }

  async failSsfSet(id: number, error: string, status: number | null, retryAt: Date | null): Promise<void> {
    if (retryAt)
      await this.db.query(`UPDATE ssf_sets SET state = 'queued', last_error = $2, last_status = $3, next_attempt_at = $4, lease_until = NULL WHERE id = $1`, [
        id,
        error,
        status,
        retryAt.toISOString(),
      ]);
    else await this.db.query(`UPDATE ssf_sets SET state = 'failed', last_error = $2, last_status = $3, lease_until = NULL WHERE id = $1`, [id, error, status]);
  }

  async pendingSsfPollSets(tenant: string, streamId: string, limit: number, options: { onlyTypes?: readonly string[] } = {}): Promise<SsfSetRow[]> {
    const rows = options.onlyTypes
      ? await this.db.query(
          `SELECT * FROM ssf_sets WHERE tenant = $1 AND stream_id = $2 AND method = 'poll' AND state = 'queued' AND event_type = ANY($4::text[]) ORDER BY id LIMIT $3`,
          [tenant, streamId, limit, [...options.onlyTypes]],
        )
      : await this.db.query(`SELECT * FROM ssf_sets WHERE tenant = $1 AND stream_id = $2 AND method = 'poll' AND state = 'queued' ORDER BY id LIMIT $3`, [
          tenant,
          streamId,
          limit,
        ]);
    return rows.map(setRow);
  }

  async ackSsfSets(tenant: string, streamId: string, jtis: readonly string[], now: Date): Promise<string[]> {
    if (jtis.length === 0) return [];
    const rows = await this.db.query<{ jti: unknown }>(
      `UPDATE ssf_sets SET state = 'delivered', delivered_at = $4, attempts = attempts + 1
       WHERE tenant = $1 AND stream_id = $2 AND state = 'queued' AND jti IN (SELECT jsonb_array_elements_text($3::jsonb)) RETURNING jti`,
      [tenant, streamId, JSON.stringify(jtis), now.toISOString()],
    );
    return rows.map((r) => String(r.jti));
  }

  async rejectSsfSets(tenant: string, streamId: string, errors: ReadonlyArray<{ jti: string; error: string }>): Promise<void> {
    for (const e of errors)
      await this.db.query(
        `UPDATE ssf_sets SET state = 'failed', last_error = $4, attempts = attempts + 1 WHERE tenant = $1 AND stream_id = $2 AND jti = $3 AND state = 'queued'`,
        [tenant, streamId, e.jti, e.error],
      );
  }

  async listSsfSets(tenant: string, state: SsfSetRow['state'] | undefined, limit: number): Promise<SsfSetRow[]> {
    const rows =
      state === undefined
        ? await this.db.query('SELECT * FROM ssf_sets WHERE tenant = $1 ORDER BY id DESC LIMIT $2', [tenant, limit])
        : await this.db.query('SELECT * FROM ssf_sets WHERE tenant = $1 AND state = $2 ORDER BY id DESC LIMIT $3', [tenant, state, limit]);
    return rows.map(setRow);
  }

  async rememberSsfJti(tenant: string, issuer: string, jti: string, now: Date): Promise<boolean> {
    const rows = await this.db.query(
      'INSERT INTO ssf_received (tenant, issuer, jti, received_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING jti',
      [tenant, issuer, jti, now.toISOString()],
    );
    return rows.length > 0;
  }
}
