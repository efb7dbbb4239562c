import { WardenError } from '../core/errors.js';
import { actorOf, authorizeCaller, type Caller } from './caller.js';
import { readAndCheckTicket, ticketEvidence } from './create-request.js';
import type { OnCommit, RequestView, WorkflowContext } from './request-context.js';

/**
 * Checks a ticket and attaches it to a request that has not been approved
 * yet (replacing the last one): the check is kept as evidence, valid or not,
 * and a valid ticket moves a draft request on to proofing. An ITSM that
 * cannot be reached is an error here (502): nothing changes.
 */
export async function attachTicket(
  ctx: WorkflowContext,
  tenant: string,
  requestId: string,
  ref: { system: 'servicenow' | 'jira'; id: string },
  caller: Caller,
  onCommit?: OnCommit,
): Promise<RequestView> {
  authorizeCaller(caller, tenant, { roles: ['helpdesk', 'admin'], scope: 'requests:write', what: 'attaching a ticket' });
  const request = await ctx.store.getRequest(tenant, requestId);
  if (!request) throw new WardenError('ERR_NOT_FOUND', `no change request ${requestId} in tenant ${tenant}`);
  const open = ['draft', 'proofing', 'pending_approval'];
  if (!open.includes(request.state))
    throw new WardenError('ERR_ILLEGAL_TRANSITION', `request ${request.id} is ${request.state}: its ticket can no longer change`, {
      details: { state: request.state },
    });
  const result = await readAndCheckTicket(ctx, request, ref, ctx.deps.connectorContext(), { throwOnUnreachable: true });
  const now = ctx.now();
  const actor = actorOf(caller);
  return ctx.transaction(async (tx) => {
    let r = await ctx.load(tx, tenant, requestId);
    if (!open.includes(r.state)) throw new WardenError('ERR_ILLEGAL_TRANSITION', `request ${r.id} is ${r.state} now`, { details: { state: r.state } });
    const evidence = ticketEvidence(r, ref, result, now);
    await tx.putEvidence(evidence);
    r = {
      ...r,
      justification: { ...r.justification, ticket: ref },
      ticket: {
        system: ref.system,
        id: result.snapshot?.id ?? ref.id,
        ...(result.snapshot ? { state: result.snapshot.state } : {}),
        valid: result.check.valid,
        problems: result.check.problems,
        evidenceId: evidence.id,
      },
      updatedAt: now.toISOString(),
    };
    await tx.updateRequest(r);
    await ctx.note(tx, r, 'request.ticket_checked', actor, { ticket: r.ticket }, now, { evidenceId: evidence.id });
    r = await ctx.advance(tx, r, actor, now);
    const view = await ctx.view(tx, r);
    await onCommit?.(tx, 200, view);
    return view;
  });
}
