import type { AuditActor } from '../audit/audit-log.js';
import { WardenError } from '../core/errors.js';
import { releaseHoldIn, type ReleaseResult } from '../engine/release-hold.js';
import { publishEvent } from '../notify/publish-event.js';
import { authorizeCaller, personOf, type Caller } from './caller.js';
import type { OnCommit, WorkflowContext } from './request-context.js';
import { requireRecentMfa } from './step-up.js';

/**
 * An admin releases a held (or denied) change by hand, with a reason: the
 * engine's own release (`releaseHoldIn`, the one `warden holds release`
 * runs), here for people signed in with the IdP (console, API). Only an
 * admin with a recent multi-factor sign-in, or the operator at the CLI; API
 * keys may not. Audited (`hold.released`) and published (`hold.released`).
 *
 * @throws WardenError `ERR_FORBIDDEN`, `ERR_STEP_UP_REQUIRED`, `ERR_VALIDATION` (no reason),
 *   `ERR_NOT_FOUND` (no such decision), `ERR_CONFLICT` (it allowed the change, or was released before)
 */
export async function releaseHeldChange(
  ctx: WorkflowContext,
  tenant: string,
  decisionId: string,
  reason: string,
  caller: Caller,
  onCommit?: OnCommit,
): Promise<ReleaseResult> {
  authorizeCaller(caller, tenant, { roles: ['admin'], what: 'releasing a hold' });
  if (caller.type === 'user') requireRecentMfa(ctx, caller, 'releasing a hold');
  const why = reason.trim();
  if (why.length < 10) throw new WardenError('ERR_VALIDATION', 'say why the hold is released (at least 10 characters)');
  const now = ctx.now();
  const actor = personOf(caller) as AuditActor;
  return ctx.transaction(async (tx) => {
    const result = await releaseHoldIn(tx, { tenant, decisionId, actor, reason: why.slice(0, 1000), now });
    if (!result.released) {
      const earlier = await tx.getRelease(tenant, decisionId);
      throw new WardenError(
        'ERR_CONFLICT',
        `the hold of decision ${decisionId} was released before${earlier ? `, at ${earlier.releasedAt} by ${earlier.actor.name ?? earlier.actor.id}` : ''}`,
      );
    }
    await publishEvent(tx, ctx.deps.routes, { tenant, type: 'hold.released', data: { decisionId, reason: why, actor, undo: result.undo }, at: now });
    await onCommit?.(tx, 200, result);
    return result;
  });
}
