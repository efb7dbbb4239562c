import type { ConnectorContext, WardenConfig } from '../../src/connector/index.js';
import { POLL_REQUEST_CURSOR, type AuditPoller } from './audit-poller.js';
import { EntraMetrics } from './entra-metrics.js';
import { entraSectionOf, openEntraTenant, type EntraTenant } from './entra-tenant.js';
import { SubscriptionManager } from './subscription-manager.js';

/**
 * What one Entra connector instance keeps while a server or a CLI command runs:
 * each tenant's Entra side (built once per configuration), and the pollers
 * this process runs, so a change notification can wake the right one.
 */
export class EntraRuntime {
  readonly #tenants = new WeakMap<WardenConfig, Map<string, EntraTenant>>();
  readonly pollers = new Map<string, AuditPoller>();

  constructor(private readonly env?: NodeJS.ProcessEnv) {}

  /** Warden tenants with an `entra` section. */
  tenantIds(config: WardenConfig): string[] {
    return config.tenants.filter((t) => t.connectors.entra !== undefined).map((t) => t.id);
  }

  /** A tenant's Entra side, or undefined when it has no `entra` section. @throws WardenError `ERR_CONFIG_INVALID` for a missing secret */
  tenant(config: WardenConfig, id: string, clock?: () => Date): EntraTenant | undefined {
    let byId = this.#tenants.get(config);
    if (!byId) this.#tenants.set(config, (byId = new Map()));
    const known = byId.get(id);
    if (known) return known;
    if (!entraSectionOf(config, id)) return undefined;
    const tenant = openEntraTenant(config, id, { ...(this.env ? { env: this.env } : {}), ...(clock ? { clock } : {}) });
    byId.set(id, tenant);
    return tenant;
  }

  /** The subscription manager of a tenant, acting for the server. */
  manager(ctx: ConnectorContext, tenant: EntraTenant): SubscriptionManager {
    return new SubscriptionManager(
      {
        store: ctx.store,
        clock: ctx.clock,
        holder: ctx.instanceId,
        actor: { type: 'system', id: 'warden:entra' },
        log: ctx.log,
        metrics: EntraMetrics.of(ctx.metrics.registry),
      },
      tenant,
    );
  }

  /**
   * Asks for an early audit poll: wakes this process's poller of the tenant
   * and records the request for the replica that holds the poller lease.
   */
  async requestPoll(ctx: ConnectorContext, tenant: string, reason: string): Promise<void> {
    const now = ctx.clock();
    await ctx.store.setCursor(tenant, POLL_REQUEST_CURSOR, { at: now.toISOString(), reason }, now);
    this.pollers.get(tenant)?.wake();
  }
}
