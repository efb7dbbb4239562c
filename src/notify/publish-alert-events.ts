import type { Alert } from '../core/alert.js';
import { publishEvent, type EventRoutes } from './publish-event.js';
import type { StoreOps } from '../store/store.js';

/**
 * Publishes detection alerts as signed outbound events, in the caller's
 * transaction: `alert.raised` for a new alert, `alert.updated` when a later
 * change extended one. The body carries what a SOAR or chat channel needs to
 * act (rule, severity, key, summary, the changes with their times) and the
 * alert id to fetch the rest from `GET /v1/alerts/{id}`.
 */
export async function publishAlertEvents(tx: StoreOps, routes: EventRoutes, alerts: readonly Alert[]): Promise<void> {
  for (const alert of alerts)
    await publishEvent(tx, routes, {
      tenant: alert.tenant,
      type: alert.raisedAt === alert.updatedAt ? 'alert.raised' : 'alert.updated',
      data: {
        alertId: alert.id,
        rule: alert.rule,
        title: alert.title,
        severity: alert.severity,
        key: alert.key,
        summary: alert.summary,
        changes: alert.changes,
        firstAt: alert.firstAt,
        lastAt: alert.lastAt,
      },
      at: new Date(alert.updatedAt),
    });
}
