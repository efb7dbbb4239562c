import { appendAudit, BackgroundLoop, type AuditActor, type ConnectorContext, type Logger, type ConnectorStore } from '../../src/connector/index.js';
import { USER_CHANGE_CURSOR } from './audit-poller.js';
import type { EntraMetrics } from './entra-metrics.js';
import type { EntraTenant } from './entra-tenant.js';
import { GraphCallError } from './graph-session.js';
import { WardenError } from '../../src/core/errors.js';

/**
 * Keeps one `/users` change-notification subscription alive per tenant
 * (shared/research/entra.md §1): creates it (Graph validates both URLs
 * against Warden's receivers first), renews it before it expires (users:
 * at most 41,760 minutes, §1.6), recreates it when Graph no longer has it,
 * answers lifecycle events (`reauthorizationRequired` → reauthorize and
 * renew; `subscriptionRemoved` → recreate; `missed` → the caller polls the
 * audit log at once), and self-tests: when the audit log shows a user change
 * after the subscription was created and no notification arrived for
 * `silenceMinutes`, the subscription exists but delivers nothing; that is
 * reported (log, metric, audit record) and the subscription replaced.
 *
 * Operations on a tenant's subscription are serialized: in-process by a
 * queue, across replicas by a short store lease, so two replicas never
 * create two subscriptions. The periodic check runs on one replica (a lease).
 */

export const SUBSCRIPTION_CURSOR = 'entra.subscription';
export const NOTIFIED_CURSOR = 'entra.notified';

export interface SubscriptionState {
  id?: string;
  expiresAt?: string;
  createdAt?: string;
  renewedAt?: string;
  notificationUrl?: string;
  /** Set when the self-test found this subscription silent. */
  silentSince?: string;
  lastCheckAt?: string;
  lastError?: string;
}

export interface GraphSubscription {
  id: string;
  resource: string;
  changeType: string;
  notificationUrl: string;
  lifecycleNotificationUrl?: string | null;
  expirationDateTime: string;
  applicationId?: string;
}

export interface ManagerDeps {
  store: ConnectorStore;
  clock: () => Date;
  /** Lease holder: the server's instance id, or the CLI process. */
  holder: string;
  actor: AuditActor;
  log?: Logger;
  metrics?: EntraMetrics;
  /** Publishes `delivery.stopped` (the server's `ConnectorContext.deliveryStopped`); absent in the CLI. */
  deliveryStopped?: ConnectorContext['deliveryStopped'];
}

/** Another replica is changing this tenant's subscription right now (`ERR_BUSY`): try again shortly. */
export class SubscriptionBusyError extends WardenError {
  constructor(tenant: string) {
    super('ERR_BUSY', `another Warden replica is changing the Entra subscription of tenant ${tenant}; retrying`);
    this.name = 'SubscriptionBusyError';
  }
}

export type EnsureResult = { action: 'disabled' | 'ok' | 'created' | 'renewed' | 'recreated' | 'adopted'; state: SubscriptionState; silent?: boolean };

const queues = new Map<string, Promise<unknown>>();

export class SubscriptionManager {
  constructor(
    private readonly deps: ManagerDeps,
    private readonly tenant: EntraTenant,
  ) {}

