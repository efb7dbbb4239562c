import type { DetectionStateKey, DetectionStateRow, DetectionStore, SourceWatermarkRow } from '../capabilities/detection-store.js';
import { SqlAggregate, date, json, num, parsed, type Row } from './sql-aggregate.js';

function detectionStateRow(r: Row): DetectionStateRow {
  return {
    tenant: String(r.tenant),
    rule: String(r.rule),
    key: String(r.key),
    ruleHash: String(r.rule_hash),
    events: parsed(r.events),
    expiresAt: date(r.expires_at),
    ...(r.due_at != null ? { dueAt: date(r.due_at) } : {}),
    updatedAt: date(r.updated_at),
  };
}

/**
 * Keys as one jsonb parameter, read as rows by `jsonb_to_recordset` (as `putInboxMany` sends a page):
 * every string is escaped as a text parameter would be (`json`: NUL in a key too).
 */
const KEYS = 'SELECT tenant, rule, key FROM jsonb_to_recordset($1::jsonb) AS k(tenant text, rule text, key text)';

/** The identity of a state as a map key (any string, NUL included). */
const keyOf = (k: DetectionStateKey): string => JSON.stringify([k.tenant, k.rule, k.key]);

/** Detection rules' state per key and the sources' event-time progress (src/detect), in SQL. */
export class SqlDetectionStore extends SqlAggregate implements DetectionStore {
  async lockDetectionState(tenant: string, rule: string, key: string): Promise<DetectionStateRow | undefined> {
    // Through the many-key lock: its advisory lock also holds a state that does not exist yet.
    const [row] = await this.lockDetectionStates([{ tenant, rule, key }]);
    return row;
  }

  async putDetectionState(r: DetectionStateRow): Promise<void> {
    await this.db.query(
      `INSERT INTO detection_state (tenant, rule, key, rule_hash, events, expires_at, due_at, updated_at)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8)
       ON CONFLICT (tenant, rule, key) DO UPDATE SET rule_hash = EXCLUDED.rule_hash, events = EXCLUDED.events,
         expires_at = EXCLUDED.expires_at, due_at = EXCLUDED.due_at, updated_at = EXCLUDED.updated_at`,
      [r.tenant, r.rule, r.key, r.ruleHash, json(r.events), r.expiresAt.toISOString(), r.dueAt?.toISOString() ?? null, r.updatedAt.toISOString()],
    );
  }

  async deleteDetectionState(tenant: string, rule: string, key: string): Promise<void> {
    await this.db.query('DELETE FROM detection_state WHERE tenant = $1 AND rule = $2 AND key = $3', [tenant, rule, key]);
  }

  async lockDetectionStates(keys: readonly DetectionStateKey[]): Promise<DetectionStateRow[]> {
    if (keys.length === 0) return [];
    const page = json(keys.map((k) => ({ tenant: k.tenant, rule: k.rule, key: k.key })));
    // A row lock cannot hold a state that does not exist yet: two transactions creating the same
    // person's state would both start from nothing, and the later write would drop the other's
    // observations. So each key's lock (an advisory lock of the transaction, taken in the same sorted
    // order by every caller) comes first: a creator waits for the other creator's commit, then reads
    // its row. The subquery keeps the sort below the locking function (OFFSET 0: not flattened).
    await this.db.query(
      `SELECT count(pg_advisory_xact_lock(h)) FROM (
         SELECT hashtextextended('detection|' || tenant || '|' || rule || '|' || key, 0) AS h FROM (${KEYS}) AS k
         ORDER BY tenant, rule, key OFFSET 0) AS sorted`,
      [page],
    );
    // ORDER BY below FOR UPDATE: PostgreSQL sorts, then locks the rows in that order (one order for every caller).
    const rows = await this.db.query(`SELECT * FROM detection_state WHERE (tenant, rule, key) IN (${KEYS}) ORDER BY tenant, rule, key FOR UPDATE`, [page]);
    return rows.map(detectionStateRow);
  }

