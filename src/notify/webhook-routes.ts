import type { ResolvedTenant } from '../config/load-config.js';
import { WardenError } from '../core/errors.js';
import { parseDuration } from '../core/policy/duration.js';
import { subscribes, type EventRoutes } from './publish-event.js';

/** An endpoint ready to deliver to: where, how to sign, how long to wait, how often to try. */
export interface ResolvedEndpoint {
  tenant: string;
  name: string;
  url: string;
  /** Reveals the `whsec_` secret, only where a delivery is signed. */
  secret: () => string;
  timeoutMs: number;
  maxAttempts: number;
  events: readonly string[];
}

/** The configured webhook endpoints of every tenant: routes for `publishEvent`, endpoints for the worker. */
export class WebhookRoutes implements EventRoutes {
  readonly #byTenant = new Map<string, ResolvedEndpoint[]>();

  constructor(tenants: readonly ResolvedTenant[]) {
    for (const t of tenants) {
      const endpoints: ResolvedEndpoint[] = [];
      for (const w of t.webhooks ?? []) {
        const url = new URL(w.url);
        if (url.protocol !== 'https:' && !(url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)))
          throw new WardenError('ERR_CONFIG_INVALID', `tenant ${t.id} webhook ${w.name}: ${w.url} must be https (http only to localhost)`);
        const secret = t.secrets[w.secret];
        endpoints.push({
          tenant: t.id,
          name: w.name,
          url: w.url,
          // Secrets are resolved when the server starts; a config loaded without them cannot deliver.
          secret: () => {
            if (!secret) throw new WardenError('ERR_CONFIG_INVALID', `tenant ${t.id} webhook ${w.name}: secret ${w.secret} is not resolved`);
            return secret.reveal();
          },
          timeoutMs: parseDuration(w.timeout) * 1000,
          maxAttempts: w.maxAttempts,
          events: w.events,
        });
      }
      this.#byTenant.set(t.id, endpoints);
    }
  }

  endpointsFor(tenant: string, type: string): string[] {
    return (this.#byTenant.get(tenant) ?? []).filter((e) => e.events.some((p) => subscribes(p, type))).map((e) => e.name);
  }

  endpoint(tenant: string, name: string): ResolvedEndpoint | undefined {
    return this.#byTenant.get(tenant)?.find((e) => e.name === name);
  }
}
