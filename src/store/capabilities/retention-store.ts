/** Oldest moment each kind of retained row may be from (see `pruneRetained`). */
export interface RetentionCutoffs {
  inbox: Date;
  ownChanges: Date;
  events: Date;
  /** "This wasn't me" links that expired before this. */
  notMeLinks: Date;
  /** SETs the SSF transmitter delivered before this. */
  ssfSets: Date;
  /** `jti`s the SSF receiver accepted before this. */
  ssfReceived: Date;
}

/** Rows `pruneRetained` deleted, by kind. */
export interface RetentionPruned {
  inbox: number;
  ownChanges: number;
  events: number;
  notMeLinks: number;
  ssfSets: number;
  ssfReceived: number;
}

/** Pruning of what is kept only for a while (across the inbox, own changes and outbound events): part of the Store port (src/store/store.ts). */
export interface RetentionStore {
  /**
   * Deletes, up to `limit` rows of each, what is kept only for a while:
   * inbox entries processed or ignored before `cutoffs.inbox` (raw vendor
   * payloads; failed ones stay), own-change records from before
   * `cutoffs.ownChanges`, and outbound events created before
   * `cutoffs.events` with no delivery still queued or running (with their
   * deliveries), "this wasn't me" links that expired before
   * `cutoffs.notMeLinks`, SETs delivered before `cutoffs.ssfSets` (failed
   * ones stay) and received SET `jti`s from before `cutoffs.ssfReceived`. Decisions, changes, alerts and the audit log are never pruned.
   */
  pruneRetained(cutoffs: RetentionCutoffs, limit: number): Promise<RetentionPruned>;
}
