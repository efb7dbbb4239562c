import type { Approval, ChangeRequest, WorkflowActor } from '../core/change-request.js';
import { CLOCK_SKEW_MS } from '../core/policy/check-requirements.js';
import { evaluatePolicy } from '../core/policy/evaluate-policy.js';
import { releaseHoldIn } from '../engine/release-hold.js';
import type { DecidedChange, StoreTx } from '../store/store.js';
import { consumeRequest } from './consume-request.js';
import type { WorkflowContext } from './request-context.js';

/** Held changes looked at per approval: an agent who retried a reset a few times before the approval. */
const MAX_HELD = 20;

/**
 * Whether a request may release a hold at all: approved (by people: at least
 * one approval, so a request that needs no approver never releases anything
 * on its own), unused, neither break-glass (declared before acting, never
 * after) nor brokered (Warden performs that change itself, so an agent's
 * own reset is not the one approved).
 */
function mayRelease(request: ChangeRequest, approvals: readonly Approval[]): boolean {
  return request.state === 'approved' && !request.consumed && !request.breakGlass && !request.broker && approvals.some((a) => a.verdict === 'approve');
}

/**
 * Whether the change happened while the request was valid: not before it was
 * filed, not after it expired (with the clock skew the policy core allows).
 */
function withinValidity(request: ChangeRequest, change: DecidedChange['change']): boolean {
  const at = Date.parse(change.occurredAt);
  return at >= Date.parse(request.createdAt) - CLOCK_SKEW_MS && at <= Date.parse(request.expiresAt) + CLOCK_SKEW_MS;
}

/**
 * Releases one held change if `request` covers it: the tenant policy,
 * evaluated on the held change with the request as it now stands, allows it
 * by this request — same tenant, target, kind and executor (or a service
 * identity acting for them), separation of duties, ticket, proofing level,
 * approver sources and ttl all met — counting proofing and approvals given
 * after the change (`releaseAt`). The decision stays a hold; the hold is
 * released (containment cancelled or undone, audited as `hold.released` with
 * the request as the reason) and the request is used up by that change.
 * Returns the consumed request, or undefined when it does not cover the change.
 */
export async function releaseIfCovered(
  ctx: WorkflowContext,
  tx: StoreTx,
  request: ChangeRequest,
  held: DecidedChange,
  actor: WorkflowActor,
  now: Date,
): Promise<ChangeRequest | undefined> {
  const { change, decision } = held;
  if (decision.outcome !== 'hold' || !withinValidity(request, change)) return undefined;
  const approvals = await tx.listApprovals(request.tenant, request.id);
  if (!mayRelease(request, approvals)) return undefined;
  const names = [change.target.id, change.target.login, change.target.email].filter((n): n is string => !!n);
  const exceptions = await tx.listExceptions(change.tenant, { targets: names });
  const verdict = evaluatePolicy(ctx.deps.policies.get(change.tenant), { change, request: ctx.snapshot(request, approvals), exceptions, now, releaseAt: now });
  if (verdict.outcome !== 'allow' || !verdict.rules.some((r) => r.requestId === request.id && !r.breakGlass)) return undefined;

  const approvers = approvals.filter((a) => a.verdict === 'approve').map((a) => a.names.find((n) => n.includes('@')) ?? a.approverId);
  const released = await releaseHoldIn(tx, {
    tenant: change.tenant,
    decisionId: decision.id,
    actor,
    reason: `change request ${request.id}, approved by ${approvers.join(', ')}, covers this change made before its approval`,
    now,
    requestId: request.id,
  });
  if (!released.released) return undefined;
  return consumeRequest(ctx, tx, request, change, { changeId: decision.changeId, decisionId: decision.id }, now, released);
}

/**
 * Release on approval: once a request is approved, a change it would have
 * covered that the executor made earlier (and Warden held) is released, the
 * oldest first, and uses the request up — so the agent who acted before the
 * approval is not left with a contained account, and a second change still
 * needs a new request. Runs in the approval's transaction.
 */
export async function releaseCoveredHold(ctx: WorkflowContext, tx: StoreTx, request: ChangeRequest, actor: WorkflowActor, now: Date): Promise<ChangeRequest> {
  if (request.state !== 'approved' || request.breakGlass || request.broker) return request;
  await tx.lockRequestMatching(request.tenant, request.target.id, request.kind);
  const from = new Date(Date.parse(request.createdAt) - CLOCK_SKEW_MS);
  const to = new Date(Math.min(now.getTime(), Date.parse(request.expiresAt)) + CLOCK_SKEW_MS);
  for (const held of await tx.heldChangesFor(request.tenant, request.target.id, request.kind, from, to, MAX_HELD)) {
    const consumed = await releaseIfCovered(ctx, tx, request, held, actor, now);
    if (consumed) return consumed;
  }
  return request;
}
