import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { WardenError } from '../../src/core/errors.js';
import { readJsonBody, storeDeliveries, writeEmpty, type ConnectorContext, type InboxEntry, type RawRoute, type RouteDoc } from '../../src/connector/index.js';
import { validationError } from '../../src/core/validation-error.js';
import { entraMetricsOf } from './entra-metrics.js';
import type { EntraRuntime } from './entra-runtime.js';

/**
 * The receivers Graph calls: `POST /hooks/entra/:tenant/notifications` (change
 * notifications) and `POST /hooks/entra/:tenant/lifecycle` (lifecycle
 * notifications). Both answer the validation handshake (a `validationToken`
 * query parameter: 200, `text/plain`, the token as given, at once;
 * change-notifications-delivery-notificationurl-validation.md), check the
 * `clientState` of every notification in constant time and drop (and count)
 * those that do not match or name another Entra tenant, write the rest to the
 * inbox, and answer 202 as soon as that committed: the work happens in the
 * inbox worker (change-notifications-delivery-webhooks.md: 2xx within 3 s,
 * 202 when processing comes later). When every notification of a delivery is
 * rejected the answer is 401, so Graph retries a delivery that a wrong
 * configuration rejected rather than losing it. They are raw routes (plain
 * node:http, ahead of express): Graph throttles endpoints that answer slowly,
 * and ingest is the connector's hot path (docs/performance.md).
 */

/** One change or lifecycle notification (changenotification.md, lifecycle events). */
export const GraphNotification = z
  .object({
    id: z.string().optional(),
    subscriptionId: z.string().min(1).max(128),
    subscriptionExpirationDateTime: z.string().optional(),
    clientState: z.string().nullable().optional(),
    changeType: z.string().optional(),
    resource: z.string().optional(),
    resourceData: z.record(z.string(), z.unknown()).optional(),
    tenantId: z.string().min(1).max(128),
    lifecycleEvent: z.string().optional(),
    encryptedContent: z.unknown().optional(),
  })
  .passthrough()
  .describe('A Microsoft Graph change or lifecycle notification');

/** The body Graph posts (changeNotificationCollection). */
export const GraphNotificationCollection = z
  .object({ value: z.array(GraphNotification).min(1).max(1000), validationTokens: z.array(z.string()).optional() })
  .passthrough()
  .describe('Microsoft Graph change notifications (changeNotificationCollection)');

/** OpenAPI documentation of the receivers. */
export const NOTIFICATION_ROUTES: RouteDoc[] = (['notifications', 'lifecycle'] as const).map((kind) => ({
  method: 'post',
  path: `/hooks/entra/:tenant/${kind}`,
  summary: kind === 'notifications' ? 'Microsoft Graph change notifications (/users)' : 'Microsoft Graph lifecycle notifications',
  description:
    'With `?validationToken=…` (Graph validating the URL): answers 200 with the token as text/plain. Otherwise stores each notification whose clientState matches and answers 202; processing happens afterwards.',
  tags: ['entra'],
  requestBody: 'EntraGraphNotifications',
  responses: {
    200: { description: 'Validation handshake: the token, text/plain', contentType: 'text/plain' },
    202: { description: 'Stored' },
    400: { description: 'Malformed body (ERR_BODY_MALFORMED, ERR_VALIDATION)', schema: 'Problem', contentType: 'application/problem+json' },
    401: { description: 'No notification carried the right clientState (ERR_AUTH_INVALID)', schema: 'Problem', contentType: 'application/problem+json' },
    404: { description: 'Unknown tenant, or no entra section (ERR_TENANT_UNKNOWN)', schema: 'Problem', contentType: 'application/problem+json' },
  },
}));

const isOptionalString = (v: unknown) => v === undefined || typeof v === 'string';

/**
 * Whether `body` satisfies GraphNotificationCollection, checked without
 * copying it (the schema's parse clones every object, which costs the hot path
 * allocations). A test keeps the two in agreement.
 */
export function isNotificationCollection(body: unknown): body is z.infer<typeof GraphNotificationCollection> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  const { value, validationTokens } = body as { value?: unknown; validationTokens?: unknown };
  if (!Array.isArray(value) || value.length < 1 || value.length > 1000) return false;
  if (validationTokens !== undefined && !(Array.isArray(validationTokens) && validationTokens.every((t) => typeof t === 'string'))) return false;
  for (const n of value) {
    if (typeof n !== 'object' || n === null || Array.isArray(n)) return false;
    const { subscriptionId, tenantId, clientState, resourceData, id, subscriptionExpirationDateTime, changeType, resource, lifecycleEvent } = n as Record<
      string,
      unknown
    >;
    if (typeof subscriptionId !== 'string' || subscriptionId.length < 1 || subscriptionId.length > 128) return false;
    if (typeof tenantId !== 'string' || tenantId.length < 1 || tenantId.length > 128) return false;
    if (!(clientState === undefined || clientState === null || typeof clientState === 'string')) return false;
    if (resourceData !== undefined && (typeof resourceData !== 'object' || resourceData === null || Array.isArray(resourceData))) return false;
    if (![id, subscriptionExpirationDateTime, changeType, resource, lifecycleEvent].every(isOptionalString)) return false;
  }
  return true;
}

