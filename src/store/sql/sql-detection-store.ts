import type { DetectionStateRow, DetectionStore, SourceWatermarkRow } from '../capabilities/detection-store.js';
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

/** Detection rules' state per key and the sources' event-time progress (src/detect), in SQL. */
export class SqlDetectionStore extends SqlAggregate implements DetectionStore {
  async lockDetectionState(tenant: string, rule: string, key: string): Promise<DetectionStateRow | undefined> {
    const [row] = await this.db.query('SELECT * FROM detection_state WHERE tenant = $1 AND rule = $2 AND key = $3 FOR UPDATE', [tenant, rule, key]);
    return row ? detectionStateRow(row) : undefined;
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
