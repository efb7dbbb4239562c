import type { Approval, ChangeRequest, Evidence, Review } from '../core/change-request.js';
import type { Decision } from '../core/decision.js';
import type { IdentityChange } from '../core/identity-change.js';
import type { PolicyException } from '../core/policy-exception.js';
import { SqlNotifyStore } from './sql-notify-store.js';
import { storableJson } from './storable-values.js';
import type { DecidedChange, IdempotencyRecord, RequestCursor, RequestFilter, WorkflowStoreOps } from './workflow-store.js';

type Row = Record<string, unknown>;
const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());
const parsed = <T>(v: unknown): T => (typeof v === 'string' ? (JSON.parse(v) as T) : (v as T));
const json = storableJson;

const OPEN_STATES = `('draft', 'proofing', 'pending_approval', 'approved')`;

/**
 * The change-request workflow's tables in SQL (PostgreSQL dialect, PGlite and
 * PostgreSQL alike); base of SqlStore. Records are kept whole in `body`; the
 * columns are for filtering, locking and uniqueness.
 */
export class SqlWorkflowStore extends SqlNotifyStore implements WorkflowStoreOps {
  async putRequest(r: ChangeRequest): Promise<void> {
    await this.db.query(
      `INSERT INTO requests (id, tenant, state, kind, target_id, requester_id, executor_id, break_glass, created_at, updated_at, approved_at, expires_at, consumed_by_change, body)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::jsonb)`,
      [
        r.id,
        r.tenant,
        r.state,
        r.kind,
        r.target.id,
        r.requester.id,
        r.executor.id,
        r.breakGlass !== undefined,
        r.createdAt,
        r.updatedAt,
        r.approvedAt ?? null,
        r.expiresAt,
        r.consumed?.changeId ?? null,
        json(r),
      ],
    );
  }

  async updateRequest(r: ChangeRequest): Promise<void> {
    await this.db.query(
      `UPDATE requests SET state = $3, updated_at = $4, approved_at = $5, expires_at = $6, consumed_by_change = $7, body = $8::jsonb WHERE tenant = $1 AND id = $2`,
      [r.tenant, r.id, r.state, r.updatedAt, r.approvedAt ?? null, r.expiresAt, r.consumed?.changeId ?? null, json(r)],
    );
  }

