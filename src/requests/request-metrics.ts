import { Counter, Gauge, type Registry } from 'prom-client';
import type { Store } from '../store/store.js';
import type { WorkflowMetrics } from './request-context.js';

/**
 * The workflow's Prometheus metrics: request transitions by state,
 * break-glass declarations, and open reviews past their due time (read from
 * the store at each scrape, so every replica reports the same number).
 */
export function workflowMetrics(registry: Registry, store: Store, clock: () => Date, tenants: () => readonly string[]): WorkflowMetrics {
  const transitions = new Counter({
    name: 'warden_request_transitions_total',
    help: 'Change-request state changes, by tenant and new state',
    labelNames: ['tenant', 'state'] as const,
    registers: [registry],
  });
  const breakGlass = new Counter({
    name: 'warden_break_glass_total',
    help: 'Break-glass declarations, by tenant',
    labelNames: ['tenant'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'warden_reviews_overdue',
    help: 'Break-glass reviews open past their due time, by tenant',
    labelNames: ['tenant'] as const,
    registers: [registry],
    async collect() {
      const overdue = await store.listReviews(undefined, { state: 'open', dueBefore: clock() }, 100_000);
      for (const tenant of tenants()) this.set({ tenant }, overdue.filter((r) => r.tenant === tenant).length);
    },
  });
  return {
    transition: (tenant, to) => transitions.inc({ tenant, state: to }),
    breakGlass: (tenant) => breakGlass.inc({ tenant }),
  };
}