  async putDetectionStates(rows: readonly DetectionStateRow[]): Promise<DetectionStateKey[]> {
    if (rows.length === 0) return [];
    // ON CONFLICT DO UPDATE cannot change one row twice in a statement: the last row of a key is written.
    const last = new Map<string, DetectionStateRow>();
    for (const r of rows) {
      const k = keyOf(r);
      last.delete(k);
      last.set(k, r);
    }
    const page = json(
      [...last.values()].map((r) => ({
        tenant: r.tenant,
        rule: r.rule,
        key: r.key,
        rule_hash: r.ruleHash,
        events: r.events ?? null,
        expires_at: r.expiresAt.toISOString(),
        due_at: r.dueAt?.toISOString() ?? null,
        updated_at: r.updatedAt.toISOString(),
      })),
    );
    // Inserted in the lock order too: two transactions inserting the same new keys wait for each other, never in a cycle.
    // A row this statement updated has its xmax set (the updating transaction); one it inserted has 0.
    const replaced = await this.db.query<{ tenant: unknown; rule: unknown; key: unknown }>(
      `WITH written AS (
         INSERT INTO detection_state (tenant, rule, key, rule_hash, events, expires_at, due_at, updated_at)
         SELECT tenant, rule, key, rule_hash, COALESCE(events, 'null'::jsonb), expires_at, due_at, updated_at
           FROM jsonb_to_recordset($1::jsonb) AS x(tenant text, rule text, key text, rule_hash text, events jsonb, expires_at timestamptz, due_at timestamptz, updated_at timestamptz)
          ORDER BY tenant, rule, key
         ON CONFLICT (tenant, rule, key) DO UPDATE SET rule_hash = EXCLUDED.rule_hash, events = EXCLUDED.events,
           expires_at = EXCLUDED.expires_at, due_at = EXCLUDED.due_at, updated_at = EXCLUDED.updated_at
         RETURNING tenant, rule, key, xmax::text AS xmax
       )
       SELECT tenant, rule, key FROM written WHERE xmax <> '0'`,
      [page],
    );
    return replaced.map((r) => ({ tenant: String(r.tenant), rule: String(r.rule), key: String(r.key) }));
  }

  async deleteDetectionStates(keys: readonly DetectionStateKey[]): Promise<void> {
    if (keys.length === 0) return;
    await this.db.query(`DELETE FROM detection_state WHERE (tenant, rule, key) IN (${KEYS})`, [
      json(keys.map((k) => ({ tenant: k.tenant, rule: k.rule, key: k.key }))),
    ]);
  }

  async claimDueDetectionStates(now: Date, limit: number): Promise<DetectionStateRow[]> {
    const rows = await this.db.query('SELECT * FROM detection_state WHERE due_at <= $1 ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED', [
      now.toISOString(),
      limit,
    ]);
    return rows.map(detectionStateRow);
  }

  async pruneDetectionStates(now: Date, limit: number): Promise<number> {
    const rows = await this.db.query(
      `DELETE FROM detection_state WHERE (tenant, rule, key) IN (
         SELECT tenant, rule, key FROM detection_state WHERE expires_at <= $1 AND due_at IS NULL LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING 1`,
      [now.toISOString(), limit],
    );
    return rows.length;
  }

  async countDetectionStates(tenant: string): Promise<number> {
    const [row] = await this.db.query<{ n: unknown }>('SELECT count(*) AS n FROM detection_state WHERE tenant = $1', [tenant]);
    return num(row!.n);
  }

  async advanceSourceWatermarks(tenant: string, marks: readonly SourceWatermarkRow[]): Promise<void> {
    for (const m of marks) {
      await this.db.query(
        `INSERT INTO detection_sources (tenant, source, at, seen) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant, source) DO UPDATE SET at = GREATEST(detection_sources.at, EXCLUDED.at), seen = GREATEST(detection_sources.seen, EXCLUDED.seen)`,
        [tenant, m.source, m.at.toISOString(), m.seen.toISOString()],
      );
    }
  }

  async getSourceWatermarks(tenant: string): Promise<SourceWatermarkRow[]> {
    const rows = await this.db.query('SELECT source, at, seen FROM detection_sources WHERE tenant = $1', [tenant]);
    return rows.map((r) => ({ source: String(r.source), at: date(r.at), seen: date(r.seen) }));
  }
}
