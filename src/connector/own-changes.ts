import type { Clock } from '../core/clock.js';
import { WardenError } from '../core/errors.js';
import type { Actor, ChangeKind, IdentityChange } from '../core/identity-change.js';
import type { BrokerRun, BrokerRunResult, BrokerRunStore, OwnChange, OwnChangeStore } from '../store/store.js';

/**
 * Warden's own changes in an IdP, for every connector: one record per change
 * Warden makes (an enforcement action, a brokered request's run), written
 * before the IdP call, and one way to recognise the change when the IdP
 * reports it back, so Warden never judges its own work again.
 *
 * Matching is the same for every IdP. A reported change is Warden's own when
 * a record of the same connector and tenant
 * - names the same target (the IdP's user id),
 * - expects the change's vendor event type (`source.rawType`: an Okta System
 *   Log `eventType`, an Entra `activityDisplayName`; compared without case),
 * - was under way around the time the change happened: recorded at most
 *   {@link OWN_CHANGE_WINDOW}`.afterMs` after it (clocks differ) and last
 *   written at most `beforeMs` before it (the IdP's log lags),
 * - and, where the vendor names who acted and Warden knows who it acts as,
 *   the change was made by one of Warden's identities.
 *
 * A change made with Warden's credentials that Warden did not record is
 * judged like any other.
 */

/** How far a reported change may be from its record and still be that record. */
export const OWN_CHANGE_WINDOW = Object.freeze({ beforeMs: 10 * 60_000, afterMs: 2 * 60_000 });

/** How long a `started` broker run is treated as in flight before a retry may take it over. */
export const BROKER_RUN_IN_FLIGHT_MS = 120_000;

/** The record key of an enforcement action. */
export const actionRef = (actionId: string): string => `action:${actionId}`;
/** The record key of a brokered request's run. */
export const brokerRef = (requestId: string): string => `broker:${requestId}`;

/** Whether a record is a brokered request's run (rather than an enforcement action). */
export const isBrokerRun = (own: Pick<OwnChange, 'ref'>): boolean => own.ref.startsWith('broker:');

/** Whether `actor` is one of `identities`, by IdP id, login or app id (what the vendor gives). */
export function actedAs(actor: Actor, identities: ReadonlySet<string>): boolean {
  const appId = actor.attributes?.appId;
  return identities.has(actor.id) || (!!actor.login && identities.has(actor.login)) || (typeof appId === 'string' && identities.has(appId));
}

/** What Warden is about to change in the IdP. */
export interface OwnChangeIntent {
  tenant: string;
  /** `actionRef(id)` or `brokerRef(requestId)`. */
  ref: string;
  /** The IdP's id of the user changed, as the IdP will report it. */
  targetId: string;
  /** The vendor event types the IdP reports the change with. */
  eventTypes: readonly string[];
}

/** What the inbox handler does with a reported change once own changes are looked up. */
export type Recognised =
  | { own: undefined; change: IdentityChange }
  | { own: OwnChange; change: IdentityChange; brokered: true }
  | { own: OwnChange; ignored: string };

/**
 * The own-change service of one connector. Stateless: each call takes the
 * store (or the transaction) to use.
 *
 * @example
 * ```ts
 * const own = new OwnChanges('okta');
 * const result = await own.perform(ctx.store, ctx.clock, { tenant, ref: actionRef(action.id), targetId, eventTypes }, () => call());
 * ```
 */
export class OwnChanges {
  constructor(
    /** The connector's name (`okta`, `entra`). */
    readonly connector: string,
    /** The IdP's name for people (`Okta`, `Entra`). */
    readonly vendor: string = connector,
    private readonly window: { beforeMs: number; afterMs: number } = OWN_CHANGE_WINDOW,
  ) {}

  /** Records a change before it is made (call in the same or an earlier transaction than the IdP call). */
  async intend(store: OwnChangeStore & BrokerRunStore, intent: OwnChangeIntent, at: Date): Promise<void> {
    await store.putOwnChange({ ...intent, eventTypes: [...intent.eventTypes], connector: this.connector, at });
  }

  /** Records what the change did (never secrets). */
  async done(store: OwnChangeStore & BrokerRunStore, intent: OwnChangeIntent, at: Date, result: unknown): Promise<void> {
    await store.putOwnChange({ ...intent, eventTypes: [...intent.eventTypes], connector: this.connector, at, result: result ?? {} });
  }