  get #opLease(): string {
    return `entra:${this.tenant.id}:subscription-op`;
  }

  /** Runs `fn` alone: one at a time in this process, and under the op lease across replicas. */
  async #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const key = this.tenant.id;
    const previous = queues.get(key) ?? Promise.resolve();
    const run = previous
      .catch(() => undefined)
      .then(async () => {
        const { store, clock, holder } = this.deps;
        if (!(await store.acquireLease(this.#opLease, holder, clock(), 120))) throw new SubscriptionBusyError(this.tenant.id);
        try {
          return await fn();
        } finally {
          await store.releaseLease(this.#opLease, holder);
        }
      });
    queues.set(key, run);
    try {
      return await run;
    } finally {
      if (queues.get(key) === run) queues.delete(key);
    }
  }

  async state(): Promise<SubscriptionState> {
    return ((await this.deps.store.getCursor(this.tenant.id, SUBSCRIPTION_CURSOR)) ?? {}) as SubscriptionState;
  }

  async #save(state: SubscriptionState): Promise<void> {
    await this.deps.store.setCursor(this.tenant.id, SUBSCRIPTION_CURSOR, state, this.deps.clock());
    if (state.expiresAt) this.deps.metrics?.subscriptionExpiry.set({ tenant: this.tenant.id }, Math.floor(Date.parse(state.expiresAt) / 1000));
  }

  async #audit(type: string, data: Record<string, unknown>): Promise<void> {
    this.deps.metrics?.subscriptionEvents.inc({ tenant: this.tenant.id, event: type.split('.').pop()! });
    await appendAudit(this.deps.store, this.tenant.id, {
      type,
      actor: this.deps.actor,
      subject: data.subscriptionId ? { subscriptionId: String(data.subscriptionId) } : {},
      data,
      at: this.deps.clock(),
    });
  }

  #expiry(now: Date): string {
    return new Date(now.getTime() + this.tenant.config.subscription.lifetimeMinutes * 60_000).toISOString();
  }

  /** Creates a subscription (Graph validates both URLs against Warden first) and deletes the one it replaces. */
  async #create(reason: string, previous: SubscriptionState): Promise<SubscriptionState> {
    const { subscription } = this.tenant.config;
    const now = this.deps.clock();
    if (!subscription.notificationUrl || !this.tenant.clientState)
      throw new WardenError('ERR_CONFIG_INVALID', 'subscription.notificationUrl and subscription.clientState are required');
    const lifecycleNotificationUrl = this.tenant.lifecycleNotificationUrl;
    const created = await this.tenant.session.call(
      'createSubscription',
      {},
      (r) =>
        r.post({
          changeType: 'updated,deleted',
          notificationUrl: subscription.notificationUrl,
          ...(lifecycleNotificationUrl ? { lifecycleNotificationUrl } : {}),
          resource: '/users',
          expirationDateTime: this.#expiry(now),
          clientState: this.tenant.clientState!.reveal(),
          latestSupportedTlsVersion: 'v1_2',
        }) as Promise<GraphSubscription>,
    );
    const state: SubscriptionState = {
      id: created.id,
      expiresAt: created.expirationDateTime,
      createdAt: now.toISOString(),
      notificationUrl: created.notificationUrl,
      lastCheckAt: now.toISOString(),
    };
    await this.#save(state);
    if (previous.id && previous.id !== created.id) await this.#delete(previous.id);
    await this.#audit(previous.id ? 'entra.subscription.recreated' : 'entra.subscription.created', {
      subscriptionId: created.id,
      expiresAt: created.expirationDateTime,
      reason,
      ...(previous.id ? { replaces: previous.id } : {}),
    });
    this.deps.log?.info({ tenant: this.tenant.id, subscriptionId: created.id, reason }, 'entra /users subscription created');
    this.deps.metrics?.subscriptionHealthy.set({ tenant: this.tenant.id }, 1);
    return state;
  }

  async #delete(id: string): Promise<void> {
    try {
      await this.tenant.session.call('deleteSubscription', { subscription: id }, (r) => r.delete() as Promise<unknown>);
    } catch (err) {
      if (!(err instanceof GraphCallError && err.status === 404))
        this.deps.log?.warn({ err, tenant: this.tenant.id, subscriptionId: id }, 'could not delete the replaced subscription; it expires on its own');
    }
  }

  async #renew(state: SubscriptionState, why: string): Promise<SubscriptionState> {
    const now = this.deps.clock();
    try {
      const renewed = await this.tenant.session.call(
        'renewSubscription',
        { subscription: state.id! },
        (r) => r.patch({ expirationDateTime: this.#expiry(now) }) as Promise<GraphSubscription>,
      );
      const next = { ...state, expiresAt: renewed.expirationDateTime, renewedAt: now.toISOString(), lastCheckAt: now.toISOString() };
      await this.#save(next);
      await this.#audit('entra.subscription.renewed', { subscriptionId: state.id, expiresAt: renewed.expirationDateTime, reason: why });
      return next;
    } catch (err) {
      if (err instanceof GraphCallError && err.status === 404) return this.#create('gone (renewal found no subscription)', state);
      throw err;
    }
  }

  /** Whether a subscription expiring at `expiresAt` is due for renewal at `now`. */
  #dueForRenewal(state: SubscriptionState, now: Date): boolean {
    return !state.expiresAt || Date.parse(state.expiresAt) - now.getTime() <= this.tenant.config.subscription.renewBeforeMinutes * 60_000;
  }

  /** The self-test: a user change in the audit log after creation, no notification since, for `silenceMinutes`. */
  async #silent(state: SubscriptionState, now: Date): Promise<{ changeAt: string } | undefined> {
    if (!state.createdAt) return undefined;
    const seen = (await this.deps.store.getCursor(this.tenant.id, USER_CHANGE_CURSOR)) as { lastAt?: string } | undefined;
    if (!seen?.lastAt || seen.lastAt < state.createdAt) return undefined;
    if (now.getTime() - Date.parse(seen.lastAt) < this.tenant.config.subscription.silenceMinutes * 60_000) return undefined;
    const notified = (await this.deps.store.getCursor(this.tenant.id, NOTIFIED_CURSOR)) as { lastAt?: string } | undefined;
    // Notifications arrive after the change they announce; allow for clock skew between Warden and Microsoft.
    if (notified?.lastAt && Date.parse(notified.lastAt) >= Date.parse(seen.lastAt) - 2 * 60_000) return undefined;
    return { changeAt: seen.lastAt };
  }

  /**
   * Checks the subscription and repairs what needs it: adopt or create one,
   * recreate a vanished or silent one, renew one close to expiry.
   */
  ensure(options: { forceRenew?: boolean; recreate?: boolean } = {}): Promise<EnsureResult> {
    return this.#exclusive(async () => {
      if (!this.tenant.config.subscription.enabled) return { action: 'disabled', state: await this.state() };
      const now = this.deps.clock();
      let state = await this.state();
      if (!state.id) {
        const mine = await this.listGraph();
        const url = this.tenant.config.subscription.notificationUrl;
        const existing = mine.find((s) => s.resource.replace(/^\//, '').toLowerCase() === 'users' && s.notificationUrl === url);
        if (existing) {
          state = {
            id: existing.id,
            expiresAt: existing.expirationDateTime,
            createdAt: now.toISOString(),
            notificationUrl: existing.notificationUrl,
            lastCheckAt: now.toISOString(),
          };
          await this.#save(state);
          await this.#audit('entra.subscription.adopted', { subscriptionId: existing.id, expiresAt: existing.expirationDateTime });
          if (this.#dueForRenewal(state, now)) state = await this.#renew(state, 'expires soon');
          return { action: 'adopted', state };
        }
        return { action: 'created', state: await this.#create('no subscription', state) };
      }
      if (options.recreate) return { action: 'recreated', state: await this.#create('asked by an operator', state) };
      if (state.notificationUrl && state.notificationUrl !== this.tenant.config.subscription.notificationUrl)
        return { action: 'recreated', state: await this.#create('the notification URL changed', state) };
      try {
        const current = await this.tenant.session.call('getSubscription', { subscription: state.id }, (r) => r.get() as Promise<GraphSubscription>);
        state = { ...state, expiresAt: current.expirationDateTime };
      } catch (err) {
        if (err instanceof GraphCallError && err.status === 404) {
          this.deps.metrics?.subscriptionHealthy.set({ tenant: this.tenant.id }, 0);
          return { action: 'recreated', state: await this.#create('gone (Graph no longer has it)', state) };
        }
        throw err;
      }
      const silence = await this.#silent(state, now);
      if (silence) {
        this.deps.metrics?.subscriptionHealthy.set({ tenant: this.tenant.id }, 0);
        this.deps.log?.error(
          { tenant: this.tenant.id, subscriptionId: state.id, userChangeAt: silence.changeAt },
          'entra subscription is silent: a user changed and no notification arrived; replacing it',
        );
        await this.#audit('entra.subscription.silent', {
          subscriptionId: state.id,
          userChangeAt: silence.changeAt,
          silenceMinutes: this.tenant.config.subscription.silenceMinutes,
        });
        return { action: 'recreated', state: await this.#create('silent (self-test)', { ...state, silentSince: now.toISOString() }), silent: true };
      }
      this.deps.metrics?.subscriptionHealthy.set({ tenant: this.tenant.id }, 1);
      if (options.forceRenew || this.#dueForRenewal(state, now))
        return { action: 'renewed', state: await this.#renew(state, options.forceRenew ? 'asked by an operator' : 'expires soon') };
      state = { ...state, lastCheckAt: now.toISOString() };
      await this.#save(state);
      return { action: 'ok', state };
    });
  }

  /** Handles a lifecycle notification (entra.md §1.5). `missed` only records it: the caller polls the audit log. */
  onLifecycle(event: string, subscriptionId: string): Promise<string> {
    return this.#exclusive(async () => {
      const state = await this.state();
      const stale = state.id !== undefined && state.id !== subscriptionId;
      switch (event) {
        case 'reauthorizationRequired': {
          if (stale) return `reauthorizationRequired for ${subscriptionId}, which Warden no longer uses: nothing to do`;
          try {
            await this.tenant.session.call('reauthorizeSubscription', { subscription: subscriptionId }, (r) => r.post({}) as Promise<unknown>);
          } catch (err) {
            if (err instanceof GraphCallError && err.status === 404) {
              await this.#create('gone (reauthorization found no subscription)', state);
              return 'reauthorizationRequired: the subscription was gone; created a new one';
            }
            throw err;
          }
          await this.#audit('entra.subscription.reauthorized', { subscriptionId });
          const renewed = await this.#renew({ ...state, id: subscriptionId }, 'reauthorizationRequired');
          return `reauthorizationRequired: reauthorized and renewed until ${renewed.expiresAt}`;
        }
        case 'subscriptionRemoved': {
          if (stale) return `subscriptionRemoved for ${subscriptionId}, which Warden no longer uses: nothing to do`;
          const created = await this.#create('subscriptionRemoved (lifecycle notification)', { ...state, id: state.id ?? subscriptionId });
          return `subscriptionRemoved: created ${created.id}`;
        }
        case 'missed':
          await this.#audit('entra.subscription.missed', { subscriptionId });
          return 'missed: catching up from the audit log';
        default:
          return `lifecycle event ${event} is not one Warden acts on`;
      }
    });
  }

  /** The app's subscriptions as Graph lists them. */
  async listGraph(): Promise<GraphSubscription[]> {
    const page = await this.tenant.session.call('listSubscriptions', {}, (r) => r.get() as Promise<{ value: GraphSubscription[] }>);
    return page.value;
  }

  /** A notification arrived for the tenant (recorded for the self-test, at most once a minute per process). */
  static async noteNotification(store: ConnectorStore, tenant: string, at: Date): Promise<void> {
    let noted = lastNoted.get(store);
    if (!noted) lastNoted.set(store, (noted = new Map()));
    const last = noted.get(tenant) ?? 0;
    if (at.getTime() - last < 60_000 && at.getTime() >= last) return;
    noted.set(tenant, at.getTime());
    await store.setCursor(tenant, NOTIFIED_CURSOR, { lastAt: at.toISOString() }, at);
  }
}

const lastNoted = new WeakMap<ConnectorStore, Map<string, number>>();

/** The periodic check of one tenant's subscription, on one replica. */
export class SubscriptionLoop {
  readonly #loop: BackgroundLoop;

  constructor(
    private readonly deps: ManagerDeps & { log: Logger },
    private readonly manager: SubscriptionManager,
    private readonly tenant: EntraTenant,
  ) {
    this.#loop = new BackgroundLoop(
      () => this.step(),
      tenant.config.subscription.checkIntervalSeconds * 1000,
      (err) => deps.log.error({ err, tenant: tenant.id }, 'entra subscription check failed'),
    );
  }

  start(): void {
    this.#loop.start();
  }

  async stop(): Promise<void> {
    await this.#loop.stop();
    await this.deps.store.releaseLease(`entra:${this.tenant.id}:subscriptions`, this.deps.holder).catch(() => undefined);
  }

  async step(): Promise<number> {
    const ttl = this.tenant.config.subscription.checkIntervalSeconds * 3;
    if (!(await this.deps.store.acquireLease(`entra:${this.tenant.id}:subscriptions`, this.deps.holder, this.deps.clock(), ttl))) return 0;
    try {
      await this.manager.ensure();
    } catch (err) {
      if (err instanceof SubscriptionBusyError) return 0;
      this.deps.metrics?.subscriptionEvents.inc({ tenant: this.tenant.id, event: 'failed' });
      this.deps.metrics?.subscriptionHealthy.set({ tenant: this.tenant.id }, 0);
      const state = await this.manager.state();
      const error = (err as Error).message.slice(0, 500);
      await this.deps.store.setCursor(this.tenant.id, SUBSCRIPTION_CURSOR, { ...state, lastError: error }, this.deps.clock());
      // Reported once per run of failures (lastError is cleared by the next good check), not at every check.
      if (state.lastError === undefined) await this.deps.deliveryStopped?.({ tenant: this.tenant.id, kind: 'subscription', name: 'entra:/users', error });
      throw err;
    }
    const state = await this.manager.state();
    if (state.lastError !== undefined) {
      const { lastError: _, ...healthy } = state;
      await this.deps.store.setCursor(this.tenant.id, SUBSCRIPTION_CURSOR, healthy, this.deps.clock());
    }
    return 0;
  }
}
