import type { Approval, ChangeRequest, Evidence } from '../../core/change-request.js';
import type { Decision } from '../../core/decision.js';
import type { IdentityChange } from '../../core/identity-change.js';
import type { DecidedChange } from '../capabilities/decision-store.js';
import type { RequestCursor, RequestFilter, RequestStore } from '../capabilities/request-store.js';
import { SqlAggregate, json, parsed } from './sql-aggregate.js';

const OPEN_STATES = `('draft', 'proofing', 'pending_approval', 'approved')`;

/** Change requests (src/requests) with their evidence and approvals, and their matching to held changes, in SQL. */
export class SqlRequestStore extends SqlAggregate implements RequestStore {
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
    const [row] = await this.db.query<{ body: unknown }>(`SELECT body FROM requests WHERE tenant = $1 AND id = $2${options.lock ? ' FOR UPDATE' : ''}`, [
      tenant,
      id,
    ]);
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
    const rows = await this.db.query<{ body: unknown }>(
      `SELECT body FROM requests WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT $${params.length}`,
      params,
    );
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
    const rows = await this.db.query<{ body: unknown }>('SELECT body FROM request_evidence WHERE tenant = $1 AND request_id = $2 ORDER BY verified_at, id', [
      tenant,
      requestId,
    ]);
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
    const rows = await this.db.query<{ body: unknown }>('SELECT body FROM request_approvals WHERE tenant = $1 AND request_id = $2 ORDER BY at, approver_id', [
      tenant,
      requestId,
    ]);
    return rows.map((r) => parsed<Approval>(r.body));
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
