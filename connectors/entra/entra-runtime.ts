import type { ConnectorContext, Logger, WardenConfig } from '../../src/connector/index.js';
import { POLL_REQUEST_CURSOR, type AuditPoller } from './audit-poller.js';
import { entraMetricsOf } from './entra-metrics.js';
import { entraSectionOf, openEntraTenant, type EntraTenant } from './entra-tenant.js';
import { createSubscriptionManager, type ManagerDeps, type SubscriptionManager } from './subscription-manager.js';

/**
 * What one Entra connector instance keeps while a server or a CLI command runs:
 * each tenant's Entra side (built once per configuration), and the pollers
 * this process runs, so a change notification can wake the right one.
 */
export interface EntraRuntime {
  /** This process's audit pollers, by tenant. */
  readonly pollers: Map<string, AuditPoller>;
  /** Warden tenants with an `entra` section. */
  tenantIds(config: WardenConfig): string[];
  /** A tenant's Entra side, or undefined when it has no `entra` section. @throws WardenError `ERR_CONFIG_INVALID` for a missing secret */
  tenant(config: WardenConfig, id: string, clock?: () => Date): EntraTenant | undefined;
  /** What the server's subscription work acts with: its store, clock, lease holder, actor, log and metrics. */
  managerDeps(ctx: ConnectorContext): ManagerDeps & { log: Logger };
  /** The subscription manager of a tenant, acting for the server. */
  manager(ctx: ConnectorContext, tenant: EntraTenant): SubscriptionManager;
  /**
   * Asks for an early audit poll: wakes this process's poller of the tenant
   * and records the request for the replica that holds the poller lease.
   */
  requestPoll(ctx: ConnectorContext, tenant: string, reason: string): Promise<void>;
}

function managerDeps(ctx: ConnectorContext): ManagerDeps & { log: Logger } {
  return {
    store: ctx.store,
    clock: ctx.clock,
    holder: ctx.instanceId,
    actor: { type: 'system', id: 'warden:entra' },
    log: ctx.log,
    metrics: entraMetricsOf(ctx.metrics.registry),
    deliveryStopped: ctx.deliveryStopped,
  };
}

/** @param env where secret references are resolved (default `process.env`) */
export function createEntraRuntime(env?: NodeJS.ProcessEnv): EntraRuntime {
  const tenants = new WeakMap<WardenConfig, Map<string, EntraTenant>>();
  const pollers = new Map<string, AuditPoller>();
  return {
    pollers,
    tenantIds(config) {
      return config.tenants.filter((t) => t.connectors.entra !== undefined).map((t) => t.id);
    },
    tenant(config, id, clock) {
      let byId = tenants.get(config);
      if (!byId) tenants.set(config, (byId = new Map()));
      const known = byId.get(id);
      if (known) return known;
      if (!entraSectionOf(config, id)) return undefined;
      const tenant = openEntraTenant(config, id, { ...(env ? { env } : {}), ...(clock ? { clock } : {}) });
      byId.set(id, tenant);
      return tenant;
    },
    managerDeps,
    manager(ctx, tenant) {
      return createSubscriptionManager(managerDeps(ctx), tenant);
    },
    async requestPoll(ctx, tenant, reason) {
      const now = ctx.clock();
      await ctx.store.setCursor(tenant, POLL_REQUEST_CURSOR, { at: now.toISOString(), reason }, now);
      pollers.get(tenant)?.wake();
    },
  };
}
