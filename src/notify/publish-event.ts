import { uuidv7 } from '../core/ids.js';
import type { StoreOps } from '../store/store.js';

/**
 * Outbound events (design §1, "notify"): every change-request state change,
 * break-glass alert and (later) detection alert, published as a signed
 * webhook. `publishEvent` runs inside the caller's transaction, so an event
 * is queued exactly when the state change it reports commits; the webhook
 * worker delivers and retries it afterwards.
 */

/** Which endpoints want an event. */
export interface EventRoutes {
  /** Names of the tenant's endpoints subscribed to `type`. */
  endpointsFor(tenant: string, type: string): readonly string[];
}

/** An event to publish: its tenant, type, data and time. */
export interface OutboundEvent {
  tenant: string;
  /** Dotted type, e.g. `request.approved`, `alert.break_glass`. */
  type: string;
  data: Record<string, unknown>;
  at: Date;
}

/**
 * The body Warden sends (Standard Webhooks' recommended envelope):
 * `{ "type", "timestamp", "data" }`. It is stored once and signed as is on
 * every attempt, so a receiver's signature check never depends on re-serialization.
 */
export function eventBody(event: Pick<OutboundEvent, 'type' | 'data' | 'at'>): string {
  return JSON.stringify({ type: event.type, timestamp: event.at.toISOString(), data: event.data });
}

/**
 * Queues an event for every endpoint of the tenant subscribed to its type,
 * in the caller's transaction. Returns the event id (the `webhook-id` of its
 * deliveries), or undefined when no endpoint wants it (nothing is stored).
 *
 * @example
 *   await store.transaction(async (tx) => {
 *     await tx.updateRequest(approved);
 *     await publishEvent(tx, routes, { tenant, type: 'request.approved', data: { requestId }, at: now });
 *   });
 */
export async function publishEvent(tx: StoreOps, routes: EventRoutes, event: OutboundEvent): Promise<string | undefined> {
  const endpoints = routes.endpointsFor(event.tenant, event.type);
  if (endpoints.length === 0) return undefined;
  const id = uuidv7(event.at.getTime());
  await tx.putNotifyEvent({ id, tenant: event.tenant, type: event.type, body: eventBody(event), createdAt: event.at }, endpoints);
  return id;
}

/** Whether a subscription pattern (`*`, `request.*`, `request.approved`) covers an event type. */
export function subscribes(pattern: string, type: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('.*')) return type.startsWith(pattern.slice(0, -1));
  return pattern === type;
}
