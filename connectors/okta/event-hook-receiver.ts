import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { WardenError } from '../../src/core/errors.js';
import {
  readJsonBody,
  storeDeliveries,
  writeEmpty,
  writeJson,
  type ConnectorContext,
  type InboxEntry,
  type InboxRow,
  type RawRoute,
} from '../../src/connector/index.js';
import { publishedIso } from './log-event.js';
import { oktaMetrics } from './okta-metrics.js';
import type { OktaTenant, OktaTenants } from './okta-tenant.js';
import { verifySharedHeader } from './verify-hook-auth.js';

/**
 * The event hook endpoint `/hooks/okta/:tenant/events`: Okta's one-time
 * verification (GET) and its deliveries (POST), served as raw routes.
 *
 * https://developer.okta.com/docs/concepts/event-hooks/
 */

export const EVENT_HOOK_PATH = '/hooks/okta/:tenant/events';

/** One LogEvent in a delivery: only what Warden keys on is required; the rest is kept verbatim. */
const DeliveredEvent = z.looseObject({
  uuid: z.string().min(1).max(256),
  eventType: z.string().min(1).max(256),
  published: z.string().max(64).optional(),
});

/** The event hook envelope (`eventType: com.okta.event_hook`, `data.events[]`). */
export const EventHookDelivery = z
  .looseObject({
    eventType: z.literal('com.okta.event_hook'),
    eventTypeVersion: z.string().optional(),
    cloudEventsVersion: z.string().optional(),
    source: z.string().optional(),
    eventId: z.string().min(1).max(256),
    eventTime: z.string().optional(),
    contentType: z.string().optional(),
    data: z.looseObject({ events: z.array(DeliveredEvent).min(1).max(10_000) }),
  })
  .describe('An Okta event hook delivery: the envelope with one or more System Log LogEvents in data.events');
/** A validated event hook delivery. */
export type EventHookDelivery = z.infer<typeof EventHookDelivery>;

/**
 * The common case checked by hand (what `EventHookDelivery` requires); zod
 * runs only for the rest, to say what is wrong.
 */
function isDelivery(body: unknown): body is EventHookDelivery {
  const b = body as { eventType?: unknown; eventId?: unknown; data?: { events?: unknown } } | null;
  if (!b || typeof b !== 'object' || b.eventType !== 'com.okta.event_hook' || typeof b.eventId !== 'string' || b.eventId.length < 1 || b.eventId.length > 256)
    return false;
  const events = b.data?.events;
  if (!Array.isArray(events) || events.length < 1 || events.length > 10_000) return false;
  for (const e of events as Array<Record<string, unknown> | null>) {
    if (!e || typeof e !== 'object' || Array.isArray(e)) return false;
    if (typeof e.uuid !== 'string' || e.uuid.length < 1 || e.uuid.length > 256) return false;
    if (typeof e.eventType !== 'string' || e.eventType.length < 1 || e.eventType.length > 256) return false;
    if (e.published !== undefined && (typeof e.published !== 'string' || e.published.length > 64)) return false;
  }
  for (const key of ['eventTypeVersion', 'cloudEventsVersion', 'source', 'eventTime', 'contentType'] as const)
    if ((b as Record<string, unknown>)[key] !== undefined && typeof (b as Record<string, unknown>)[key] !== 'string') return false;
  return typeof b.data === 'object' && !Array.isArray(b.data);
}

/**
 * Deliveries with more events than this are stored whole, as one inbox entry,
 * and split by the inbox worker: one row per event, each with its own insert,
 * took 3.5 s for 10,000 events, over the 3 s Okta waits.
 */
export const WHOLE_DELIVERY_EVENTS = 100;
/** The inbox `eventType` of a delivery stored whole. */
export const DELIVERY_EVENT_TYPE = 'okta.event_hook.delivery';

/** The inbox entry of one LogEvent of a delivery: keyed by its `uuid`, the de-duplication point with Okta's retries and the poller. */
function eventEntry(tenant: string, event: z.infer<typeof DeliveredEvent>, receivedAt: Date): InboxEntry {
  const occurred = publishedIso(event.published);
  return {
    tenant,
    source: 'okta',
    eventId: event.uuid,
    eventType: event.eventType,
    via: 'hook',
    payload: event,
    receivedAt,
    ...(occurred ? { occurredAt: new Date(occurred) } : {}),
  };
}

/**
 * The events of a delivery stored whole (`DELIVERY_EVENT_TYPE`), as the
 * entries the receiver stores for a small one; `undefined` for any other
 * entry. The Okta inbox handler's `split`.
 */
export function splitDelivery(entry: InboxRow): InboxEntry[] | undefined {
  if (entry.source !== 'okta' || entry.eventType !== DELIVERY_EVENT_TYPE) return undefined;
  const events = (entry.payload as { events: Array<z.infer<typeof DeliveredEvent>> }).events;
  return events.map((event) => eventEntry(entry.tenant, event, entry.receivedAt));
}

/** Finds the tenant or answers 404 (unknown tenant, or a tenant without an okta section). */
export function resolveTenant(tenants: OktaTenants, ctx: ConnectorContext, id: string): OktaTenant {
  const tenant = tenants.find(ctx.config, id);
  if (!tenant) throw new WardenError('ERR_TENANT_UNKNOWN', `no Okta tenant "${id}"`);
  return tenant;
}

