/**
 * A change Warden performs itself for an approved change request (broker
 * mode): at most one per request. Never holds a secret (a TAP is shown to the
 * requester once and not kept).
 */
export interface BrokerRun {
  tenant: string;
  requestId: string;
  /** The connector that performs it, e.g. `entra`. */
  connector: string;
  /** The change kind, e.g. `tap.issue`. */
  kind: string;
  /** `started`: claimed, the IdP call may or may not have happened; `done`: recorded. */
  state: 'started' | 'done';
  startedAt: Date;
  finishedAt?: Date;
  /** The IdP's id of what was done (e.g. the TAP method id). */
  reference?: string;
  expiresAt?: Date;
  details: Record<string, unknown>;
}

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

/** Broker runs, the one change Warden performs for an approved change request, kept as own changes `broker:<requestId>` (table `own_changes`, migration 0080). */
export interface BrokerRunStore {
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