  async getRequest(tenant: string, id: string, options: { lock?: boolean } = {}): Promise<ChangeRequest | undefined> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
    const [row] = await this.db.query<{ body: unknown }>(`SELECT body FROM requests WHERE tenant = $1 AND id = $2${options.lock ? ' FOR UPDATE' : ''}`, [tenant, id]);
    return row ? parsed<ChangeRequest>(row.body) : undefined;
  }

  async listRequests(tenant: string, f: RequestFilter, limit: number, cursor?: RequestCursor): Promise<ChangeRequest[]> {
    const where = ['tenant = $1'];
    const params: unknown[] = [tenant];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (f.state) add('state = ?', f.state);
    if (f.kind) add('kind = ?', f.kind);
    if (f.targetId) add('target_id = ?', f.targetId);
    if (f.requesterId) add('requester_id = ?', f.requesterId);
    if (f.executorId) add('executor_id = ?', f.executorId);
    if (f.createdFrom) add('created_at >= ?', f.createdFrom.toISOString());
    if (f.createdTo) add('created_at < ?', f.createdTo.toISOString());
    if (cursor) {
      params.push(cursor.createdAt, cursor.id);
      where.push(`(created_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    params.push(limit);
    const rows = await this.db.query<{ body: unknown }>(`SELECT body FROM requests WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT $${params.length}`, params);
    return rows.map((r) => parsed<ChangeRequest>(r.body));
  }

  async approvedRequestsFor(tenant: string, targetId: string, kind: string, at: Date, limit: number): Promise<ChangeRequest[]> {
    const rows = await this.db.query<{ body: unknown }>(
      `SELECT body FROM requests
       WHERE tenant = $1 AND target_id = $2 AND kind = $3 AND state = 'approved' AND consumed_by_change IS NULL
       ORDER BY (expires_at >= $4) DESC, approved_at DESC, id DESC LIMIT $5 FOR UPDATE`,
      [tenant, targetId, kind, at.toISOString(), limit],
    );
    return rows.map((r) => parsed<ChangeRequest>(r.body));
  }

  async getRequestByChange(tenant: string, changeId: string): Promise<ChangeRequest | undefined> {
    const [row] = await this.db.query<{ body: unknown }>('SELECT body FROM requests WHERE tenant = $1 AND consumed_by_change = $2', [tenant, changeId]);
    return row ? parsed<ChangeRequest>(row.body) : undefined;
  }

  async claimExpiredRequests(now: Date, limit: number): Promise<ChangeRequest[]> {
    const rows = await this.db.query<{ body: unknown }>(
      `SELECT body FROM requests WHERE state IN ${OPEN_STATES} AND expires_at < $1 ORDER BY expires_at, id LIMIT $2 FOR UPDATE SKIP LOCKED`,
      [now.toISOString(), limit],
    );
    return rows.map((r) => parsed<ChangeRequest>(r.body));
  }

  async putEvidence(e: Evidence): Promise<{ inserted: boolean }> {
    const rows = await this.db.query(
      `INSERT INTO request_evidence (id, tenant, request_id, kind, method, accepted, reference, verified_at, body)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb) ON CONFLICT DO NOTHING RETURNING id`,
      [e.id, e.tenant, e.requestId, e.kind, e.method, e.accepted, e.reference ?? null, e.verifiedAt, json(e)],
    );
    return { inserted: rows.length > 0 };
  }

  async listEvidence(tenant: string, requestId: string): Promise<Evidence[]> {
    const rows = await this.db.query<{ body: unknown }>('SELECT body FROM request_evidence WHERE tenant = $1 AND request_id = $2 ORDER BY verified_at, id', [tenant, requestId]);
    return rows.map((r) => parsed<Evidence>(r.body));
  }

  async putApproval(a: Approval): Promise<boolean> {
    const rows = await this.db.query(
      `INSERT INTO request_approvals (tenant, request_id, approver_id, verdict, at, body) VALUES ($1, $2, $3, $4, $5, $6::jsonb)
       ON CONFLICT (request_id, approver_id) DO NOTHING RETURNING approver_id`,
      [a.tenant, a.requestId, a.approverId, a.verdict, a.at, json(a)],
    );
    return rows.length > 0;
  }

  async listApprovals(tenant: string, requestId: string): Promise<Approval[]> {
    const rows = await this.db.query<{ body: unknown }>('SELECT body FROM request_approvals WHERE tenant = $1 AND request_id = $2 ORDER BY at, approver_id', [tenant, requestId]);
    return rows.map((r) => parsed<Approval>(r.body));
  }

  async getIdempotency(tenant: string, principal: string, key: string): Promise<IdempotencyRecord | undefined> {
    const [row] = await this.db.query('SELECT * FROM idempotency_keys WHERE tenant = $1 AND principal = $2 AND key = $3', [tenant, principal, key]);
    return row
      ? {
          tenant: String(row.tenant),
          principal: String(row.principal),
          key: String(row.key),
          fingerprint: String(row.fingerprint),
          status: Number(row.status),
          response: parsed(row.response),
          createdAt: iso(row.created_at),
        }
      : undefined;
  }

  async putIdempotency(r: IdempotencyRecord): Promise<boolean> {
    const rows = await this.db.query(
      `INSERT INTO idempotency_keys (tenant, principal, key, fingerprint, status, response, created_at) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)
       ON CONFLICT DO NOTHING RETURNING key`,
      [r.tenant, r.principal, r.key, r.fingerprint, r.status, json(r.response), r.createdAt],
    );
    return rows.length > 0;
  }

  async putReview(r: Review): Promise<void> {
    await this.db.query('INSERT INTO reviews (id, tenant, request_id, state, due_at, created_at, completed_at, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)', [
      r.id,
      r.tenant,
      r.requestId,
      r.state,
      r.dueAt,
      r.createdAt,
      r.completedAt ?? null,
      json(r),
    ]);
  }

  async updateReview(r: Review): Promise<void> {
    await this.db.query('UPDATE reviews SET state = $3, completed_at = $4, body = $5::jsonb WHERE tenant = $1 AND id = $2', [r.tenant, r.id, r.state, r.completedAt ?? null, json(r)]);
  }

  async getReview(tenant: string, id: string): Promise<Review | undefined> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
    const [row] = await this.db.query<{ body: unknown }>('SELECT body FROM reviews WHERE tenant = $1 AND id = $2', [tenant, id]);
    return row ? parsed<Review>(row.body) : undefined;
  }

  async listReviews(tenant: string | undefined, f: { state?: 'open' | 'done'; dueBefore?: Date }, limit: number): Promise<Review[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (tenant !== undefined) where.push(`tenant = $${params.push(tenant)}`);
    if (f.state) where.push(`state = $${params.push(f.state)}`);
    if (f.dueBefore) where.push(`due_at < $${params.push(f.dueBefore.toISOString())}`);
    const rows = await this.db.query<{ body: unknown }>(
      `SELECT body FROM reviews ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY due_at, id LIMIT $${params.push(limit)}`,
      params,
    );
    return rows.map((r) => parsed<Review>(r.body));
  }

  async putException(e: PolicyException): Promise<void> {
    await this.db.query('INSERT INTO policy_exceptions (id, tenant, rule_id, target, created_at, expires_at, revoked_at, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)', [
      e.id,
      e.tenant,
      e.ruleId,
      e.target.toLowerCase(),
      e.createdAt,
      e.expiresAt,
      e.revokedAt ?? null,
      json(e),
    ]);
  }

  async getException(tenant: string, id: string): Promise<PolicyException | undefined> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
    const [row] = await this.db.query<{ body: unknown }>('SELECT body FROM policy_exceptions WHERE tenant = $1 AND id = $2', [tenant, id]);
    return row ? parsed<PolicyException>(row.body) : undefined;
  }

  async revokeException(tenant: string, id: string, at: Date): Promise<boolean> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return false;
    const rows = await this.db.query(
      `UPDATE policy_exceptions SET revoked_at = $3::timestamptz, body = jsonb_set(body, '{revokedAt}', to_jsonb($4::text))
       WHERE tenant = $1 AND id = $2 AND revoked_at IS NULL RETURNING id`,
      [tenant, id, at.toISOString(), at.toISOString()],
    );
    return rows.length > 0;
  }

  async listExceptions(tenant: string, filter: { targets?: readonly string[] }): Promise<PolicyException[]> {
    const rows = filter.targets
      ? await this.db.query<{ body: unknown }>(
          'SELECT body FROM policy_exceptions WHERE tenant = $1 AND target IN (SELECT jsonb_array_elements_text($2::jsonb)) ORDER BY created_at, id',
          [tenant, json(filter.targets.map((t) => t.toLowerCase()))],
        )
      : await this.db.query<{ body: unknown }>('SELECT body FROM policy_exceptions WHERE tenant = $1 ORDER BY created_at, id', [tenant]);
    return rows.map((r) => parsed<PolicyException>(r.body));
  }

  async listDecidedChanges(tenant: string, from: Date, to: Date, limit: number): Promise<DecidedChange[]> {
    const rows = await this.db.query<{ decision: unknown; change: unknown }>(
      `SELECT d.body AS decision, c.body AS change FROM decisions d JOIN changes c ON c.id = d.change_id
       WHERE d.tenant = $1 AND d.decided_at >= $2 AND d.decided_at < $3 ORDER BY d.decided_at, d.id LIMIT $4`,
      [tenant, from.toISOString(), to.toISOString(), limit],
    );
    return rows.map((r) => ({ decision: parsed<Decision>(r.decision), change: parsed<IdentityChange>(r.change) }));
  }

  async heldChangesFor(tenant: string, targetId: string, kind: string, from: Date, to: Date, limit: number): Promise<DecidedChange[]> {
    const rows = await this.db.query<{ decision: unknown; change: unknown }>(
      `SELECT d.body AS decision, c.body AS change FROM changes c JOIN decisions d ON d.change_id = c.id
       WHERE c.tenant = $1 AND c.target_id = $2 AND c.kind = $3 AND c.occurred_at >= $4 AND c.occurred_at <= $5
         AND c.source_idp <> 'api' AND d.outcome = 'hold'
         AND NOT EXISTS (SELECT 1 FROM releases r WHERE r.decision_id = d.id)
         AND NOT EXISTS (SELECT 1 FROM requests q WHERE q.tenant = c.tenant AND q.consumed_by_change = c.id)
       ORDER BY c.occurred_at, c.id LIMIT $6 FOR UPDATE OF d`,
      [tenant, targetId, kind, from.toISOString(), to.toISOString(), limit],
    );
    return rows.map((r) => ({ decision: parsed<Decision>(r.decision), change: parsed<IdentityChange>(r.change) }));
  }

  async lockRequestMatching(tenant: string, targetId: string, kind: string): Promise<void> {
    await this.db.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`request-matching|${tenant}|${targetId}|${kind}`]);
  }
}
