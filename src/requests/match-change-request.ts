import type { ChangeRequest, RequestSnapshot } from '../core/change-request.js';
import type { IdentityChange } from '../core/identity-change.js';
import type { DecisionWorkflow } from '../engine/decide-change.js';
import type { StoreTx } from '../store/store.js';
import { consumeRequest } from './consume-request.js';
import { releaseIfCovered } from './release-covered-hold.js';
import type { WorkflowContext } from './request-context.js';

/** Skew tolerated between the IdP's clock and Warden's when judging a request's expiry (as the policy core does). */
const SKEW_MS = 2 * 60 * 1000;

function actorNames(change: IdentityChange): Set<string> {
  return new Set([change.actor.id, change.actor.login, change.actor.email].filter((n): n is string => !!n).map((n) => n.toLowerCase()));
}

/**
 * Whether a change was made by a request's executor, or by an identity
 * acting for them (Warden's broker, a mapped integration account).
 */
export function madeByExecutor(request: ChangeRequest, serviceIdentities: readonly string[], change: IdentityChange): boolean {
  const names = actorNames(change);
  return [request.people?.executor, request.executor.id, request.executor.login, request.executor.email, ...serviceIdentities].some(
    (n) => n !== undefined && names.has(n.toLowerCase()),
  );
}

/**
 * The workflow's part in every decision (`decideChange`): finds the approved,
 * unconsumed request with the change's tenant, target and kind whose
 * executor made it (or an identity acting for them), locked in the decision's
 * transaction, and the policy exceptions of the target. When the decision
 * allows an observed change with that request, the request is consumed
 * (state `executed`, single use) in the same transaction, and the audit log
 * binds the request, its evidence and approvals to the IdP event ids.
 * A request that has expired is still handed to the policy core, which then
 * says so (and it is not consumed). When the decision holds an observed
 * change that an approved request covers but could not allow (approved after
 * the change was made), that request releases the hold at once.
 */
export function decisionWorkflow(ctx: WorkflowContext): DecisionWorkflow {
  const candidates = new WeakMap<RequestSnapshot, ChangeRequest>();
  return {
    async prepare(tx: StoreTx, change: IdentityChange, _now: Date) {
      const names = [change.target.id, change.target.login, change.target.email].filter((n): n is string => !!n);
      const exceptions = await tx.listExceptions(change.tenant, { targets: names });
      const found = await tx.approvedRequestsFor(change.tenant, change.target.id, change.kind, new Date(Date.parse(change.occurredAt) - SKEW_MS), 20);
      const mine = found.find((r) => madeByExecutor(r, ctx.serviceIdentitiesFor(r), change)) ?? found[0];
      if (!mine) return { exceptions };
      const snapshot = ctx.snapshot(mine, await tx.listApprovals(mine.tenant, mine.id));
      candidates.set(snapshot, mine);
      return { request: snapshot, exceptions };
    },

    async recorded(tx, { change, decision, request, observed, now }) {
      if (!observed) return;
      if (decision.outcome === 'hold') {
        // Made before the approval but reported after it (Okta may deliver late, the poller later still):
        // an approved request that covers it releases it now. Looked up again under the matching lock, so
        // an approval committing at this very moment is seen here, or sees this hold (release-covered-hold.ts).
        await tx.lockRequestMatching(change.tenant, change.target.id, change.kind);
        const approved = await tx.approvedRequestsFor(change.tenant, change.target.id, change.kind, new Date(Date.parse(change.occurredAt) - SKEW_MS), 20);
        for (const r of approved.filter((a) => madeByExecutor(a, ctx.serviceIdentitiesFor(a), change)))
          if (await releaseIfCovered(ctx, tx, r, { decision, change }, { type: 'system', id: 'warden' }, now)) return;
        return;
      }
      if (!request || decision.outcome !== 'allow') return;
      const candidate = candidates.get(request);
      if (!candidate || !madeByExecutor(candidate, request.serviceIdentities ?? [], change)) return;
      if (Date.parse(candidate.expiresAt) + SKEW_MS < Date.parse(change.occurredAt)) return;
      const current = await tx.getRequest(candidate.tenant, candidate.id, { lock: true });
      if (current?.state !== 'approved' || current.consumed) return;
      await consumeRequest(ctx, tx, current, change, { changeId: decision.changeId, decisionId: decision.id }, now);
    },
  };
}
