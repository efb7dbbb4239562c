import type { BrokerRun, OwnChange } from './store.js';

/** What claiming a broker run records: the run, and what the IdP will report for it (to recognise it). */
export interface BrokerRunClaim {
  tenant: string;
  requestId: string;
  connector: string;
  kind: string;
  startedAt: Date;
  /** The IdP object the run changes (user id); recognition matches on it. */
  targetId?: string;
  /** The vendor event types the IdP reports the run with. */
  eventTypes?: readonly string[];
}

/** What a finished broker run did (never a secret). */
export interface BrokerRunResult {
  reference: string;
  expiresAt?: Date;
  details?: Record<string, unknown>;
}

/**
 * The store capability behind Warden's own changes: the one record of each
 * change Warden makes in an IdP, enforcement actions (`action:<id>`) and
 * broker runs (`broker:<requestId>`) alike. `Store` includes it; the
 * own-change service (src/connector/own-changes.ts) needs nothing else.
 */
export interface OwnChangeStore {
  /** Records (or replaces, by `ref`) a change Warden itself makes in an IdP: `started` without a result, `done` with one. */
  putOwnChange(change: OwnChange): Promise<void>;
  getOwnChange(tenant: string, connector: string, ref: string): Promise<OwnChange | undefined>;
  /** Warden's own changes to `targetId` recorded between `from` and `to` (inclusive), oldest first. */
  findOwnChanges(tenant: string, connector: string, targetId: string, from: Date, to: Date): Promise<OwnChange[]>;
  /**
   * Warden's own changes to `targetId` that were under way at some moment
   * between `from` and `to`: recorded (started) no later than `to` and last
   * written no earlier than `from`. A change recorded and completed at once
   * is found as by `findOwnChanges`; a broker run recovered long after its
   * IdP call is still found at the time of that call.
   */
  findOwnChangesOverlapping(tenant: string, connector: string, targetId: string, from: Date, to: Date): Promise<OwnChange[]>;
  /**
   * Claims the one broker run of a request (state `started`), unless the
   * request has one already, which is returned instead. Concurrent claims of
   * one request: exactly one wins, whichever connector claims.
   */
  claimBrokerRun(run: BrokerRunClaim): Promise<{ claimed: true } | { claimed: false; run: BrokerRun }>;
  /** Claims a `started` run again, only while its `startedAt` is still `expectedStartedAt` (one of several retries wins); false otherwise. */
  restartBrokerRun(tenant: string, requestId: string, expectedStartedAt: Date, now: Date): Promise<boolean>;
  /** Records what a started run did (state `done`). */
  finishBrokerRun(tenant: string, requestId: string, result: BrokerRunResult, now: Date): Promise<void>;
  /** Removes a `started` run that did nothing (the IdP refused), so the request can be run again; a `done` run stays. */
  abandonBrokerRun(tenant: string, requestId: string): Promise<void>;
  getBrokerRun(tenant: string, requestId: string): Promise<BrokerRun | undefined>;
}
