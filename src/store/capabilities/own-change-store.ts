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

/** Changes Warden itself makes in an IdP, recorded before they are made: part of the Store port (src/store/store.ts). */
export interface OwnChangeStore {
  /** Records (or replaces, by `ref`) a change Warden itself makes in an IdP. */
  putOwnChange(change: OwnChange): Promise<void>;
  getOwnChange(tenant: string, connector: string, ref: string): Promise<OwnChange | undefined>;
  /** Warden's own changes to `targetId` recorded between `from` and `to` (inclusive), oldest first. */
  findOwnChanges(tenant: string, connector: string, targetId: string, from: Date, to: Date): Promise<OwnChange[]>;
}
