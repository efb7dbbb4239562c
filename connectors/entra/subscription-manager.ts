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

/** One tenant's subscription, kept alive. */
export interface SubscriptionManager {
  /** The subscription as Warden last recorded it. */
  state(): Promise<SubscriptionState>;
  /**
   * Checks the subscription and repairs what needs it: adopt or create one,
   * recreate a vanished or silent one, renew one close to expiry.
   */
  ensure(options?: { forceRenew?: boolean; recreate?: boolean }): Promise<EnsureResult>;
  /** Handles a lifecycle notification (entra.md §1.5). `missed` only records it: the caller polls the audit log. */
  onLifecycle(event: string, subscriptionId: string): Promise<string>;
  /** The app's subscriptions as Graph lists them. */
  listGraph(): Promise<GraphSubscription[]>;
}

export function createSubscriptionManager(deps: ManagerDeps, tenant: EntraTenant): SubscriptionManager {
  const opLease = `entra:${tenant.id}:subscription-op`;

  /** Runs `fn` alone: one at a time in this process, and under the op lease across replicas. */
  const exclusive = async <T>(fn: () => Promise<T>): Promise<T> => {
    const key = tenant.id;
    const previous = queues.get(key) ?? Promise.resolve();
    const run = previous
      .catch(() => undefined)
      .then(async () => {
        const { store, clock, holder } = deps;
        if (!(await store.acquireLease(opLease, holder, clock(), 120))) throw new SubscriptionBusyError(tenant.id);
        try {
          return await fn();
        } finally {
          await store.releaseLease(opLease, holder);
        }
      });
    queues.set(key, run);
    try {
      return await run;
    } finally {
      if (queues.get(key) === run) queues.delete(key);
    }
  };

  const readState = async (): Promise<SubscriptionState> => {
    return ((await deps.store.getCursor(tenant.id, SUBSCRIPTION_CURSOR)) ?? {}) as SubscriptionState;
  };

  const save = async (state: SubscriptionState): Promise<void> => {
    await deps.store.setCursor(tenant.id, SUBSCRIPTION_CURSOR, state, deps.clock());
    if (state.expiresAt) deps.metrics?.subscriptionExpiry.set({ tenant: tenant.id }, Math.floor(Date.parse(state.expiresAt) / 1000));
  };

  const audit = async (type: string, data: Record<string, unknown>): Promise<void> => {
    deps.metrics?.subscriptionEvents.inc({ tenant: tenant.id, event: type.split('.').pop()! });
    await appendAudit(deps.store, tenant.id, {
      type,
      actor: deps.actor,
      subject: data.subscriptionId ? { subscriptionId: String(data.subscriptionId) } : {},
      data,
      at: deps.clock(),
    });
  };

  const expiry = (now: Date): string => {
    return new Date(now.getTime() + tenant.config.subscription.lifetimeMinutes * 60_000).toISOString();
  };

  /** Creates a subscription (Graph validates both URLs against Warden first) and deletes the one it replaces. */
  const create = async (reason: string, previous: SubscriptionState): Promise<SubscriptionState> => {
    const { subscription } = tenant.config;
    const now = deps.clock();
    if (!subscription.notificationUrl || !tenant.clientState)
      throw new WardenError('ERR_CONFIG_INVALID', 'subscription.notificationUrl and subscription.clientState are required');
    const lifecycleNotificationUrl = tenant.lifecycleNotificationUrl;
    const created = await tenant.session.call(
      'createSubscription',
      {},
      (r) =>
        r.post({
          changeType: 'updated,deleted',
          notificationUrl: subscription.notificationUrl,
          ...(lifecycleNotificationUrl ? { lifecycleNotificationUrl } : {}),
          resource: '/users',
          expirationDateTime: expiry(now),
          clientState: tenant.clientState!.reveal(),
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
    await save(state);
    if (previous.id && previous.id !== created.id) await remove(previous.id);
    await audit(previous.id ? 'entra.subscription.recreated' : 'entra.subscription.created', {
      subscriptionId: created.id,
      expiresAt: created.expirationDateTime,
      reason,
      ...(previous.id ? { replaces: previous.id } : {}),
    });
    deps.log?.info({ tenant: tenant.id, subscriptionId: created.id, reason }, 'entra /users subscription created');
    deps.metrics?.subscriptionHealthy.set({ tenant: tenant.id }, 1);
    return state;
  };

  const remove = async (id: string): Promise<void> => {
    try {
      await tenant.session.call('deleteSubscription', { subscription: id }, (r) => r.delete() as Promise<unknown>);
    } catch (err) {
      if (!(err instanceof GraphCallError && err.status === 404))
        deps.log?.warn({ err, tenant: tenant.id, subscriptionId: id }, 'could not delete the replaced subscription; it expires on its own');
    }
  };

  const renew = async (state: SubscriptionState, why: string): Promise<SubscriptionState> => {
    const now = deps.clock();
    try {
      const renewed = await tenant.session.call(
        'renewSubscription',
        { subscription: state.id! },
        (r) => r.patch({ expirationDateTime: expiry(now) }) as Promise<GraphSubscription>,
      );
      const next = { ...state, expiresAt: renewed.expirationDateTime, renewedAt: now.toISOString(), lastCheckAt: now.toISOString() };
      await save(next);
      await audit('entra.subscription.renewed', { subscriptionId: state.id, expiresAt: renewed.expirationDateTime, reason: why });
      return next;
    } catch (err) {
      if (err instanceof GraphCallError && err.status === 404) return create('gone (renewal found no subscription)', state);
      throw err;
    }
  };

  /** Whether a subscription expiring at `expiresAt` is due for renewal at `now`. */
  const dueForRenewal = (state: SubscriptionState, now: Date): boolean => {
    return !state.expiresAt || Date.parse(state.expiresAt) - now.getTime() <= tenant.config.subscription.renewBeforeMinutes * 60_000;
  };

  /** The self-test: a user change in the audit log after creation, no notification since, for `silenceMinutes`. */
  const silent = async (state: SubscriptionState, now: Date): Promise<{ changeAt: string } | undefined> => {
    if (!state.createdAt) return undefined;
    const seen = (await deps.store.getCursor(tenant.id, USER_CHANGE_CURSOR)) as { lastAt?: string } | undefined;
    if (!seen?.lastAt || seen.lastAt < state.createdAt) return undefined;
    if (now.getTime() - Date.parse(seen.lastAt) < tenant.config.subscription.silenceMinutes * 60_000) return undefined;
    const notified = (await deps.store.getCursor(tenant.id, NOTIFIED_CURSOR)) as { lastAt?: string } | undefined;
    // Notifications arrive after the change they announce; allow for clock skew between Warden and Microsoft.
    if (notified?.lastAt && Date.parse(notified.lastAt) >= Date.parse(seen.lastAt) - 2 * 60_000) return undefined;
    return { changeAt: seen.lastAt };
  };

  /**
   * Checks the subscription and repairs what needs it: adopt or create one,
   * recreate a vanished or silent one, renew one close to expiry.
   */
  const ensure = (options: { forceRenew?: boolean; recreate?: boolean } = {}): Promise<EnsureResult> => {
    return exclusive(async () => {
      if (!tenant.config.subscription.enabled) return { action: 'disabled', state: await readState() };
      const now = deps.clock();
      let state = await readState();
      if (!state.id) {
        const mine = await listGraph();
        const url = tenant.config.subscription.notificationUrl;
        const existing = mine.find((s) => s.resource.replace(/^\//, '').toLowerCase() === 'users' && s.notificationUrl === url);
        if (existing) {
          state = {
            id: existing.id,
            expiresAt: existing.expirationDateTime,
            createdAt: now.toISOString(),
            notificationUrl: existing.notificationUrl,
            lastCheckAt: now.toISOString(),
          };
          await save(state);
          await audit('entra.subscription.adopted', { subscriptionId: existing.id, expiresAt: existing.expirationDateTime });
          if (dueForRenewal(state, now)) state = await renew(state, 'expires soon');
          return { action: 'adopted', state };
        }
        return { action: 'created', state: await create('no subscription', state) };
      }
      if (options.recreate) return { action: 'recreated', state: await create('asked by an operator', state) };
      if (state.notificationUrl && state.notificationUrl !== tenant.config.subscription.notificationUrl)
        return { action: 'recreated', state: await create('the notification URL changed', state) };
      try {
        const current = await tenant.session.call('getSubscription', { subscription: state.id }, (r) => r.get() as Promise<GraphSubscription>);
        state = { ...state, expiresAt: current.expirationDateTime };
      } catch (err) {
        if (err instanceof GraphCallError && err.status === 404) {
          deps.metrics?.subscriptionHealthy.set({ tenant: tenant.id }, 0);
          return { action: 'recreated', state: await create('gone (Graph no longer has it)', state) };
        }
        throw err;
      }
      const silence = await silent(state, now);
      if (silence) {
        deps.metrics?.subscriptionHealthy.set({ tenant: tenant.id }, 0);
        deps.log?.error(
          { tenant: tenant.id, subscriptionId: state.id, userChangeAt: silence.changeAt },
          'entra subscription is silent: a user changed and no notification arrived; replacing it',
        );
        await audit('entra.subscription.silent', {
          subscriptionId: state.id,
          userChangeAt: silence.changeAt,
          silenceMinutes: tenant.config.subscription.silenceMinutes,
        });
        return { action: 'recreated', state: await create('silent (self-test)', { ...state, silentSince: now.toISOString() }), silent: true };
      }
      deps.metrics?.subscriptionHealthy.set({ tenant: tenant.id }, 1);
      if (options.forceRenew || dueForRenewal(state, now))
        return { action: 'renewed', state: await renew(state, options.forceRenew ? 'asked by an operator' : 'expires soon') };
      state = { ...state, lastCheckAt: now.toISOString() };
      await save(state);
      return { action: 'ok', state };
    });
  };

  /** Handles a lifecycle notification (entra.md §1.5). `missed` only records it: the caller polls the audit log. */
  const onLifecycle = (event: string, subscriptionId: string): Promise<string> => {
    return exclusive(async () => {
      const state = await readState();
      const stale = state.id !== undefined && state.id !== subscriptionId;
      switch (event) {
        case 'reauthorizationRequired': {
          if (stale) return `reauthorizationRequired for ${subscriptionId}, which Warden no longer uses: nothing to do`;
          try {
            await tenant.session.call('reauthorizeSubscription', { subscription: subscriptionId }, (r) => r.post({}) as Promise<unknown>);
          } catch (err) {
            if (err instanceof GraphCallError && err.status === 404) {
              await create('gone (reauthorization found no subscription)', state);
              return 'reauthorizationRequired: the subscription was gone; created a new one';
            }
            throw err;
          }
          await audit('entra.subscription.reauthorized', { subscriptionId });
          const renewed = await renew({ ...state, id: subscriptionId }, 'reauthorizationRequired');
          return `reauthorizationRequired: reauthorized and renewed until ${renewed.expiresAt}`;
        }
        case 'subscriptionRemoved': {
          if (stale) return `subscriptionRemoved for ${subscriptionId}, which Warden no longer uses: nothing to do`;
          const created = await create('subscriptionRemoved (lifecycle notification)', { ...state, id: state.id ?? subscriptionId });
          return `subscriptionRemoved: created ${created.id}`;
        }
        case 'missed':
          await audit('entra.subscription.missed', { subscriptionId });
          return 'missed: catching up from the audit log';
        default:
          return `lifecycle event ${event} is not one Warden acts on`;
      }
    });
  };

  /** The app's subscriptions as Graph lists them. */
  const listGraph = async (): Promise<GraphSubscription[]> => {
    const page = await tenant.session.call('listSubscriptions', {}, (r) => r.get() as Promise<{ value: GraphSubscription[] }>);
    return page.value;
  };

  return { state: readState, ensure, onLifecycle, listGraph };
}

/** A notification arrived for the tenant (recorded for the self-test, at most once a minute per process). */
export async function noteNotification(store: ConnectorStore, tenant: string, at: Date): Promise<void> {
  let noted = lastNoted.get(store);
  if (!noted) lastNoted.set(store, (noted = new Map()));
  const last = noted.get(tenant) ?? 0;
  if (at.getTime() - last < 60_000 && at.getTime() >= last) return;
  noted.set(tenant, at.getTime());
  await store.setCursor(tenant, NOTIFIED_CURSOR, { lastAt: at.toISOString() }, at);
}

const lastNoted = new WeakMap<ConnectorStore, Map<string, number>>();

/** The periodic check of one tenant's subscription, on one replica. */
export interface SubscriptionLoop {
  start(): void;
  stop(): Promise<void>;
  /** One check, under the replica lease: ensures the subscription, records a failure. */
  step(): Promise<number>;
}

export function createSubscriptionLoop(deps: ManagerDeps & { log: Logger }, manager: SubscriptionManager, tenant: EntraTenant): SubscriptionLoop {
  const lease = `entra:${tenant.id}:subscriptions`;
  const step = async (): Promise<number> => {
    const ttl = tenant.config.subscription.checkIntervalSeconds * 3;
    if (!(await deps.store.acquireLease(lease, deps.holder, deps.clock(), ttl))) return 0;
    try {
      await manager.ensure();
    } catch (err) {
      if (err instanceof SubscriptionBusyError) return 0;
      deps.metrics?.subscriptionEvents.inc({ tenant: tenant.id, event: 'failed' });
      deps.metrics?.subscriptionHealthy.set({ tenant: tenant.id }, 0);
      const state = await manager.state();
      const error = (err as Error).message.slice(0, 500);
      await deps.store.setCursor(tenant.id, SUBSCRIPTION_CURSOR, { ...state, lastError: error }, deps.clock());
      // Reported once per run of failures (lastError is cleared by the next good check), not at every check.
      if (state.lastError === undefined) await deps.deliveryStopped?.({ tenant: tenant.id, kind: 'subscription', name: 'entra:/users', error });
      throw err;
    }
    const state = await manager.state();
    if (state.lastError !== undefined) {
      const { lastError: _, ...healthy } = state;
      await deps.store.setCursor(tenant.id, SUBSCRIPTION_CURSOR, healthy, deps.clock());
    }
    return 0;
  };
  const loop = new BackgroundLoop(step, tenant.config.subscription.checkIntervalSeconds * 1000, (err) =>
    deps.log.error({ err, tenant: tenant.id }, 'entra subscription check failed'),
  );
  return {
    start() {
      loop.start();
    },
    async stop() {
      await loop.stop();
      await deps.store.releaseLease(lease, deps.holder).catch(() => undefined);
    },
    step,
  };
}
