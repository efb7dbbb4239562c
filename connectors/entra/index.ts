import type { Connector } from '../../src/connector/index.js';
import { createAuditPoller, type AuditPoller } from './audit-poller.js';
import { registerEntraCommands } from './commands.js';
import { EntraTenantConfig } from './entra-config.js';
import { entraMetricsOf } from './entra-metrics.js';
import { createEntraRuntime, type EntraRuntime } from './entra-runtime.js';
import { entraEnforcer } from './enforcer.js';
import { entraInboxHandler } from './inbox-handler.js';
import { createManagementActivityPoller, type ManagementActivityPoller } from './management-activity-poller.js';
import { GraphNotificationCollection, NOTIFICATION_ROUTES, notificationReceivers } from './notification-receiver.js';
import { entraOperations } from './operations.js';
import { entraRecordNormalizer } from './record-normalizer.js';
import { createSubscriptionLoop, type SubscriptionLoop } from './subscription-manager.js';
import { entraTapBroker } from './tap-broker.js';

/**
 * The Microsoft Entra ID connector (docs/entra.md): Graph change
 * notifications and the directoryAudits poller in, normalized identity
 * changes out, enforcement and the TAP broker through Microsoft Graph, the
 * Office 365 Management Activity API for Exchange mailbox rules.
 */

export interface EntraConnectorOptions {
  /** Where secret references are resolved (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Start the pollers and the subscription manager with the server (default true; tests drive them by hand). */
  autoStart?: boolean;
}

/** An Entra connector with its runtime exposed (tests drive pollers and the subscription manager through it). */
export interface EntraConnector extends Connector {
  runtime: EntraRuntime;
  /** Per tenant, the background work `start` created (present also when not auto-started). */
  tasks: Map<string, { audit?: AuditPoller; activity?: ManagementActivityPoller; subscriptions?: SubscriptionLoop }>;
}

export function createEntraConnector(options: EntraConnectorOptions = {}): EntraConnector {
  const runtime = createEntraRuntime(options.env);
  const tasks: EntraConnector['tasks'] = new Map();
  return {
    name: 'entra',
    description: 'Microsoft Entra ID: Graph change notifications, directoryAudits poller, enforcement and TAP broker through Microsoft Graph',
    tenantConfig: EntraTenantConfig,
    schemas: { EntraGraphNotifications: GraphNotificationCollection },
    routes: NOTIFICATION_ROUTES,
    runtime,
    tasks,
    rawRoutes: notificationReceivers(runtime),
    inbox: entraInboxHandler(runtime),
    enforcer: entraEnforcer(runtime),
    directory: {
      async getUser(tenant, idOrLogin, ctx) {
        return runtime.tenant(ctx.config, tenant, ctx.clock)?.directory.principal(idOrLogin);
      },
    },
    broker: entraTapBroker(runtime),
    records: entraRecordNormalizer,
    async start(ctx) {
      entraMetricsOf(ctx.metrics.registry);
      for (const id of runtime.tenantIds(ctx.config)) {
        // Opening every tenant now makes a missing secret stop the start, not the first notification.
        const tenant = runtime.tenant(ctx.config, id, ctx.clock)!;
        const work: { audit?: AuditPoller; activity?: ManagementActivityPoller; subscriptions?: SubscriptionLoop } = {};
        if (tenant.config.poller.enabled) {
          work.audit = createAuditPoller(ctx, tenant);
          runtime.pollers.set(id, work.audit);
        }
        if (tenant.config.managementActivity.enabled) work.activity = createManagementActivityPoller(ctx, tenant);
        if (tenant.config.subscription.enabled) work.subscriptions = createSubscriptionLoop(runtime.managerDeps(ctx), runtime.manager(ctx, tenant), tenant);
        tasks.set(id, work);
        if (options.autoStart !== false) {
          work.audit?.start();
          work.activity?.start();
          work.subscriptions?.start();
        }
        ctx.log.info(
          {
            tenant: id,
            entraTenant: tenant.config.tenantId,
            cloud: tenant.config.cloud,
            poller: !!work.audit,
            subscription: !!work.subscriptions,
            managementActivity: !!work.activity,
          },
          'entra connector ready',
        );
      }
      return {
        async stop() {
          for (const [id, work] of tasks) {
            await Promise.all([work.audit?.stop(), work.activity?.stop(), work.subscriptions?.stop()]);
            runtime.pollers.delete(id);
          }
          tasks.clear();
        },
      };
    },
    operations: entraOperations(runtime),
    commands: registerEntraCommands,
  };
}

/** The connector as the executable ships it. */
export const entra: EntraConnector = createEntraConnector();
