import { SEVERITIES, type Alert } from '../core/alert.js';
import type { Decision } from '../core/decision.js';
import type { IdentityChange } from '../core/identity-change.js';
import { storableJson } from './storable-values.js';
import type { SqlExecutor } from './sql-executor.js';
import { SqlWorkflowStore } from './sql-workflow-store.js';
import { SqlOwnChangeStore } from './sql-own-change-store.js';
import type { BrokerRunClaim, BrokerRunResult } from './own-change-store.js';
import type {
  ActionEntry,
  ActionRow,
  AlertQuery,
  ApiKeyRow,
  AuditHead,
  AuditRow,
  BrokerRun,
  DetectionStateRow,
  HoldRelease,
  InboxEntry,
  InboxRow,
  OwnChange,
  RetentionCutoffs,
  RetentionPruned,
  SourceWatermarkRow,
  StoreOps,
} from './store.js';

/** The audit head of a tenant with no records yet: seq 0 and a hash of 64 zeros. */
export const GENESIS_HASH = '0'.repeat(64);

const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());
const date = (v: unknown): Date => (v instanceof Date ? v : new Date(String(v)));
const json = storableJson;
/** Drivers differ on bigint (PGlite: number, pg: string) and jsonb (both parse it); normalize here. */
const num = (v: unknown): number => Number(v);
const parsed = <T>(v: unknown): T => (typeof v === 'string' ? (JSON.parse(v) as T) : (v as T));

type Row = Record<string, unknown>;

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

function actionRow(r: Row): ActionRow {
  return {
    id: String(r.id),
    tenant: String(r.tenant),
    ...(r.decision_id != null ? { decisionId: String(r.decision_id) } : {}),
    kind: String(r.kind),
    ...(r.connector != null ? { connector: String(r.connector) } : {}),
    targetId: String(r.target_id),
    params: parsed(r.params),
    idempotencyKey: String(r.idempotency_key),
    dryRun: Boolean(r.dry_run),
    createdAt: date(r.created_at),
    state: r.state as ActionRow['state'],
    attempts: num(r.attempts),
    nextAttemptAt: date(r.next_attempt_at),
    ...(r.last_error != null ? { lastError: String(r.last_error) } : {}),
    ...(r.result != null ? { result: parsed(r.result) } : {}),
  };
}

function auditRow(r: Row): AuditRow {
  return {
    tenant: String(r.tenant),
    seq: num(r.seq),
    id: String(r.id),
    at: iso(r.at),
    type: String(r.type),
    record: String(r.record),
    prevHash: String(r.prev_hash),
    hash: String(r.hash),
  };
}

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

function apiKeyRow(r: Row): ApiKeyRow {
  return {
    id: String(r.id),
    tenant: String(r.tenant),
    name: String(r.name),
    secretHash: String(r.secret_hash),
    scopes: parsed<string[]>(r.scopes),
    createdAt: iso(r.created_at),
    ...(r.revoked_at != null ? { revokedAt: iso(r.revoked_at) } : {}),
  };
}

/**
 * Every store operation, written once in PostgreSQL's dialect over a
 * `SqlExecutor`. The PGlite and PostgreSQL drivers differ only in how they
 * run SQL.
 */
export class SqlStore extends SqlWorkflowStore implements StoreOps {
  constructor(db: SqlExecutor) {
    super(db);
  }

  async ensureTenants(ids: readonly string[]): Promise<void> {
    for (const id of ids) await this.db.query('INSERT INTO tenants (id) VALUES ($1) ON CONFLICT (id) DO NOTHING', [id]);
  }

  async listTenants(): Promise<string[]> {
    return (await this.db.query<{ id: string }>('SELECT id FROM tenants ORDER BY id')).map((r) => r.id);
  }

  async setTenantPolicy(tenant: string, version: string, now: Date): Promise<string | undefined> {
    const [row] = await this.db.query<{ previous: string | null }>(
      `UPDATE tenants t SET policy_version = $2, policy_loaded_at = $3
       FROM (SELECT id, policy_version AS previous FROM tenants WHERE id = $1 FOR UPDATE) old
       WHERE t.id = old.id RETURNING old.previous`,
      [tenant, version, now.toISOString()],
    );
    return row?.previous ?? undefined;
  }

