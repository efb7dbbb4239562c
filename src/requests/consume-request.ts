import type { ChangeRequest } from '../core/change-request.js';
import type { Decision } from '../core/decision.js';
import type { IdentityChange } from '../core/identity-change.js';
import type { StoreTx } from '../store/store.js';
import type { WorkflowContext } from './request-context.js';

/**
 * Uses a request up for a change: `approved` → `executed` with what consumed
 * it, and the `request.matched` record an auditor follows — this request,
 * proofed like this, approved by these people, covered these IdP events. With
 * `released`, the change had been held and the request's approval released it.
 */
export async function consumeRequest(
  ctx: WorkflowContext,
  tx: StoreTx,
  current: ChangeRequest,
  change: IdentityChange,
  by: Pick<Decision, 'changeId'> & { decisionId: string },
  now: Date,
  released?: { cancelled: string[]; undo: string[] },
): Promise<ChangeRequest> {
  const eventIds = change.source.eventIds;
  const consumed = await ctx.transition(
    tx,
    current,
    'executed',
    { type: 'system', id: `warden:${change.source.idp}` },
    `${change.kind} on ${change.target.login ?? change.target.id} by ${change.actor.login ?? change.actor.id} (${change.source.idp} ${eventIds.join(', ') || change.id})${released ? ', held before the approval and released by it' : ''}`,
    now,
    { consumed: { at: now.toISOString(), changeId: by.changeId, decisionId: by.decisionId, eventIds, ...(released ? { releasedHold: true } : {}) } },
  );
  const [evidence, approvals] = await Promise.all([tx.listEvidence(current.tenant, current.id), tx.listApprovals(current.tenant, current.id)]);
  await ctx.note(
    tx,
    consumed,
    'request.matched',
    { type: 'system', id: 'warden' },
    {
      changeId: by.changeId,
      decisionId: by.decisionId,
      idp: change.source.idp,
      eventIds,
      rawType: change.source.rawType,
      actor: { id: change.actor.id, ...(change.actor.login ? { login: change.actor.login } : {}) },
      executor: current.executor,
      requester: current.requester,
      breakGlass: current.breakGlass !== undefined,
      evidence: evidence
        .filter((e) => e.accepted)
        .map((e) => ({
          id: e.id,
          kind: e.kind,
          method: e.method,
          level: e.level ?? null,
          verifier: e.verifier,
          reference: e.reference ?? null,
          verifiedAt: e.verifiedAt,
        })),
      approvals: approvals.map((a) => ({ approverId: a.approverId, verdict: a.verdict, at: a.at, authTime: a.authTime ?? null })),
      ticket: current.ticket ?? null,
      ...(released ? { releasedHold: { cancelled: released.cancelled, undo: released.undo } } : {}),
    },
    now,
    { changeId: by.changeId, decisionId: by.decisionId },
  );
  return consumed;
}
