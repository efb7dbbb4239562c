import { appendAudit, type AuditActor } from '../audit/audit-log.js';
import type { Alert } from '../core/alert.js';
import { WardenError } from '../core/errors.js';
import { publishEvent, type EventRoutes } from '../notify/publish-event.js';
import type { StoreTx } from '../store/store.js';
import { authorizeCaller, personOf, type Caller } from './caller.js';
import type { OnCommit, WorkflowContext } from './request-context.js';
import { requireRecentMfa } from './step-up.js';

/** What closing an alert needs. */
export interface CloseAlertInput {
  tenant: string;
  id: string;
  reason: string;
  actor: AuditActor;
  now: Date;
}

/**
 * Closes an alert in the caller's transaction: open → closed with who, why
 * and when; it stops weighing on the person's later decisions
 * (`context.alerts`) and new matches on them start a new alert. Audited
 * (`alert.closed`) and published (`alert.closed`). Containment already done
 * is not undone: release the holds it caused.
 *
 * @throws WardenError `ERR_VALIDATION` (no reason), `ERR_NOT_FOUND`, `ERR_CONFLICT` (closed before)
 */
export async function closeAlertIn(tx: StoreTx, routes: EventRoutes, input: CloseAlertInput): Promise<Alert> {
  const reason = input.reason.trim();
  if (!reason) throw new WardenError('ERR_VALIDATION', 'closing an alert needs a reason');
  const alert = await tx.getAlert(input.tenant, input.id);
  if (!alert) throw new WardenError('ERR_NOT_FOUND', `no alert ${input.id} in tenant ${input.tenant}`);
  if (alert.status === 'closed')
    throw new WardenError(
      'ERR_CONFLICT',
      `alert ${input.id} was closed before${alert.closed ? `, at ${alert.closed.at} by ${alert.closed.by.name ?? alert.closed.by.id}: ${alert.closed.reason}` : ''}`,
    );
  const at = input.now.toISOString();
  const by = { type: input.actor.type, id: input.actor.id, ...(input.actor.name ? { name: input.actor.name } : {}) };
  const closed: Alert = { ...alert, status: 'closed', updatedAt: at, closed: { at, by, reason } };
  await tx.updateAlert(closed);
  await appendAudit(tx, input.tenant, {
    type: 'alert.closed',
    actor: input.actor,
    subject: { alertId: alert.id },
    data: { rule: alert.rule, severity: alert.severity, key: alert.key, reason },
    at: input.now,
  });
  await publishEvent(tx, routes, {
    tenant: input.tenant,
    type: 'alert.closed',
    data: { alertId: alert.id, rule: alert.rule, severity: alert.severity, key: alert.key, reason, closedBy: by, closedAt: at },
    at: input.now,
  });
  return closed;
}

/**
 * Closes an alert after review, whoever asks (console, API, CLI): an admin
 * signed in with a recent multi-factor sign-in, or the operator at the CLI.
 * API keys may not (a person answers for it).
 *
 * @throws WardenError `ERR_FORBIDDEN`, `ERR_STEP_UP_REQUIRED`, `ERR_VALIDATION`, `ERR_NOT_FOUND`, `ERR_CONFLICT`
 */
export async function closeAlert(ctx: WorkflowContext, tenant: string, id: string, reason: string, caller: Caller, onCommit?: OnCommit): Promise<Alert> {
  authorizeCaller(caller, tenant, { roles: ['admin'], what: 'closing an alert' });
  if (caller.type === 'user') requireRecentMfa(ctx, caller, 'closing an alert');
  if (reason.length > 1000) throw new WardenError('ERR_VALIDATION', 'the reason is longer than 1000 characters');
  const now = ctx.now();
  return ctx.transaction(async (tx) => {
    const closed = await closeAlertIn(tx, ctx.deps.routes, { tenant, id, reason, actor: personOf(caller) as AuditActor, now });
    await onCommit?.(tx, 200, closed);
    return closed;
  });
}
