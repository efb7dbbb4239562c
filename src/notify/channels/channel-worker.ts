import { Counter, type Registry } from 'prom-client';
import { systemClock } from '../../core/clock.js';
import { BatchWorker } from '../../runtime/background-loop.js';
import type { Logger } from '../../runtime/logger.js';
import type { DeliveryRow, Store } from '../../store/store.js';
import { webhookBackoffMs } from '../webhook-worker.js';
import { failureOf } from './channel-sender.js';
import { CHANNEL_PREFIX, type ChannelRoutes } from './channel-routes.js';
import { renderMessage } from './message.js';

/** What the channel worker needs; batch, lease and idle time have defaults. */
export interface ChannelWorkerOptions {
  store: Store;
  routes: ChannelRoutes;
  log: Logger;
  registry?: Registry;
  clock?: () => Date;
  batch?: number;
  leaseSeconds?: number;
  idleMs?: number;
  random?: () => number;
  /** Told when a message failed for good (the server publishes `delivery.stopped`). */
  onGaveUp?: (delivery: DeliveryRow, error: string) => Promise<void>;
}

/**
 * Sends the chat and e-mail messages queued with the events (`channel:<name>`
 * deliveries in the outbound event queue): renders the event for the channel,
 * sends it, and retries failures with the webhooks' backoff (5 s doubling, at
 * most 1 h, honouring the vendor's `Retry-After`) up to
 * `notifications.maxAttempts`. A permanent failure (bad token, wrong webhook
 * URL) fails at once with the setting to fix. Failed messages stay in the
 * queue: `warden notify list --failed`, `warden_notification_messages_total`.
 */
export class ChannelWorker extends BatchWorker {
  readonly #counter: Counter<'tenant' | 'channel' | 'result'>;
  readonly #clock: () => Date;

  constructor(private readonly options: ChannelWorkerOptions) {
    super(options.idleMs ?? 1000, (err) => options.log.error({ err }, 'notification worker failed'));
    this.#clock = options.clock ?? systemClock;
    this.#counter = new Counter({
      name: 'warden_notification_messages_total',
      help: 'Chat and e-mail notification attempts, by tenant, channel and result (delivered, retried, failed)',
      labelNames: ['tenant', 'channel', 'result'] as const,
      registers: options.registry ? [options.registry] : [],
    });
  }

  /** Claims and attempts one batch; returns how many messages it took. */
  async runOnce(): Promise<number> {
    const deliveries = await this.options.store.claimDeliveries(this.options.batch ?? 20, this.#clock(), this.options.leaseSeconds ?? 60, 'channel');
    await Promise.all(deliveries.map((d) => this.#deliver(d)));
    return deliveries.length;
  }

  async #deliver(d: DeliveryRow): Promise<void> {
    const { store, log, routes } = this.options;
    const channel = d.endpoint.slice(CHANNEL_PREFIX.length);
    const count = (result: string) => this.#counter.inc({ tenant: d.tenant, channel, result });
    const settings = routes.settings(d.tenant);
    const matching = routes.routesFor(d.tenant, channel, d.event.type);
    let error: string;
    let permanent = false;
    let wait: number | undefined;
    try {
      const sender = routes.sender(d.tenant, channel);
      if (!settings || !sender || matching.length === 0) {
        error = `channel ${channel} no longer routes ${d.event.type} (tenants[${d.tenant}].notifications)`;
        permanent = true;
      } else {
        const message = renderMessage(d.event.body, d.tenant, settings.publicUrl, [...new Set(matching.map((r) => r.role))].join(', '), {
          console: routes.offersConsole(d.tenant),
        });
        await sender.send(message, [...new Set(matching.flatMap((r) => r.to ?? []))]);
        await store.completeDelivery(d.id, this.#clock(), 200);
        count('delivered');
        return;
      }
    } catch (err) {
      const failure = failureOf(err);
      error = (err as Error).message;
      permanent = failure.permanent || (err as { code?: string }).code === 'ERR_CONFIG_INVALID';
      wait = failure.retryAfterMs;
    }
    const maxAttempts = settings?.maxAttempts ?? 1;
    if (permanent || d.attempts >= maxAttempts) {
      await store.failDelivery(d.id, this.#clock(), error, null, null);
      count('failed');
      log.error({ tenant: d.tenant, channel, eventId: d.eventId, type: d.event.type, attempts: d.attempts, error }, 'notification failed for good');
      await this.options.onGaveUp?.(d, error).catch((err: unknown) => log.error({ err }, 'could not report the failed notification'));
      return;
    }
    const delay = Math.max(webhookBackoffMs(d.attempts, this.options.random), wait ?? 0);
    await store.failDelivery(d.id, this.#clock(), error, null, new Date(this.#clock().getTime() + delay));
    count('retried');
    log.warn({ tenant: d.tenant, channel, eventId: d.eventId, attempts: d.attempts, error, retryInMs: delay }, 'notification will be retried');
  }
}
