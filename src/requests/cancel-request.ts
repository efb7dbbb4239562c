import { WardenError } from '../core/errors.js';
import { actorOf, authorizeCaller, type Caller } from './caller.js';
import { OPEN_STATES } from './request-states.js';
import type { OnCommit, RequestView, WorkflowContext } from './request-context.js';

/**
 * Cancels an open request (the caller hung up, the ticket was a mistake). An
 * executed request cannot be cancelled: what happened in the IdP happened.
 *
 * @throws WardenError `ERR_ILLEGAL_TRANSITION`, `ERR_NOT_FOUND`, `ERR_FORBIDDEN`
 */
export async function cancelRequest(
  ctx: WorkflowContext,
  tenant: string,
  requestId: string,
  reason: string,
  caller: Caller,
  onCommit?: OnCommit,
): Promise<RequestView> {
  authorizeCaller(caller, tenant, { roles: ['helpdesk', 'admin'], scope: 'requests:write', what: 'cancelling a change request' });
  const now = ctx.now();
  return ctx.transaction(async (tx) => {
    const request = await ctx.load(tx, tenant, requestId);
    if (!OPEN_STATES.includes(request.state) && request.state !== 'cancelled')
      throw new WardenError('ERR_ILLEGAL_TRANSITION', `request ${request.id} is ${request.state}: only an open request can be cancelled`, {
        details: { state: request.state, to: 'cancelled' },
      });
    const next = await ctx.transition(tx, request, 'cancelled', actorOf(caller), reason, now);
    const view = await ctx.view(tx, next);
    await onCommit?.(tx, 200, view);
    return view;
  });
}
