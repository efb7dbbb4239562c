import express, { type RequestHandler, type Router } from 'express';
import { z } from 'zod';
import { WardenError } from '../../src/core/errors.js';
import type { PluginContext } from '../../src/plugin/plugin.js';
import type { InboxEntry } from '../../src/store/store.js';
import { publishedIso } from './log-event.js';
import { oktaMetrics } from './okta-metrics.js';
import type { OktaTenant, OktaTenants } from './okta-tenant.js';
import { verifySharedHeader } from './verify-hook-auth.js';

/**
 * The event hook endpoint `/hooks/okta/:tenant/events`: Okta's one-time
 * verification (GET) and its deliveries (POST).
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
export type EventHookDelivery = z.infer<typeof EventHookDelivery>;

/** Finds the tenant or answers 404 (unknown tenant, or a tenant without an okta section). */
export function resolveTenant(tenants: OktaTenants, ctx: PluginContext, id: string): OktaTenant {
  const tenant = tenants.find(ctx.config, id);
  if (!tenant) throw new WardenError('ERR_TENANT_UNKNOWN', `no Okta tenant "${id}"`);
  return tenant;
}

/**
 * Mounts the event hook receiver. Authentication runs before the body is
 * read; a delivery is acknowledged (200, empty body) only after every event
 * in it is committed to the inbox, one row per LogEvent `uuid` (Okta's
 * duplicates, its one retry and the poller's copy collapse there). Bad input
 * gets 4xx, never 5xx: Okta retries 5xx.
 */
export function mountEventHook(router: Router, ctx: PluginContext, tenants: OktaTenants): void {
  const metrics = oktaMetrics(ctx.metrics.registry);
  const authenticate: RequestHandler = (req, res, next) => {
    const tenant = resolveTenant(tenants, ctx, String(req.params.tenant));
    try {
      verifySharedHeader(req.get(tenant.config.eventHook.header), tenant.eventHookSecret, tenant.config.eventHook.header);
    } catch (err) {
      metrics.hookDeliveries.inc({ tenant: tenant.id, result: 'unauthorized' });
      ctx.log.warn({ tenant: tenant.id, code: (err as WardenError).code, ip: req.ip }, 'okta event hook call refused');
      throw err;
    }
    res.locals.oktaTenant = tenant;
    next();
  };

  router.get(EVENT_HOOK_PATH, authenticate, (req, res) => {
    const tenant = res.locals.oktaTenant as OktaTenant;
    const challenge = req.get('x-okta-verification-challenge');
    if (!challenge) throw new WardenError('ERR_VALIDATION', 'the x-okta-verification-challenge header is missing');
    metrics.hookDeliveries.inc({ tenant: tenant.id, result: 'verified' });
    ctx.log.info({ tenant: tenant.id }, 'okta event hook verified');
    res.json({ verification: challenge });
  });

  // Okta sends application/json; any other content type is read as JSON too, so a bad body is a 400, not a silent 2xx.
  const body = express.json({ limit: ctx.config.bodyBytes, strict: true, type: () => true });
  router.post(EVENT_HOOK_PATH, authenticate, body, async (req, res) => {
    const tenant = res.locals.oktaTenant as OktaTenant;
    const parsed = EventHookDelivery.safeParse(req.body);
    if (!parsed.success) {
      metrics.hookDeliveries.inc({ tenant: tenant.id, result: 'malformed' });
      throw new WardenError('ERR_VALIDATION', `not an Okta event hook delivery: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ')}`);
    }
    const receivedAt = ctx.clock();
    const entries: InboxEntry[] = parsed.data.data.events.map((event) => {
      const occurred = publishedIso(event.published);
      return { tenant: tenant.id, source: 'okta', eventId: event.uuid, eventType: event.eventType, via: 'hook', payload: event, receivedAt, ...(occurred ? { occurredAt: new Date(occurred) } : {}) };
    });
    let stored = 0;
    if (entries.length === 1) stored = (await ctx.store.putInbox(entries[0]!)).inserted ? 1 : 0;
    else
      await ctx.store.transaction(async (tx) => {
        for (const entry of entries) if ((await tx.putInbox(entry)).inserted) stored++;
      });
    metrics.hookDeliveries.inc({ tenant: tenant.id, result: 'stored' });
    if (stored) metrics.hookEvents.inc({ tenant: tenant.id, stored: 'true' }, stored);
    if (entries.length > stored) metrics.hookEvents.inc({ tenant: tenant.id, stored: 'false' }, entries.length - stored);
    res.status(200).end();
    if (stored) ctx.wakeInbox();
  });
}
