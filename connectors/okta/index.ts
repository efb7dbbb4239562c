import type { Router } from 'express';
import type { Connector, ConnectorContext, RouteDoc } from '../../src/connector/index.js';
import { createOktaBroker } from './broker.js';
import { registerOktaCommands, oktaOperations } from './commands.js';
import { createOktaEnforcer } from './enforcer.js';
import { oktaInboxHandler } from './inbox-handler.js';
import { INLINE_HOOK_PATH, mountInlineHooks, RegistrationHookRequest, TelephonyHookRequest, TokenHookRequest } from './inline-hooks.js';
import { isLogEventLike } from './log-event.js';
import { enrichFromSnapshot } from './enrich-change.js';
import { normalizeLogEvent } from './normalize-log-event.js';
import { OktaTenantConfig } from './okta-config.js';
import { createOktaDirectory } from './okta-directory.js';
import { createOktaTenants } from './okta-tenant.js';
import { startPollers } from './system-log-poller.js';
import { createOktaProofer } from './proofer.js';
import { EVENT_HOOK_PATH, EventHookDelivery, eventHookReceivers } from './event-hook-receiver.js';

const problem = (description: string) => ({ description, schema: 'Problem', contentType: 'application/problem+json' });

const ROUTES: RouteDoc[] = [
  {
    method: 'get',
    path: EVENT_HOOK_PATH,
    summary: 'Okta event hook one-time verification: echoes x-okta-verification-challenge as {"verification": …}',
    tags: ['okta'],
    responses: {
      200: { description: '{"verification": "<challenge>"}' },
      400: problem('No challenge header'),
      401: problem('Missing or wrong shared-secret header'),
      404: problem('Unknown tenant or no okta section'),
    },
  },
  {
    method: 'post',
    path: EVENT_HOOK_PATH,
    summary: 'Okta event hook delivery: every LogEvent stored in the inbox (one per uuid), then 200',
    tags: ['okta'],
    requestBody: 'OktaEventHookDelivery',
    responses: {
      200: { description: 'Stored (empty body); processed afterwards' },
      400: problem('Malformed JSON or not an event hook envelope'),
      401: problem('Missing (ERR_AUTH_REQUIRED) or wrong (ERR_AUTH_INVALID) shared-secret header'),
      404: problem('Unknown tenant or no okta section'),
      413: problem('Body larger than limits.bodyBytes'),
    },
  },
  {
    method: 'post',
    path: INLINE_HOOK_PATH,
    summary: 'Okta inline hooks: registration (can deny), token (refuses tokens for held users), telephony (observes phone enrollment; cannot block)',
    tags: ['okta'],
    requestBody: 'OktaRegistrationHookRequest',
    responses: {
      200: { description: 'Okta inline hook response (commands / error object)' },
      204: { description: 'Token hook: nothing to change' },
      400: problem('Not an inline hook request'),
      401: problem('Inline hook authentication failed'),
      404: problem('Unknown tenant, hook, or no inlineHooks section'),
    },
  },
];

/**
 * The Okta connector: event hooks and inline hooks, the System Log poller,
 * the normalizer, the enforcer, the directory, the broker and identity
 * proofer, and `warden okta …` set-up commands. Everything Okta-specific
 * lives in this folder.
 */
export function oktaConnector(): Connector {
  const tenants = createOktaTenants();
  const directory = createOktaDirectory(tenants);
  return {
    name: 'okta',
    description: 'Okta: event hooks, inline hooks, System Log poller, enforcement through the Management API',
    tenantConfig: OktaTenantConfig,
    schemas: {
      OktaEventHookDelivery: EventHookDelivery,
      OktaRegistrationHookRequest: RegistrationHookRequest,
      OktaTokenHookRequest: TokenHookRequest,
      OktaTelephonyHookRequest: TelephonyHookRequest,
    },
    routes: ROUTES,
    mount(router: Router, ctx: ConnectorContext) {
      // Read every tenant's hook secrets now: a missing one stops the start, not the first delivery.
      for (const id of tenants.ids(ctx.config)) tenants.get(ctx.config, id);
      mountInlineHooks(router, ctx, tenants, directory);
    },
    // The event hook is the ingest path: served on plain node:http ahead of express (docs/performance.md §4).
    rawRoutes: eventHookReceivers(tenants),
    inbox: oktaInboxHandler(tenants, directory),
    enforcer: createOktaEnforcer(tenants, directory),
    directory,
    broker: createOktaBroker(tenants),
    proofer: createOktaProofer(tenants),
    records: {
      recognizes: isLogEventLike,
      normalize(record, tenant, observedAt, snapshot) {
        const result = normalizeLogEvent(record, { tenant, via: 'poll', observedAt });
        if ('ignored' in result) return result;
        // With a directory snapshot, enriched as the inbox handler enriches from Okta (replay --directory).
        const users = snapshot?.directory('okta');
        return { changes: [users ? enrichFromSnapshot(result.change, users) : result.change] };
      },
    },
    async start(ctx) {
      return startPollers(tenants, ctx);
    },
    operations: oktaOperations(tenants),
    commands: (program, cli) => registerOktaCommands(program, cli, tenants),
  };
}

/** The Okta connector, as connectors/index.ts lists it. */
export const okta: Connector = oktaConnector();