  async putInbox(e: InboxEntry): Promise<{ inserted: boolean; id: number }> {
    const inserted = await this.db.query<{ id: unknown }>(
      `INSERT INTO inbox (tenant, source, event_id, event_type, via, payload, received_at, occurred_at, next_attempt_at)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $7)
       ON CONFLICT (tenant, source, event_id) DO NOTHING RETURNING id`,
      [e.tenant, e.source, e.eventId, e.eventType ?? null, e.via, json(e.payload), e.receivedAt.toISOString(), e.occurredAt?.toISOString() ?? null],
    );
    if (inserted[0]) return { inserted: true, id: num(inserted[0].id) };
    const existing = await this.db.query<{ id: unknown }>('SELECT id FROM inbox WHERE tenant = $1 AND source = $2 AND event_id = $3', [e.tenant, e.source, e.eventId]);
    return { inserted: false, id: num(existing[0]!.id) };
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

  async listInbox(tenant: string, state: InboxRow['state'], limit: number): Promise<InboxRow[]> {
    const rows = await this.db.query('SELECT * FROM inbox WHERE tenant = $1 AND state = $2 ORDER BY id LIMIT $3', [tenant, state, limit]);
    return rows.map(inboxRow);
  }

  async retryInbox(id: number, at: Date, error: string): Promise<void> {
    await this.db.query(`UPDATE inbox SET next_attempt_at = $2, error = $3 WHERE id = $1 AND state = 'pending'`, [id, at.toISOString(), error]);
  }

  async settleInbox(id: number, now: Date): Promise<boolean> {
    const rows = await this.db.query(`UPDATE inbox SET state = 'processed', processed_at = $2, error = NULL WHERE id = $1 AND state = 'pending' RETURNING id`, [id, now.toISOString()]);
    return rows.length > 0;
  }

  async putChange(c: IdentityChange): Promise<{ inserted: boolean; id: string }> {
    return this.db.transaction(async (tx) => {
      if (c.source.eventIds.length > 0) {
        // Serialize writers of the same vendor event (hook and poller racing) until commit.
        for (const eventId of [...c.source.eventIds].sort())
          await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`${c.tenant}|${c.source.idp}|${eventId}`]);
        const known = await tx.query<{ change_id: string }>(
          'SELECT change_id FROM change_events WHERE tenant = $1 AND idp = $2 AND event_id IN (SELECT jsonb_array_elements_text($3::jsonb)) LIMIT 1',
          [c.tenant, c.source.idp, json(c.source.eventIds)],
        );
        if (known[0]) return { inserted: false, id: String(known[0].change_id) };
      }
      const inserted = await tx.query(
        `INSERT INTO changes (id, tenant, kind, channel, target_id, actor_id, source_idp, source_via, occurred_at, observed_at, body)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb) ON CONFLICT (id) DO NOTHING RETURNING id`,
        [c.id, c.tenant, c.kind, c.channel, c.target.id, c.actor.id, c.source.idp, c.source.via, c.occurredAt, c.observedAt, json(c)],
      );
      if (!inserted[0]) return { inserted: false, id: c.id };
      for (const eventId of new Set(c.source.eventIds))
        await tx.query('INSERT INTO change_events (tenant, idp, event_id, change_id) VALUES ($1, $2, $3, $4)', [c.tenant, c.source.idp, eventId, c.id]);
      return { inserted: true, id: c.id };
    });
  }

  async getChange(tenant: string, id: string): Promise<IdentityChange | undefined> {
    const rows = await this.db.query<{ body: unknown }>('SELECT body FROM changes WHERE tenant = $1 AND id = $2', [tenant, id]);
    return rows[0] ? parsed<IdentityChange>(rows[0].body) : undefined;
  }

  async putDecision(d: Decision): Promise<void> {
    await this.db.query(
      `INSERT INTO decisions (id, tenant, change_id, outcome, mode, tier, policy_version, decided_at, body)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)`,
      [d.id, d.tenant, d.changeId, d.outcome, d.mode, d.tier, d.policyVersion, d.decidedAt, json(d)],
    );
  }

  async getDecision(tenant: string, id: string): Promise<Decision | undefined> {
    const rows = await this.db.query<{ body: unknown }>('SELECT body FROM decisions WHERE tenant = $1 AND id = $2', [tenant, id]);
    return rows[0] ? parsed<Decision>(rows[0].body) : undefined;
  }

  async getDecisionForChange(tenant: string, changeId: string): Promise<Decision | undefined> {
    const rows = await this.db.query<{ body: unknown }>('SELECT body FROM decisions WHERE tenant = $1 AND change_id = $2', [tenant, changeId]);
    return rows[0] ? parsed<Decision>(rows[0].body) : undefined;
  }

  async enqueueAction(a: ActionEntry): Promise<{ inserted: boolean; id: string }> {
    const rows = await this.db.query<{ id: string }>(
      `INSERT INTO actions (id, tenant, decision_id, kind, connector, target_id, params, idempotency_key, dry_run, next_attempt_at, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $10, $5, $6::jsonb, $7, $8, $9, $9, $9)
       ON CONFLICT (tenant, idempotency_key) DO NOTHING RETURNING id`,
      [a.id, a.tenant, a.decisionId ?? null, a.kind, a.targetId, json(a.params), a.idempotencyKey, a.dryRun, a.createdAt.toISOString(), a.connector ?? null],
    );
    if (rows[0]) return { inserted: true, id: String(rows[0].id) };
    const existing = await this.db.query<{ id: string }>('SELECT id FROM actions WHERE tenant = $1 AND idempotency_key = $2', [a.tenant, a.idempotencyKey]);
    return { inserted: false, id: String(existing[0]!.id) };
  }

  async claimActions(limit: number, now: Date, leaseSeconds: number): Promise<ActionRow[]> {
    const rows = await this.db.query(
      `UPDATE actions SET state = 'running', attempts = attempts + 1,
         lease_until = $2::timestamptz + make_interval(secs => $3), updated_at = $2
       WHERE id IN (
         SELECT id FROM actions
         WHERE (state = 'queued' AND next_attempt_at <= $2) OR (state = 'running' AND lease_until <= $2)
         ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING *`,
      [limit, now.toISOString(), leaseSeconds],
    );
    return rows.map(actionRow).sort((a, b) => a.nextAttemptAt.getTime() - b.nextAttemptAt.getTime() || a.id.localeCompare(b.id));
  }

  async completeAction(id: string, now: Date, result: unknown): Promise<void> {
    await this.db.query(`UPDATE actions SET state = 'done', result = $3::jsonb, lease_until = NULL, updated_at = $2 WHERE id = $1`, [id, now.toISOString(), json(result)]);
  }

  async failAction(id: string, now: Date, error: string, retryAt: Date | null): Promise<void> {
    if (retryAt)
      await this.db.query(`UPDATE actions SET state = 'queued', last_error = $3, next_attempt_at = $4, lease_until = NULL, updated_at = $2 WHERE id = $1`, [
        id,
        now.toISOString(),
        error,
        retryAt.toISOString(),
      ]);
    else await this.db.query(`UPDATE actions SET state = 'failed', last_error = $3, lease_until = NULL, updated_at = $2 WHERE id = $1`, [id, now.toISOString(), error]);
  }

  async listActions(tenant: string, decisionId: string): Promise<ActionRow[]> {
    const rows = await this.db.query('SELECT * FROM actions WHERE tenant = $1 AND decision_id = $2 ORDER BY created_at, id', [tenant, decisionId]);
    return rows.map(actionRow);
  }

  async cancelQueuedActions(tenant: string, decisionId: string, kinds: readonly string[], now: Date): Promise<string[]> {
    const rows = await this.db.query<{ id: string }>(
      `UPDATE actions SET state = 'cancelled', updated_at = $4, lease_until = NULL
       WHERE tenant = $1 AND decision_id = $2 AND state = 'queued' AND kind IN (SELECT jsonb_array_elements_text($3::jsonb))
       RETURNING id`,
      [tenant, decisionId, json(kinds), now.toISOString()],
    );
    return rows.map((r) => String(r.id)).sort();
  }

  async putRelease(r: HoldRelease): Promise<boolean> {
    const rows = await this.db.query(
      `INSERT INTO releases (decision_id, tenant, released_at, actor, reason) VALUES ($1, $2, $3, $4::jsonb, $5)
       ON CONFLICT (decision_id) DO NOTHING RETURNING decision_id`,
      [r.decisionId, r.tenant, r.releasedAt, json(r.actor), r.reason],
    );
    return rows.length > 0;
  }

  async getRelease(tenant: string, decisionId: string): Promise<HoldRelease | undefined> {
    const [row] = await this.db.query('SELECT * FROM releases WHERE tenant = $1 AND decision_id = $2', [tenant, decisionId]);
    return row
      ? { tenant: String(row.tenant), decisionId: String(row.decision_id), releasedAt: iso(row.released_at), actor: parsed(row.actor), reason: String(row.reason) }
      : undefined;
  }

  async listHolds(tenant: string, limit: number): Promise<Decision[]> {
    const rows = await this.db.query<{ body: unknown }>(
      `SELECT d.body FROM decisions d LEFT JOIN releases r ON r.decision_id = d.id
       WHERE d.tenant = $1 AND d.outcome IN ('hold', 'deny') AND r.decision_id IS NULL
       ORDER BY d.decided_at DESC, d.id DESC LIMIT $2`,
      [tenant, limit],
    );
    return rows.map((r) => parsed<Decision>(r.body));
  }

  async appendAudit(tenant: string, build: (head: AuditHead) => Omit<AuditRow, 'tenant'>): Promise<AuditRow> {
    return this.db.transaction(async (tx) => {
      await tx.query('INSERT INTO audit_heads (tenant, seq, hash) VALUES ($1, 0, $2) ON CONFLICT (tenant) DO NOTHING', [tenant, GENESIS_HASH]);
      const [head] = await tx.query<{ seq: unknown; hash: string }>('SELECT seq, hash FROM audit_heads WHERE tenant = $1 FOR UPDATE', [tenant]);
      const record = build({ seq: num(head!.seq), hash: head!.hash });
      await tx.query('INSERT INTO audit (tenant, seq, id, at, type, record, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
        tenant,
        record.seq,
        record.id,
        record.at,
        record.type,
        record.record,
        record.prevHash,
        record.hash,
      ]);
      await tx.query('UPDATE audit_heads SET seq = $2, hash = $3 WHERE tenant = $1', [tenant, record.seq, record.hash]);
      return { tenant, ...record };
    });
  }

  async readAudit(tenant: string, afterSeq: number, limit: number): Promise<AuditRow[]> {
    const rows = await this.db.query('SELECT * FROM audit WHERE tenant = $1 AND seq > $2 ORDER BY seq LIMIT $3', [tenant, afterSeq, limit]);
    return rows.map(auditRow);
  }

  async auditHead(tenant: string): Promise<AuditHead> {
    const [row] = await this.db.query<{ seq: unknown; hash: string }>('SELECT seq, hash FROM audit_heads WHERE tenant = $1', [tenant]);
    return row ? { seq: num(row.seq), hash: row.hash } : { seq: 0, hash: GENESIS_HASH };
  }

  async auditTenants(): Promise<string[]> {
    return (await this.db.query<{ tenant: string }>('SELECT DISTINCT tenant FROM audit ORDER BY tenant')).map((r) => r.tenant);
  }

  async acquireLease(name: string, holder: string, now: Date, ttlSeconds: number): Promise<boolean> {
    const rows = await this.db.query(
      `INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3::timestamptz + make_interval(secs => $4))
       ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
       WHERE leases.holder = EXCLUDED.holder OR leases.expires_at <= $3
       RETURNING name`,
      [name, holder, now.toISOString(), ttlSeconds],
    );
    return rows.length > 0;
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    await this.db.query('DELETE FROM leases WHERE name = $1 AND holder = $2', [name, holder]);
  }

  async pruneRetained(cutoffs: RetentionCutoffs, limit: number): Promise<RetentionPruned> {
    const inbox = await this.db.query(
      `DELETE FROM inbox WHERE id IN (
         SELECT id FROM inbox WHERE state IN ('processed', 'ignored') AND processed_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING 1`,
      [cutoffs.inbox.toISOString(), limit],
    );
    const own = await this.db.query(
      `DELETE FROM own_changes WHERE (tenant, connector, ref) IN (
         SELECT tenant, connector, ref FROM own_changes WHERE at < $1 AND ref NOT LIKE 'broker:%' LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING 1`,
      [cutoffs.ownChanges.toISOString(), limit],
    );
    const events = await this.db.transaction(async (db) => {
      const ids = await db.query<{ id: string }>(
        `SELECT e.id FROM notify_events e WHERE e.created_at < $1
           AND NOT EXISTS (SELECT 1 FROM notify_deliveries d WHERE d.event_id = e.id AND d.state IN ('queued', 'running'))
         LIMIT $2 FOR UPDATE SKIP LOCKED`,
        [cutoffs.events.toISOString(), limit],
      );
      if (ids.length === 0) return 0;
      const list = ids.map((r) => String(r.id));
      await db.query('DELETE FROM notify_deliveries WHERE event_id = ANY($1::uuid[])', [list]);
      await db.query('DELETE FROM notify_events WHERE id = ANY($1::uuid[])', [list]);
      return list.length;
    });
    return { inbox: inbox.length, ownChanges: own.length, events };
  }

  // Warden's own changes and broker runs: one record, src/store/sql-own-change-store.ts.
  readonly #own = new SqlOwnChangeStore(this.db);
  putOwnChange(c: OwnChange): Promise<void> {
    return this.#own.putOwnChange(c);
  }
  getOwnChange(tenant: string, connector: string, ref: string): Promise<OwnChange | undefined> {
    return this.#own.getOwnChange(tenant, connector, ref);
  }
  findOwnChanges(tenant: string, connector: string, targetId: string, from: Date, to: Date): Promise<OwnChange[]> {
    return this.#own.findOwnChanges(tenant, connector, targetId, from, to);
  }
  findOwnChangesOverlapping(tenant: string, connector: string, targetId: string, from: Date, to: Date): Promise<OwnChange[]> {
    return this.#own.findOwnChangesOverlapping(tenant, connector, targetId, from, to);
  }
  claimBrokerRun(run: BrokerRunClaim): Promise<{ claimed: true } | { claimed: false; run: BrokerRun }> {
    return this.#own.claimBrokerRun(run);
  }
  restartBrokerRun(tenant: string, requestId: string, expectedStartedAt: Date, now: Date): Promise<boolean> {
    return this.#own.restartBrokerRun(tenant, requestId, expectedStartedAt, now);
  }
  finishBrokerRun(tenant: string, requestId: string, result: BrokerRunResult, now: Date): Promise<void> {
    return this.#own.finishBrokerRun(tenant, requestId, result, now);
  }
  abandonBrokerRun(tenant: string, requestId: string): Promise<void> {
    return this.#own.abandonBrokerRun(tenant, requestId);
  }
  getBrokerRun(tenant: string, requestId: string): Promise<BrokerRun | undefined> {
    return this.#own.getBrokerRun(tenant, requestId);
  }

  async getCursor(tenant: string, name: string): Promise<unknown> {
    const [row] = await this.db.query<{ value: unknown }>('SELECT value FROM cursors WHERE tenant = $1 AND name = $2', [tenant, name]);
    return row ? parsed(row.value) : undefined;
  }

  async setCursor(tenant: string, name: string, value: unknown, now: Date): Promise<void> {
    await this.db.query(
      `INSERT INTO cursors (tenant, name, value, updated_at) VALUES ($1, $2, $3::jsonb, $4)
       ON CONFLICT (tenant, name) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`,
      [tenant, name, json(value), now.toISOString()],
    );
  }

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
    const rows = await this.db.query('SELECT * FROM detection_state WHERE due_at <= $1 ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED', [now.toISOString(), limit]);
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
    const rows = await this.db.query<{ body: unknown }>(`SELECT body FROM alerts WHERE ${where.join(' AND ')} ORDER BY raised_at DESC, id DESC LIMIT $${params.length}`, params);
    return rows.map((r) => parsed<Alert>(r.body));
  }

  async putApiKey(k: ApiKeyRow): Promise<void> {
    await this.db.query('INSERT INTO api_keys (id, tenant, name, secret_hash, scopes, created_at) VALUES ($1, $2, $3, $4, $5::jsonb, $6)', [
      k.id,
      k.tenant,
      k.name,
      k.secretHash,
      json(k.scopes),
      k.createdAt,
    ]);
  }

  async getApiKey(id: string): Promise<ApiKeyRow | undefined> {
    const [row] = await this.db.query('SELECT * FROM api_keys WHERE id = $1', [id]);
    return row ? apiKeyRow(row) : undefined;
  }

  async listApiKeys(tenant: string): Promise<ApiKeyRow[]> {
    return (await this.db.query('SELECT * FROM api_keys WHERE tenant = $1 ORDER BY created_at, id', [tenant])).map(apiKeyRow);
  }

  async revokeApiKey(id: string, now: Date): Promise<boolean> {
    const rows = await this.db.query('UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING id', [id, now.toISOString()]);
    return rows.length > 0;
  }
}
