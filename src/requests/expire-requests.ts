import { WardenError } from '../core/errors.js';
import type { Review } from '../core/change-request.js';
import type { WorkflowContext } from './request-context.js';

/**
 * The workflow's clock work, run periodically (and by tests with a fake
 * clock): requests past their `expiresAt` expire (open ones were not approved
 * in time; approved ones were not used within their ttl), and break-glass
 * reviews past their due time are reported overdue once (audit record and
 * `alert.review_overdue` event). Replicas share it: rows are claimed with
 * `FOR UPDATE SKIP LOCKED`.
 *
 * @returns how many requests expired and reviews became overdue
 */
export async function sweepWorkflow(ctx: WorkflowContext, batch = 100): Promise<{ expired: number; overdue: number }> {
  const now = ctx.now();
  let expired = 0;
  for (;;) {
    const n = await ctx.transaction(async (tx) => {
      const due = await tx.claimExpiredRequests(now, batch);
      for (const r of due) {
        if (!ctx.deps.config.tenants.some((t) => t.id === r.tenant)) continue;
        const reason = r.state === 'approved' ? `approved but not used before ${r.expiresAt}` : `not approved before ${r.expiresAt}`;
        await ctx.transition(tx, r, 'expired', { type: 'system', id: 'warden' }, reason, now);
      }
      return due.length;
    });
    expired += n;
    if (n < batch) break;
  }
  let overdue = 0;
  const reviews = (await ctx.store.listReviews(undefined, { state: 'open', dueBefore: now }, 1000)).filter((r) => !r.overdueAt);
  for (const review of reviews) {
    if (!ctx.deps.config.tenants.some((t) => t.id === review.tenant)) continue;
    await ctx.transaction(async (tx) => {
      const current = await tx.getReview(review.tenant, review.id);
      if (current?.state !== 'open' || current.overdueAt) return;
      const request = await tx.getRequest(review.tenant, review.requestId);
      if (!request) throw new WardenError('ERR_INTERNAL', `review ${review.id} names no request`);
      const next: Review = { ...current, overdueAt: now.toISOString() };
      await tx.updateReview(next);
      await ctx.note(
        tx,
        request,
        'alert.review_overdue',
        { type: 'system', id: 'warden' },
        { reviewId: review.id, dueAt: review.dueAt, severity: 'medium' },
        now,
        { reviewId: review.id },
      );
      overdue++;
    });
  }
  return { expired, overdue };
}
