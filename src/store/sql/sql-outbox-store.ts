import type { ActionEntry, ActionRow, OutboxStore } from '../capabilities/outbox-store.js';
import { SqlAggregate, date, json, num, parsed, type Row } from './sql-aggregate.js';

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

/** The outbox: compensating and containing actions queued for connectors, in SQL. */
export class SqlOutboxStore extends SqlAggregate implements OutboxStore {
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

  async enqueueActions(actions: readonly ActionEntry[]): Promise<void> {
    if (actions.length === 0) return;
    const params: unknown[] = [];
    const rows = actions.map((a) => {
      const n = params.length;
      params.push(
        a.id,
        a.tenant,
        a.decisionId ?? null,
        a.kind,
        a.targetId,
        json(a.params),
        a.idempotencyKey,
        a.dryRun,
        a.createdAt.toISOString(),
        a.connector ?? null,
      );
      return `($${n + 1}, $${n + 2}, $${n + 3}, $${n + 4}, $${n + 10}, $${n + 5}, $${n + 6}::jsonb, $${n + 7}, $${n + 8}::boolean, $${n + 9}::timestamptz, $${n + 9}::timestamptz, $${n + 9}::timestamptz)`;
    });
    await this.db.query(
      `INSERT INTO actions (id, tenant, decision_id, kind, connector, target_id, params, idempotency_key, dry_run, next_attempt_at, created_at, updated_at)
       VALUES ${rows.join(', ')}
       ON CONFLICT (tenant, idempotency_key) DO NOTHING`,
      params,
    );
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
    await this.db.query(`UPDATE actions SET state = 'done', result = $3::jsonb, lease_until = NULL, updated_at = $2 WHERE id = $1`, [
      id,
      now.toISOString(),
      json(result),
    ]);
  }

  async failAction(id: string, now: Date, error: string, retryAt: Date | null): Promise<void> {
    if (retryAt)
      await this.db.query(`UPDATE actions SET state = 'queued', last_error = $3, next_attempt_at = $4, lease_until = NULL, updated_at = $2 WHERE id = $1`, [
        id,
        now.toISOString(),
        error,
        retryAt.toISOString(),
      ]);
    else
      await this.db.query(`UPDATE actions SET state = 'failed', last_error = $3, lease_until = NULL, updated_at = $2 WHERE id = $1`, [
        id,
        now.toISOString(),
        error,
      ]);
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
}
