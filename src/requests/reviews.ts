import type { Review } from '../core/change-request.js';
import { WardenError } from '../core/errors.js';
import { actorOf, authorizeCaller, type Caller } from './caller.js';
import { PersonResolver, samePerson } from './resolve-person.js';
import { requireRecentMfa } from './step-up.js';
import type { OnCommit, WorkflowContext } from './request-context.js';

/** Open reviews past their due time, soonest due first (one tenant, or all). */
export async function overdueReviews(ctx: WorkflowContext, tenant: string | undefined, caller: Caller): Promise<Review[]> {
  if (tenant) authorizeCaller(caller, tenant, { roles: ['admin', 'auditor'], scope: 'requests:read', what: 'reading reviews' });
  else if (caller.type !== 'cli' && caller.type !== 'system') throw new WardenError('ERR_FORBIDDEN', 'name a tenant');
  return ctx.store.listReviews(tenant, { state: 'open', dueBefore: ctx.now() }, 1000);
}

/** Reviews of a tenant, by state. */
export async function listReviews(ctx: WorkflowContext, tenant: string, state: 'open' | 'done' | undefined, caller: Caller): Promise<Review[]> {
  authorizeCaller(caller, tenant, { roles: ['admin', 'auditor'], scope: 'requests:read', what: 'reading reviews' });
  return ctx.store.listReviews(tenant, state ? { state } : {}, 1000);
}

/**
 * Completes a break-glass review: an admin or auditor (signed in with a
 * recent MFA, or an operator at the CLI) says whether the emergency was
 * justified. Nobody reviews their own break-glass: the requester, executor
 * and whoever declared it are refused. An executed request becomes `reviewed`.
 *
 * @throws WardenError `ERR_FORBIDDEN`, `ERR_SOD_VIOLATION`, `ERR_IDENTITY_UNRESOLVED`, `ERR_CONFLICT` (already done), `ERR_NOT_FOUND`
 */
export async function completeReview(
  ctx: WorkflowContext,
  tenant: string,
  reviewId: string,
  input: { outcome: 'justified' | 'unjustified'; notes: string },
  caller: Caller,
  onCommit?: OnCommit,
): Promise<Review> {
  authorizeCaller(caller, tenant, { roles: ['admin', 'auditor'], what: 'completing a review' });
  const review = await ctx.store.getReview(tenant, reviewId);
  if (!review) throw new WardenError('ERR_NOT_FOUND', `no review ${reviewId} in tenant ${tenant}`);
  const request = await ctx.store.getRequest(tenant, review.requestId);
  if (!request) throw new WardenError('ERR_NOT_FOUND', `review ${reviewId} names no request`);
  // People, not strings: the reviewer and the parties resolve to IdP user ids (the CLI operator, not an IdP user, is compared by name).
  const people = new PersonResolver(ctx, tenant);
  const me = await people.ofCaller(caller);
  const parties = await people.partiesOf(request);
  for (const [party, person] of [
    ['requester', parties.requester],
    ['executor', parties.executor],
    ['declarer', parties.filer],
  ] as const)
    if (samePerson(me, person))
      throw new WardenError('ERR_SOD_VIOLATION', `you are the ${party} of this break-glass and cannot review it`, { details: { party } });
  if (caller.type === 'user') requireRecentMfa(ctx, caller, 'a review');
  const now = ctx.now();
  const actor = actorOf(caller);
  return ctx.transaction(async (tx) => {
    const current = await tx.getReview(tenant, reviewId);
    if (current?.state !== 'open') throw new WardenError('ERR_CONFLICT', `review ${reviewId} was completed already`);
    const done: Review = { ...current, state: 'done', completedAt: now.toISOString(), reviewer: actor, outcome: input.outcome, notes: input.notes };
    await tx.updateReview(done);
    const r = await ctx.load(tx, tenant, review.requestId);
    await ctx.note(
      tx,
      r,
      'review.completed',
      actor,
      { reviewId, outcome: input.outcome, notes: input.notes, dueAt: current.dueAt, late: now.toISOString() > current.dueAt },
      now,
      { reviewId },
    );
    if (r.state === 'executed') await ctx.transition(tx, r, 'reviewed', actor, `break-glass review: ${input.outcome}`, now);
    await onCommit?.(tx, 200, done);
    return done;
  });
}
