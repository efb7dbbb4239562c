import { Counter, Gauge, type Registry } from 'prom-client';

/** The Entra connector's Prometheus metrics, registered once per server registry. */
export class EntraMetrics {
  readonly notifications: Counter<'tenant' | 'kind' | 'result'>;
  readonly auditRecords: Counter<'tenant' | 'source' | 'result'>;
  readonly polls: Counter<'tenant' | 'source' | 'result'>;
  readonly subscriptionHealthy: Gauge<'tenant'>;
  readonly subscriptionExpiry: Gauge<'tenant'>;
  readonly subscriptionEvents: Counter<'tenant' | 'event'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.notifications = new Counter({
      name: 'warden_entra_notifications_total',
      help: 'Graph change and lifecycle notifications received, by result (accepted, client_state_mismatch, tenant_mismatch)',
      labelNames: ['tenant', 'kind', 'result'] as const,
      registers,
    });
    this.auditRecords = new Counter({
      name: 'warden_entra_records_total',
      help: 'Audit records read by the pollers, by source (directory_audits, management_activity) and result (new, duplicate, skipped)',
      labelNames: ['tenant', 'source', 'result'] as const,
      registers,
    });
    this.polls = new Counter({
      name: 'warden_entra_polls_total',
      help: 'Polls by source and result (ok, throttled, failed)',
      labelNames: ['tenant', 'source', 'result'] as const,
      registers,
    });
    this.subscriptionHealthy = new Gauge({
      name: 'warden_entra_subscription_healthy',
      help: '1 while the /users subscription exists and delivers; 0 when it is missing or silent',
      labelNames: ['tenant'] as const,
      registers,
    });
    this.subscriptionExpiry = new Gauge({
      name: 'warden_entra_subscription_expiry_timestamp_seconds',
      help: 'When the /users subscription expires (Unix seconds)',
      labelNames: ['tenant'] as const,
      registers,
    });
    this.subscriptionEvents = new Counter({
      name: 'warden_entra_subscription_events_total',
      help: 'Subscription manager events (created, renewed, reauthorized, recreated, silent, failed)',
      labelNames: ['tenant', 'event'] as const,
      registers,
    });
  }

  static readonly #byRegistry = new WeakMap<Registry, EntraMetrics>();

  /** The metrics of a registry, created on first use. */
  static of(registry: Registry): EntraMetrics {
    let m = EntraMetrics.#byRegistry.get(registry);
    if (!m) EntraMetrics.#byRegistry.set(registry, (m = new EntraMetrics(registry)));
    return m;
  }
}
