import { systemClock } from '../core/clock.js';
import { appendAudit, type AuditActor } from '../audit/audit-log.js';
import type { Alert } from '../core/alert.js';
import { WardenError } from '../core/errors.js';
import type { Store } from '../store/store.js';

/**
 * Closes an alert after review: it stops weighing on the person's later
 * decisions (`context.alerts`) and new matches on them start a new alert.
 * Audited with who closed it and why. Containment already done is not
 * undone here: release the holds it caused with `warden holds release`.
 *
 * @returns the closed alert, or undefined when it was closed before
 * @throws WardenError `ERR_NOT_FOUND`, `ERR_VALIDATION` (no reason)
 */
export async function closeAlert(
  store: Store,
  input: { tenant: string; id: string; actor: AuditActor; reason: string; now?: Date },
): Promise<Alert | undefined> {
  const now = input.now ?? systemClock();
  if (!input.reason.trim()) throw new WardenError('ERR_VALIDATION', 'closing an alert needs a reason');
  return store.transaction(async (tx) => {
    const alert = await tx.getAlert(input.tenant, input.id);
    if (!alert) throw new WardenError('ERR_NOT_FOUND', `no alert ${input.id} in tenant ${input.tenant}`);
    if (alert.status === 'closed') return undefined;
    const closed: Alert = {
      ...alert,
      status: 'closed',
      updatedAt: now.toISOString(),
      closed: {
        at: now.toISOString(),
        by: { type: input.actor.type, id: input.actor.id, ...(input.actor.name ? { name: input.actor.name } : {}) },
        reason: input.reason,
      },
    };
    await tx.updateAlert(closed);
    await appendAudit(tx, input.tenant, {
      type: 'alert.closed',
      actor: input.actor,
      subject: { alertId: alert.id },
      data: { rule: alert.rule, severity: alert.severity, key: alert.key, reason: input.reason },
      at: now,
    });
    return closed;
  });
}
