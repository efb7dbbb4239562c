import type { DeliveryRow, StoreOps } from '../store/store.js';
import { publishEvent, type EventRoutes } from './publish-event.js';

/**
 * Publishes `delivery.stopped` when a webhook endpoint or a notification
 * channel gave up on a delivery, in the caller's transaction. A failed
 * `delivery.stopped` does not report itself again, so a broken channel
 * cannot feed a loop.
 */
export async function publishDeliveryStopped(tx: StoreOps, routes: EventRoutes, delivery: DeliveryRow, error: string, now: Date): Promise<string | undefined> {
  if (delivery.event.type === 'delivery.stopped') return undefined;
  const [kind, name] = delivery.endpoint.includes(':') ? (delivery.endpoint.split(':', 2) as [string, string]) : ['webhook', delivery.endpoint];
  return publishEvent(tx, routes, {
    tenant: delivery.tenant,
    type: 'delivery.stopped',
    data: { kind, name, eventId: delivery.eventId, eventType: delivery.event.type, attempts: delivery.attempts, error },
    at: now,
  });
}

/**
 * Publishes `delivery.stopped` for a vendor feed that stopped delivering to
 * Warden (an Entra subscription, an Okta event hook), in the caller's
 * transaction. `data` has `kind`, `name`, `connector` and `error`; there is
 * no event or attempt count, since nothing of Warden's was being delivered.
 */
export async function publishFeedStopped(
  tx: StoreOps,
  routes: EventRoutes,
  feed: { tenant: string; kind: string; name: string; error: string },
  now: Date,
): Promise<string | undefined> {
  return publishEvent(tx, routes, { tenant: feed.tenant, type: 'delivery.stopped', data: { kind: feed.kind, name: feed.name, error: feed.error }, at: now });
}
