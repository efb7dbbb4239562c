/** A raw vendor delivery, kept before anything else happens to it. */
export interface InboxEntry {
  tenant: string;
  /** Vendor / connector name, e.g. `okta`. */
  source: string;
  /** The vendor's id for the event (Okta LogEvent uuid, Entra audit record id): the de-duplication key. */
  eventId: string;
  eventType?: string;
  via: 'hook' | 'poll' | 'ssf' | 'inline' | 'api';
  payload: unknown;
  receivedAt: Date;
  occurredAt?: Date;
}

export interface InboxRow extends InboxEntry {
  id: number;
  state: 'pending' | 'processed' | 'ignored' | 'failed';
  attempts: number;
  error?: string;
}

/** The inbox: raw vendor deliveries, kept before anything else happens to them, and the workers' claims on them: part of the Store port (src/store/store.ts). */
export interface InboxStore {
  /** Stores a delivery unless one with the same (tenant, source, eventId) exists. */
  putInbox(entry: InboxEntry): Promise<{ inserted: boolean; id: number }>;
  /**
   * Stores several deliveries in ONE statement (so one commit, one fsync on
   * PGlite `full`): all of them or, if it fails, none. The receivers' group
   * commit and the pollers' pages write through it. Each is skipped when
   * one with the same (tenant, source, eventId) exists, or comes earlier in
   * `entries`. Answers in the order of `entries`, as `putInbox` would have.
   * The ingest path's group commit (src/connector/inbox-group-commit.ts).
   */
  putInboxMany(entries: readonly InboxEntry[]): Promise<Array<{ inserted: boolean; id: number }>>;
  /** Takes up to `limit` pending entries due at `now`, skipping rows other workers hold. */
  claimInbox(limit: number, now: Date, leaseSeconds: number): Promise<InboxRow[]>;
  /** Marks an entry done (`processed` or `ignored`), or `failed` for good. */
  finishInbox(id: number, state: 'processed' | 'ignored' | 'failed', now: Date, error?: string): Promise<void>;
  /** Puts an entry back to be tried again at `at`. */
  retryInbox(id: number, at: Date, error: string): Promise<void>;
  /**
   * A tenant's entries in `state`, oldest first, without claiming or
   * changing them (what is waiting, what failed for good: `warden inbox
   * list`, and tests that must look without moving a row).
   */
  listInbox(tenant: string, state: InboxRow['state'], limit: number): Promise<InboxRow[]>;
  /**
   * Marks an entry `processed` only if it is still pending, and says whether
   * it was. Called inside the transaction that does the entry's work (the
   * signal path, src/engine/observe-signal.ts): the work commits with the
   * entry's settlement or not at all, and of two workers holding the same
   * entry (a lease that ran out) the second waits for the first's row lock,
   * then finds it settled and does nothing.
   */
  settleInbox(id: number, now: Date): Promise<boolean>;
  /**
   * `settleInbox` for several entries in one statement (the signal batch of
   * the inbox worker): marks `processed` those still pending and returns
   * their ids; the others were settled before (by another worker).
   */
  settleInboxes(ids: readonly number[], now: Date): Promise<number[]>;
  /**
   * `finishInbox(id, 'ignored', now, reason)` for several entries in one
   * statement (the inbox worker's entries that are not changes: Warden's own
   * actions reported back, events Warden does not govern).
   */
  ignoreInboxes(entries: ReadonlyArray<{ id: number; reason: string }>, now: Date): Promise<void>;
}
