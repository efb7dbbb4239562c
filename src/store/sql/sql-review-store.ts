import type { Review } from '../../core/change-request.js';
import type { ReviewStore } from '../capabilities/review-store.js';
import { SqlAggregate, json, parsed } from './sql-aggregate.js';

/** Post-hoc reviews of break-glass requests, in SQL. */
export class SqlReviewStore extends SqlAggregate implements ReviewStore {
  async putReview(r: Review): Promise<void> {
    await this.db.query(
      'INSERT INTO reviews (id, tenant, request_id, state, due_at, created_at, completed_at, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)',
      [r.id, r.tenant, r.requestId, r.state, r.dueAt, r.createdAt, r.completedAt ?? null, json(r)],
    );
  }

  async updateReview(r: Review): Promise<void> {
    await this.db.query('UPDATE reviews SET state = $3, completed_at = $4, body = $5::jsonb WHERE tenant = $1 AND id = $2', [
      r.tenant,
      r.id,
      r.state,
      r.completedAt ?? null,
      json(r),
    ]);
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
}
