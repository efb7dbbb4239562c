import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus metrics of one server; a registry of its own so tests can run several servers. */
export class Metrics {
  readonly #policies = new Map<string, { version: string; mode: string }>();
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: 'warden_http_request_duration_seconds',
    help: 'HTTP request latency by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly decisions = new Counter({
    name: 'warden_decisions_total',
    help: 'Decisions recorded, by tenant, outcome and mode',
    labelNames: ['tenant', 'outcome', 'mode'] as const,
    registers: [this.registry],
  });
  readonly policyReloads = new Counter({
    name: 'warden_policy_reloads_total',
    help: 'Policy reloads by tenant and result (loaded, unchanged, rejected)',
    labelNames: ['tenant', 'result'] as const,
    registers: [this.registry],
  });
  readonly policyInfo = new Gauge({
    name: 'warden_policy_info',
    help: 'The policy version in force for each tenant (value 1)',
    labelNames: ['tenant', 'version', 'mode'] as const,
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'warden_' });
  }

  /** Marks `version` as the tenant's policy in force. */
  setPolicy(tenant: string, version: string, mode: string): void {
    this.policyInfo.reset();
    this.#policies.set(tenant, { version, mode });
    for (const [t, p] of this.#policies) this.policyInfo.set({ tenant: t, version: p.version, mode: p.mode }, 1);
  }
}
