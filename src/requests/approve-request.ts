import type { Approval } from '../core/change-request.js';
import { WardenError } from '../core/errors.js';
import { nameKey } from '../core/person-name.js';
import { alertHolds, withAlertHolds } from './alert-holds.js';
import { actorOf, authorizeCaller, type Caller } from './caller.js';
import { PersonResolver, samePerson } from './resolve-person.js';
import { requireRecentMfa } from './step-up.js';
import type { OnCommit, RequestView, WorkflowContext } from './request-context.js';

/**
 * An approver's verdict on a request, with separation of duties enforced
 * here, whatever the interface (HTTP, console, chat): only a person signed in
 * with the IdP, holding the approver role and belonging to a source the
 * policy names (`approvals.from`), with a recent MFA sign-in; never the
 * requester, the target, the executor or whoever filed the request (by any of
 * their names: each name resolves to one IdP user id, src/requests/resolve-person.ts),
 * and never twice by the same person (the database refuses a second verdict
 * by the same IdP id too). Approvals open once proofing is complete; a rejection
 * may come earlier and ends the request.
 *
 * @throws WardenError `ERR_FORBIDDEN`, `ERR_SOD_VIOLATION`, `ERR_IDENTITY_UNRESOLVED`, `ERR_DUPLICATE_APPROVAL`, `ERR_STEP_UP_REQUIRED`, `ERR_ILLEGAL_TRANSITION`, `ERR_NOT_FOUND`
 */
export async function decideRequest(
  ctx: WorkflowContext,
  tenant: string,
  requestId: string,
  verdict: 'approve' | 'reject',
  comment: string | undefined,
  caller: Caller,
  onCommit?: OnCommit,
): Promise<RequestView> {
  const what = verdict === 'approve' ? 'approving a change request' : 'rejecting a change request';
  if (caller.type !== 'user') throw new WardenError('ERR_FORBIDDEN', `${what} is done by a person signed in with the IdP, never by an API key or a script`);
  authorizeCaller(caller, tenant, { roles: ['approver'], what });
  const request = await ctx.store.getRequest(tenant, requestId);
  if (!request) throw new WardenError('ERR_NOT_FOUND', `no change request ${requestId} in tenant ${tenant}`);
  const open = verdict === 'approve' ? ['pending_approval'] : ['draft', 'proofing', 'pending_approval'];
  if (!open.includes(request.state))
    throw new WardenError(
      'ERR_ILLEGAL_TRANSITION',
      `request ${request.id} is ${request.state}: ${verdict === 'approve' ? 'approvals are taken once ticket and proofing are complete (pending_approval)' : 'only an open request can be rejected'}`,
      { details: { state: request.state, to: verdict === 'approve' ? 'approved' : 'rejected' } },
    );

  // People, not strings: every party and the caller resolve to one IdP user id, whatever name they were given by.
  const people = new PersonResolver(ctx, tenant);
  const me = await people.ofCaller(caller);
  const parties = await people.partiesOf(request);
  for (const [party, key] of [
    ['requester', 'requester'],
    ['target', 'target'],
    ['executor', 'executor'],
    ['creator', 'filer'],
  ] as const)
    if (samePerson(me, parties[key]))
      throw new WardenError('ERR_SOD_VIOLATION', `separation of duties: you are the ${party} of request ${request.id} and cannot ${verdict} it`, {
        details: { party },
      });

  for (const a of await ctx.store.listApprovals(tenant, requestId))
    if (samePerson(me, await people.ofApproval(a)))
      throw new WardenError(
        'ERR_DUPLICATE_APPROVAL',
        `you already gave your verdict (${a.verdict}) on request ${request.id} at ${a.at}; a second one does not count`,
      );

  const from = request.needs.approvals?.from ?? [];
  // `role:<name>` sources name IdP administrator roles (as the policy core reads them), which tokens do not carry: read them from the IdP.
  let adminRoles: string[] = [];
  if (from.some((s) => s.startsWith('role:'))) {
    const directory = ctx.deps.ports.directory(tenant);
    try {
      adminRoles = (directory ? await directory.getUser(tenant, me.id, ctx.deps.connectorContext()) : undefined)?.adminRoles ?? [];
    } catch (err) {
      throw ctx.upstream('cannot read your administrator roles from the IdP', err);
    }
  }
  const allowed =
    from.length === 0 ||
    from.some((source) => {
      const [type, ...rest] = source.split(':');
      const name = rest.join(':');
      if (type === 'group') return caller.groups.includes(name);
      if (type === 'role') return adminRoles.includes(name);
      return me.names.has(nameKey(name));
    });
  if (!allowed) throw new WardenError('ERR_FORBIDDEN', `request ${request.id} needs approvers from ${from.join(', ')}; you are not one of them`);

  requireRecentMfa(ctx, caller, verdict === 'approve' ? 'an approval' : 'a rejection');

  const now = ctx.now();
  const actor = actorOf(caller);
  return ctx.transaction(async (tx) => {
    let r = await ctx.load(tx, tenant, requestId);
    if (!open.includes(r.state)) throw new WardenError('ERR_ILLEGAL_TRANSITION', `request ${r.id} is ${r.state} now`, { details: { state: r.state } });
    const approval: Approval = {
      tenant,
      requestId,
      approverId: me.id,
      subject: caller.subject,
      names: caller.names,
      verdict,
      at: now.toISOString(),
      groups: caller.groups,
      roles: adminRoles,
      ...(caller.authTime ? { authTime: caller.authTime.toISOString() } : {}),
      amr: caller.amr,
      ...(comment ? { comment } : {}),
    };
    if (!(await tx.putApproval(approval)))
      throw new WardenError('ERR_DUPLICATE_APPROVAL', `you already gave your verdict on request ${r.id}; a second one does not count`);
    await ctx.note(
      tx,
      r,
      verdict === 'approve' ? 'request.approval_recorded' : 'request.rejection_recorded',
      actor,
      { verdict, comment: comment ?? null, groups: caller.groups, authTime: approval.authTime ?? null, amr: caller.amr },
      now,
    );
    r =
      verdict === 'reject'
        ? await ctx.transition(tx, r, 'rejected', actor, `rejected by ${caller.displayName ?? caller.subject}${comment ? `: ${comment}` : ''}`, now)
        : await ctx.advance(tx, r, actor, now);
    if (verdict === 'approve') {
      // Alerts may have opened since the request was filed: say again, on approval, which would hold the change.
      const held = withAlertHolds(r, await alertHolds(ctx, tx, r, now));
      if (JSON.stringify(held.needs.heldBy ?? []) !== JSON.stringify(r.needs.heldBy ?? [])) {
        r = held;
        await tx.updateRequest(r);
      }
    }
    const view = await ctx.view(tx, r);
    await onCommit?.(tx, 200, view);
    return view;
  });
}