/** The inbox key of a notification: its id when Graph gives one, else a digest of it (Graph's retries carry the same JSON). */
export function notificationEventId(kind: 'notification' | 'lifecycle', n: z.infer<typeof GraphNotification>): string {
  if (kind === 'notification' && n.id) return `notification:${n.subscriptionId}:${n.id}`;
  const digest = createHash('sha256').update(JSON.stringify(n)).digest('hex').slice(0, 40);
  return kind === 'lifecycle' ? `lifecycle:${n.subscriptionId}:${n.lifecycleEvent ?? 'unknown'}:${digest}` : `notification:${n.subscriptionId}:${digest}`;
}

/** The receivers, as raw routes of the Entra connector. */
export function notificationReceivers(runtime: EntraRuntime): RawRoute[] {
  return (['notifications', 'lifecycle'] as const).map((path) => ({
    method: 'POST' as const,
    path: `/hooks/entra/:tenant/${path}`,
    handle: (req: IncomingMessage, res: ServerResponse, request: { params: Record<string, string>; query: URLSearchParams }, ctx: ConnectorContext) =>
      receive(runtime, path, req, res, request, ctx),
  }));
}

async function receive(
  runtime: EntraRuntime,
  path: 'notifications' | 'lifecycle',
  req: IncomingMessage,
  res: ServerResponse,
  { params, query }: { params: Record<string, string>; query: URLSearchParams },
  ctx: ConnectorContext,
): Promise<void> {
  const metrics = entraMetricsOf(ctx.metrics.registry);
  const tenantId = params.tenant!;
  const tenant = runtime.tenant(ctx.config, tenantId, ctx.clock);
  if (!tenant) throw new WardenError('ERR_TENANT_UNKNOWN', `no Entra tenant ${tenantId}`);
  const tokens = query.getAll('validationToken');
  if (tokens.length > 0) {
    const token = tokens[0]!;
    if (tokens.length > 1 || token.length > 4096) throw new WardenError('ERR_VALIDATION', 'validationToken must be one string');
    // The token is echoed verbatim as plain text; nosniff keeps a browser from rendering it as anything else.
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff', 'content-length': Buffer.byteLength(token) });
    res.end(token);
    return;
  }
  const body = await readJsonBody(req, ctx.config.bodyBytes, { requireJsonType: true });
  // The common shape is checked in place (no copy); anything else goes through the schema for its error.
  const parsed = isNotificationCollection(body) ? { data: body } : GraphNotificationCollection.safeParse(body);
  if ('success' in parsed && !parsed.success) throw validationError(parsed.error, 'the notification body');
  if (!('data' in parsed) || !parsed.data) throw new WardenError('ERR_VALIDATION', 'the notification body is invalid');
  const expected = tenant.clientStateCheck;
  const now = ctx.clock();
  const entries: InboxEntry[] = [];
  for (const n of parsed.data.value) {
    const kind = n.lifecycleEvent !== undefined || path === 'lifecycle' ? 'lifecycle' : 'notification';
    if (!expected?.matches(n.clientState)) {
      metrics.notifications.inc({ tenant: tenantId, kind, result: 'client_state_mismatch' });
      continue;
    }
    if (n.tenantId.toLowerCase() !== tenant.config.tenantId.toLowerCase()) {
      metrics.notifications.inc({ tenant: tenantId, kind, result: 'tenant_mismatch' });
      continue;
    }
    // The clientState is a secret: it is checked, never stored.
    const { clientState: _secret, ...payload } = n;
    entries.push({
      tenant: tenantId,
      source: 'entra',
      eventId: notificationEventId(kind, n),
      eventType: kind === 'lifecycle' ? `graph.lifecycle.${n.lifecycleEvent ?? 'unknown'}`.slice(0, 200) : 'graph.notification',
      via: 'hook',
      payload: { kind, notification: payload },
      receivedAt: now,
    });
    metrics.notifications.inc({ tenant: tenantId, kind, result: 'accepted' });
  }
  if (entries.length === 0) {
    ctx.log.warn({ tenant: tenantId, path, count: parsed.data.value.length }, 'entra notification delivery rejected: clientState or tenant did not match');
    throw new WardenError('ERR_AUTH_INVALID', 'no notification carried the expected clientState for this tenant');
  }
  // Group commit: in one statement with the notifications arriving beside it, all of this delivery's entries or none; resolves once committed.
  await storeDeliveries(ctx.store, entries);
  ctx.wakeInbox();
  writeEmpty(res, 202);
}
