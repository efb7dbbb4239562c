import { Counter, Gauge, type Registry } from 'prom-client';

/** The Entra connector's Prometheus metrics. */
export interface EntraMetrics {
  readonly notifications: Counter<'tenant' | 'kind' | 'result'>;
  readonly auditRecords: Counter<'tenant' | 'source' | 'result'>;
  readonly polls: Counter<'tenant' | 'source' | 'result'>;
  readonly subscriptionHealthy: Gauge<'tenant'>;
  readonly subscriptionExpiry: Gauge<'tenant'>;
  readonly subscriptionEvents: Counter<'tenant' | 'event'>;
}

/** Registers the Entra connector's metrics in `registry` (once per registry: use {@link entraMetricsOf}). */
export function createEntraMetrics(registry: Registry): EntraMetrics {
  const registers = [registry];
  return {
    notifications: new Counter({
      name: 'warden_entra_notifications_total',
      help: 'Graph change and lifecycle notifications received, by result (accepted, client_state_mismatch, tenant_mismatch)',
      labelNames: ['tenant', 'kind', 'result'] as const,
      registers,
    }),
    auditRecords: new Counter({
      name: 'warden_entra_records_total',
      help: 'Audit records read by the pollers, by source (directory_audits, management_activity) and result (new, duplicate, skipped)',
      labelNames: ['tenant', 'source', 'result'] as const,
      registers,
    }),
    polls: new Counter({
      name: 'warden_entra_polls_total',
      help: 'Polls by source and result (ok, throttled, failed)',
      labelNames: ['tenant', 'source', 'result'] as const,
      registers,
    }),
    subscriptionHealthy: new Gauge({
      name: 'warden_entra_subscription_healthy',
      help: '1 while the /users subscription exists and delivers; 0 when it is missing or silent',
      labelNames: ['tenant'] as const,
      registers,
    }),
    subscriptionExpiry: new Gauge({
      name: 'warden_entra_subscription_expiry_timestamp_seconds',
      help: 'When the /users subscription expires (Unix seconds)',
      labelNames: ['tenant'] as const,
      registers,
    }),
    subscriptionEvents: new Counter({
      name: 'warden_entra_subscription_events_total',
      help: 'Subscription manager events (created, renewed, reauthorized, recreated, silent, failed)',
      labelNames: ['tenant', 'event'] as const,
      registers,
    }),
  };
}

const byRegistry = new WeakMap<Registry, EntraMetrics>();

/** The Entra metrics of a registry, created on first use. */
export function entraMetricsOf(registry: Registry): EntraMetrics {
  let m = byRegistry.get(registry);
  if (!m) byRegistry.set(registry, (m = createEntraMetrics(registry)));
  return m;
}
