import type { AlertHold, ChangeRequest } from '../core/change-request.js';
import { completeChange, type IdentityChange } from '../core/identity-change.js';
import { evaluatePolicy } from '../core/policy/evaluate-policy.js';
import { withAlerts } from '../engine/decide-change.js';
import type { StoreTx } from '../store/store.js';
import type { WorkflowContext } from './request-context.js';

/** What to do about an alert that would hold a request's change (docs/workflow.md, "Approved work and detection alerts"). */
export function alertRecovery(alertId: string, tenant: string): string {
  return (
    `review alert ${alertId} (warden alerts list --tenant ${tenant}; GET /v1/alerts/${alertId}: changes[].coveredBy names the requests that covered its changes). ` +
    `If the chain is this approved work itself, close it before making the change (warden alerts close ${alertId} --tenant ${tenant} --reason "…"); ` +
    `if the change was already held, release it (warden holds release <decisionId> --tenant ${tenant} --reason "…") or make it again: the request stays approved and unused. ` +
    'If the chain is not explained by the request, leave the hold and handle it as an incident'
  );
}

/**
 * The change a request covers, as it will be observed: its kind and channel,
 * on its target, made by its executor (as `createRequest` judges it).
 */
export function prospectiveChange(
  request: Pick<ChangeRequest, 'tenant' | 'kind' | 'changeChannel' | 'target' | 'executor' | 'context'>,
  now: Date,
): IdentityChange {
  const { executor } = request;
  return completeChange(
    {
      kind: request.kind,
      channel: request.changeChannel,
      target: request.target,
      actor: {
        id: executor.id,
        ...(executor.login ? { login: executor.login } : {}),
        ...(executor.email ? { email: executor.email } : {}),
        type: executor.type,
        groups: [],
        adminRoles: [],
        flags: { shared: false, executive: false, serviceAccount: executor.type === 'service', breakGlass: false },
        attributes: {},
      },
      context: request.context ?? {},
    },
    request.tenant,
    now,
  );
}

/**
 * The open detection alerts that would hold the change a request covers,
 * even once the request is approved: the tenant policy is evaluated on the
 * prospective change with the request approved, without alerts and then
 * with each open alert on the target or the executor in `context.alerts`
 * (as a decision would see them, `covered` included); an alert is named when
 * a rule that allowed the change without it holds or denies it with it.
 * Empty when the tenant has no detection or no such alert is open.
 */
export async function alertHolds(ctx: WorkflowContext, tx: StoreTx, request: ChangeRequest, now: Date): Promise<AlertHold[]> {
  const detection = ctx.deps.detection;
  if (!detection) return [];
  const change = prospectiveChange(request, now);
  const { alerts } = await detection.alertsFor(tx, change, now);
  if (alerts.length === 0) return [];
  const policy = ctx.deps.policies.get(request.tenant);
  const names = [request.target.id, request.target.login, request.target.email].filter((n): n is string => !!n);
  const exceptions = await tx.listExceptions(request.tenant, { targets: names });
  const approved = ctx.snapshot(
    { ...request, state: 'approved', approvedAt: request.approvedAt ?? now.toISOString() },
    await tx.listApprovals(request.tenant, request.id),
  );
  const judge = (c: IdentityChange) => evaluatePolicy(policy, { change: c, now, exceptions, request: approved });
  const without = new Set(
    judge(change)
      .rules.filter((r) => r.outcome !== 'allow')
      .map((r) => r.id),
  );
  const holds: AlertHold[] = [];
  for (const alert of alerts) {
    const verdict = judge(withAlerts(change, [alert]));
    const by = verdict.rules.filter((r) => r.outcome !== 'allow' && !without.has(r.id));
    if (by.length === 0) continue;
    holds.push({
      alert: alert.id,
      alertRule: alert.rule,
      severity: alert.severity,
      ...(alert.on ? { on: alert.on } : {}),
      rules: by.map((r) => r.id),
      outcome: by.some((r) => r.outcome === 'deny') ? 'deny' : 'hold',
      recovery: alertRecovery(alert.id, request.tenant),
    });
  }
  return holds;
}

/** The request with `needs.heldBy` set to `holds` (removed when empty). */
export function withAlertHolds(request: ChangeRequest, holds: readonly AlertHold[]): ChangeRequest {
  const { heldBy: _, ...needs } = request.needs;
  return { ...request, needs: holds.length > 0 ? { ...needs, heldBy: [...holds] } : needs };
}
