/**
 * A change Warden itself makes in an IdP (an enforcement action, a brokered
 * reset), recorded before it is made, so the connector recognises the change
 * when the IdP reports it back and never re-judges its own work.
 */
export interface OwnChange {
  tenant: string;
  /** The connector that makes it, e.g. `okta`. */
  connector: string;
  /** Unique per tenant and connector: `action:<action id>`, `broker:<request id>`. */
  ref: string;
  /** The IdP object changed (user id). */
  targetId: string;
  /** What the IdP will report for it (Okta System Log event types, …). */
  eventTypes: string[];
  at: Date;
  /** What came of it, once done (never secrets). */
  result?: unknown;
}

/**
 * The store capability behind Warden's own changes: the one record of each
 * change Warden makes in an IdP, enforcement actions (`action:<id>`) and
 * broker runs (`broker:<requestId>`, BrokerRunStore) alike, in the table
 * `own_changes`. The own-change service (src/connector/own-changes.ts) needs
 * nothing else.
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
}