/**
 * The event hook receiver, as raw routes of the Okta connector (plain node:http,
 * ahead of express: this is the connector's ingest path, and Okta gives each
 * delivery 3 s; docs/performance.md §4). Authentication runs before the body
 * is read; a delivery is acknowledged (200, empty body) only after every
 * event in it is committed to the inbox (in one statement with the
 * deliveries that arrive beside it: `storeDeliveries`, the group commit),
 * one row per LogEvent `uuid` (Okta's
 * duplicates, its one retry and the poller's copy collapse there) — or, over
 * `WHOLE_DELIVERY_EVENTS`, the delivery whole in one row, which the inbox
 * worker splits into those rows. Bad input
 * gets 4xx, never 5xx: Okta retries 5xx.
 */
export function eventHookReceivers(tenants: OktaTenants): RawRoute[] {
  return [
    { method: 'GET', path: EVENT_HOOK_PATH, handle: (req, res, { params }, ctx) => verify(tenants, req, res, params, ctx) },
    { method: 'POST', path: EVENT_HOOK_PATH, handle: (req, res, { params }, ctx) => receive(tenants, req, res, params, ctx) },
  ];
}

/** The tenant of the call, once its shared-secret header checked out (counted and logged when it does not). */
function authenticate(tenants: OktaTenants, req: IncomingMessage, params: Record<string, string>, ctx: ConnectorContext): OktaTenant {
  const tenant = resolveTenant(tenants, ctx, params.tenant!);
  const { header } = tenant.config.eventHook;
  try {
    verifySharedHeader(headerValue(req, header), tenant.eventHookSecret, header);
  } catch (err) {
    oktaMetrics(ctx.metrics.registry).hookDeliveries.inc({ tenant: tenant.id, result: 'unauthorized' });
    ctx.log.warn({ tenant: tenant.id, code: (err as WardenError).code, ip: req.socket.remoteAddress }, 'okta event hook call refused');
    throw err;
  }
  return tenant;
}

/** A request header by name, any case (what express's `req.get` reads). */
const headerValue = (req: IncomingMessage, name: string): string | undefined => {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
};

/** The cursor that records when Okta last verified the event hook (`{ verifiedAt }`). */
export const EVENT_HOOK_CURSOR = 'okta.eventHook';

/** Okta's one-time verification: echoes `x-okta-verification-challenge` as `{"verification": …}`. */
async function verify(tenants: OktaTenants, req: IncomingMessage, res: ServerResponse, params: Record<string, string>, ctx: ConnectorContext): Promise<void> {
  const tenant = authenticate(tenants, req, params, ctx);
  const challenge = headerValue(req, 'x-okta-verification-challenge');
  if (!challenge) throw new WardenError('ERR_VALIDATION', 'the x-okta-verification-challenge header is missing');
  oktaMetrics(ctx.metrics.registry).hookDeliveries.inc({ tenant: tenant.id, result: 'verified' });
  ctx.log.info({ tenant: tenant.id }, 'okta event hook verified');
  // Kept for the console's connector health: when Okta last verified the hook.
  const now = ctx.clock();
  await ctx.store.setCursor(tenant.id, EVENT_HOOK_CURSOR, { verifiedAt: now.toISOString() }, now);
  writeJson(res, 200, { verification: challenge });
}

/** One delivery, in one handler (authenticate, read, validate, store): its cost is what Okta's 3 s budget and the ingest rate see. */
async function receive(tenants: OktaTenants, req: IncomingMessage, res: ServerResponse, params: Record<string, string>, ctx: ConnectorContext): Promise<void> {
  const tenant = authenticate(tenants, req, params, ctx);
  const metrics = oktaMetrics(ctx.metrics.registry);
  let body: unknown;
  try {
    // Okta sends application/json; the body must parse whatever it is labelled.
    body = await readJsonBody(req, ctx.config.bodyBytes);
  } catch (err) {
    metrics.hookDeliveries.inc({ tenant: tenant.id, result: (err as WardenError).code === 'ERR_BODY_TOO_LARGE' ? 'too_large' : 'malformed' });
    throw err;
  }
  const parsed = isDelivery(body) ? { success: true as const, data: body } : EventHookDelivery.safeParse(body);
  if (!parsed.success) {
    metrics.hookDeliveries.inc({ tenant: tenant.id, result: 'malformed' });
    throw new WardenError(
      'ERR_VALIDATION',
      `not an Okta event hook delivery: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ')}`,
    );
  }
  const receivedAt = ctx.clock();
  const events = parsed.data.data.events;
  if (events.length > WHOLE_DELIVERY_EVENTS) {
    // One row, one insert: acknowledged within Okta's 3 s however many events; the inbox worker splits it (splitDelivery).
    await storeDeliveries(ctx.store, [
      {
        tenant: tenant.id,
        source: 'okta',
        eventId: `delivery:${parsed.data.eventId}`,
        eventType: DELIVERY_EVENT_TYPE,
        via: 'hook',
        payload: { events },
        receivedAt,
      },
    ]);
    metrics.hookDeliveries.inc({ tenant: tenant.id, result: 'stored' });
    writeEmpty(res, 200);
    ctx.wakeInbox();
    return;
  }
  const entries: InboxEntry[] = events.map((event) => eventEntry(tenant.id, event, receivedAt));
  // Group commit: written in one statement with the deliveries arriving beside it, all of this one's events or none; resolves once committed.
  let stored = 0;
  for (const answer of await storeDeliveries(ctx.store, entries)) if (answer.inserted) stored++;
  metrics.hookDeliveries.inc({ tenant: tenant.id, result: 'stored' });
  if (stored) metrics.hookEvents.inc({ tenant: tenant.id, stored: 'true' }, stored);
  if (entries.length > stored) metrics.hookEvents.inc({ tenant: tenant.id, stored: 'false' }, entries.length - stored);
  writeEmpty(res, 200);
  if (stored) ctx.wakeInbox();
}
