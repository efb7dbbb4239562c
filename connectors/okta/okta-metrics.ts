import { Counter, type Registry } from 'prom-client';

/** The Okta connector's Prometheus metrics, one set per server registry. */
export interface OktaMetrics {
  hookDeliveries: Counter<'tenant' | 'result'>;
  hookEvents: Counter<'tenant' | 'stored'>;
  inlineHooks: Counter<'tenant' | 'hook' | 'outcome'>;
  polledEvents: Counter<'tenant' | 'stored'>;
  ownChanges: Counter<'tenant'>;
}

const byRegistry = new WeakMap<Registry, OktaMetrics>();

/** The metrics registered on `registry` (created on first use). */
export function oktaMetrics(registry: Registry): OktaMetrics {
  let m = byRegistry.get(registry);
  if (m) return m;
  const registers = [registry];
  m = {
    hookDeliveries: new Counter({
      name: 'warden_okta_hook_deliveries_total',
      help: 'Okta event hook calls by tenant and result (stored, verified, unauthorized, malformed, too_large)',
      labelNames: ['tenant', 'result'] as const,
      registers,
    }),
    hookEvents: new Counter({
      name: 'warden_okta_hook_events_total',
      help: 'LogEvents received by event hook; stored=false for duplicates',
      labelNames: ['tenant', 'stored'] as const,
      registers,
    }),
    inlineHooks: new Counter({
      name: 'warden_okta_inline_hooks_total',
      help: 'Inline hook calls by hook and outcome (allow, deny, deadline, observed)',
      labelNames: ['tenant', 'hook', 'outcome'] as const,
      registers,
    }),
    polledEvents: new Counter({
      name: 'warden_okta_polled_events_total',
      help: 'LogEvents read by the System Log poller; stored=false when already in the inbox',
      labelNames: ['tenant', 'stored'] as const,
      registers,
    }),
    ownChanges: new Counter({
      name: 'warden_okta_own_changes_total',
      help: "Okta events recognised as Warden's own enforcement coming back (not judged again)",
      labelNames: ['tenant'] as const,
      registers,
    }),
  };
  byRegistry.set(registry, m);
  return m;
}