  /** Records the intent, makes the change, records its result; returns it. A failed call leaves the intent (a retry records it again). */
  async perform<T>(store: OwnChangeStore & BrokerRunStore, clock: Clock, intent: OwnChangeIntent, act: () => Promise<T>): Promise<T> {
    await this.intend(store, intent, clock());
    const result = await act();
    await this.done(store, intent, clock(), result);
    return result;
  }

  /**
   * The record a reported change matches, if any (see the module comment).
   * `identities`: who Warden acts as in the IdP; empty or undefined when unknown.
   */
  async find(store: OwnChangeStore & BrokerRunStore, change: IdentityChange, identities?: ReadonlySet<string>): Promise<OwnChange | undefined> {
    if (identities && identities.size > 0 && !actedAs(change.actor, identities)) return undefined;
    const at = Date.parse(change.occurredAt);
    if (!Number.isFinite(at)) return undefined;
    const candidates = await store.findOwnChangesOverlapping(
      change.tenant,
      this.connector,
      change.target.id,
      new Date(at - this.window.beforeMs),
      new Date(at + this.window.afterMs),
    );
    const type = change.source.rawType.toLowerCase();
    return candidates.find((c) => c.eventTypes.some((t) => t.toLowerCase() === type));
  }

  /**
   * What to do with a reported change: not Warden's (decide it); the change
   * a brokered request asked for (decide it, so it matches and uses up the
   * request: `context.wardenBroker` names the run); or Warden's own work
   * coming back, a side effect of a run included (ignore it).
   */
  async recognise(
    store: OwnChangeStore & BrokerRunStore,
    change: IdentityChange,
    options: { identities?: ReadonlySet<string>; brokerKinds?: readonly ChangeKind[] } = {},
  ): Promise<Recognised> {
    const own = await this.find(store, change, options.identities);
    if (!own) return { own: undefined, change };
    if (isBrokerRun(own) && (options.brokerKinds ?? []).includes(change.kind)) {
      const context = { ...change.context };
      context.wardenBroker = own.ref;
      return { own, change: { ...change, context }, brokered: true };
    }
    return { own, ignored: `Warden's own change (${own.ref}) reported back by ${this.vendor}` };
  }

  /**
   * Claims the one run of a brokered request, recording what the IdP will
   * report for it. Concurrent claims: one wins. When the request has a run
   * already, it is returned: a `done` one to replay or refuse, a `started`
   * one to reconcile and then {@link resume}.
   */
  async claimRun(
    store: OwnChangeStore & BrokerRunStore,
    run: { tenant: string; requestId: string; kind: string; targetId: string; eventTypes: readonly string[] },
    at: Date,
  ): Promise<{ claimed: true } | { claimed: false; run: BrokerRun }> {
    return store.claimBrokerRun({ ...run, connector: this.connector, startedAt: at });
  }

  /**
   * Takes over a `started` run whose attempt was interrupted (no answer,
   * crash) once it is older than {@link BROKER_RUN_IN_FLIGHT_MS}; refuses
   * while it may still be in flight, and when another retry took it first.
   *
   * @throws WardenError `ERR_CONFLICT`
   */
  async resume(store: OwnChangeStore & BrokerRunStore, run: BrokerRun, now: Date): Promise<void> {
    if (now.getTime() - run.startedAt.getTime() < BROKER_RUN_IN_FLIGHT_MS || !(await store.restartBrokerRun(run.tenant, run.requestId, run.startedAt, now)))
      throw new WardenError('ERR_CONFLICT', `request ${run.requestId} is being served right now`);
  }

  /** Records what the run did (never a secret). */
  async finishRun(store: OwnChangeStore & BrokerRunStore, tenant: string, requestId: string, result: BrokerRunResult, now: Date): Promise<void> {
    await store.finishBrokerRun(tenant, requestId, result, now);
  }

  /** Forgets a run the IdP refused (nothing happened), so the request may run again. */
  async abandonRun(store: OwnChangeStore & BrokerRunStore, tenant: string, requestId: string): Promise<void> {
    await store.abandonBrokerRun(tenant, requestId);
  }
}
