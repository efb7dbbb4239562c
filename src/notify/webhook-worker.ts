import { systemClock } from '../core/clock.js';
import { Counter, type Registry } from 'prom-client';
import { BatchWorker } from '../runtime/background-loop.js';
import type { Logger } from '../runtime/logger.js';
import type { DeliveryRow, Store } from '../store/store.js';
import { webhookHeaders } from './standard-webhooks.js';
import type { WebhookRoutes } from './webhook-routes.js';

/** What the webhook worker needs; batch, lease and idle time have defaults. */
export interface WebhookWorkerOptions {
  store: Store;
  routes: WebhookRoutes;
  log: Logger;
  registry?: Registry;
  clock?: () => Date;
  batch?: number;
  leaseSeconds?: number;
  idleMs?: number;
  random?: () => number;
  /** The HTTP client (tests may pass their own). */
  fetch?: typeof fetch;
  /** Told when a delivery failed for good (the server publishes `delivery.stopped`). */
  onGaveUp?: (delivery: DeliveryRow, error: string) => Promise<void>;
}

/** Delay before retry `attempt` (1-based): 5 s doubling to at most 1 h, ±20 % jitter. */
export function webhookBackoffMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(3_600_000, 5000 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** `Retry-After` in seconds or as an HTTP date, in ms from now; undefined when absent or unreadable. */
function retryAfterMs(value: string | null, now: Date): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}

/**
 * Delivers queued events to their endpoints, signed (Standard Webhooks), and
 * retries failures with backoff (honouring `Retry-After`) up to the
 * endpoint's `maxAttempts`; `410 Gone` stops at once. Replicas share the
 * queue (`FOR UPDATE SKIP LOCKED`); a delivery whose worker died is taken
 * again after its lease, so receivers de-duplicate on `webhook-id`.
 */
export class WebhookWorker extends BatchWorker {
  readonly #counter: Counter<'endpoint' | 'result'>;
  readonly #clock: () => Date;
  readonly #fetch: typeof fetch;

  constructor(private readonly options: WebhookWorkerOptions) {
    super(options.idleMs ?? 1000, (err) => options.log.error({ err }, 'webhook worker failed'));
    this.#clock = options.clock ?? systemClock;
    this.#fetch = options.fetch ?? fetch;
    this.#counter = new Counter({
      name: 'warden_webhook_deliveries_total',
      help: 'Outbound webhook delivery attempts, by endpoint and result (delivered, retried, failed)',
      labelNames: ['endpoint', 'result'] as const,
      registers: options.registry ? [options.registry] : [],
    });
  }

  /** Claims and attempts one batch; returns how many deliveries it took. */
  async runOnce(): Promise<number> {
    const deliveries = await this.options.store.claimDeliveries(this.options.batch ?? 20, this.#clock(), this.options.leaseSeconds ?? 60);
    await Promise.all(deliveries.map((d) => this.#deliver(d)));
    return deliveries.length;
  }

  async #deliver(d: DeliveryRow): Promise<void> {
    const { store, log } = this.options;
    const endpoint = this.options.routes.endpoint(d.tenant, d.endpoint);
    const count = (result: string) => this.#counter.inc({ endpoint: `${d.tenant}/${d.endpoint}`, result });
    if (!endpoint) {
      await store.failDelivery(d.id, this.#clock(), `endpoint ${d.endpoint} is no longer configured`, null, null);
      count('failed');
      await this.options
        .onGaveUp?.(d, `endpoint ${d.endpoint} is no longer configured`)
        .catch((err: unknown) => log.error({ err }, 'could not report the failed delivery'));
      return;
    }
    let status: number | null = null;
    let error: string;
    let wait: number | undefined;
    try {
      const timestamp = Math.floor(this.#clock().getTime() / 1000);
      const response = await this.#fetch(endpoint.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Warden-Webhooks/1',
          ...webhookHeaders(endpoint.secret(), d.eventId, timestamp, d.event.body),
        },
        body: d.event.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(endpoint.timeoutMs),
      });
      await response.body?.cancel().catch(() => undefined);
      status = response.status;
      if (status >= 200 && status < 300) {
        await store.completeDelivery(d.id, this.#clock(), status);
        count('delivered');
        return;
      }
      // A 4xx other than 408/429 means the URL (or the receiver's setup) is wrong: say which setting to check.
      error = status >= 400 && status < 500 && status !== 408 && status !== 429 ? `HTTP ${status}: check ${setting(d)}` : `HTTP ${status}`;
      wait = retryAfterMs(response.headers.get('retry-after'), this.#clock());
    } catch (err) {
      error =
        (err as Error).name === 'TimeoutError'
          ? `no answer within ${endpoint.timeoutMs} ms`
          : `could not reach ${setting(d)}: ${(err as Error).message}${causeOf(err)}`;
    }
    if (status === 410 || d.attempts >= endpoint.maxAttempts) {
      await store.failDelivery(d.id, this.#clock(), error, status, null);
      count('failed');
      log.error(
        { tenant: d.tenant, endpoint: d.endpoint, eventId: d.eventId, type: d.event.type, attempts: d.attempts, error },
        'webhook delivery failed for good',
      );
      await this.options.onGaveUp?.(d, error).catch((err: unknown) => log.error({ err }, 'could not report the failed delivery'));
      return;
    }
    const delay = Math.max(webhookBackoffMs(d.attempts, this.options.random), wait ?? 0);
    await store.failDelivery(d.id, this.#clock(), error, status, new Date(this.#clock().getTime() + delay));
    count('retried');
    log.warn({ tenant: d.tenant, endpoint: d.endpoint, eventId: d.eventId, attempts: d.attempts, error, retryInMs: delay }, 'webhook delivery will be retried');
  }
}

/** The setting an operator fixes when a webhook endpoint cannot be reached or refuses. */
const setting = (d: DeliveryRow) => `tenants[${d.tenant}].webhooks[${d.endpoint}].url`;

/** fetch's "fetch failed" hides the reason (ECONNREFUSED, ENOTFOUND) in its cause. */
function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
  const what = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : undefined;
  return what ? ` (${what})` : '';
}
