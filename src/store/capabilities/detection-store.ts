/**
 * What one detection rule keeps for one key (src/detect): the matching
 * changes still inside its window. `events` is opaque to the store.
 */
export interface DetectionStateRow {
  tenant: string;
  rule: string;
  key: string;
  /** Hash of the rule's matching definition: state written under another hash is stale. */
  ruleHash: string;
  events: unknown;
  /** When nothing in it can match any more (pruned after). */
  expiresAt: Date;
  /** Absence rules: when the pending first step must be checked. */
  dueAt?: Date;
  updatedAt: Date;
}

/** Which state: one detection rule's key in a tenant. */
export interface DetectionStateKey {
  tenant: string;
  rule: string;
  key: string;
}

/**
 * One source's event-time progress in a tenant (src/detect/source-watermarks.ts):
 * the newest event time it delivered, and the clock when it last delivered.
 */
export interface SourceWatermarkRow {
  /** `<idp>/<via>`: `okta/hook`, `okta/poll`, `entra/poll`, … */
  source: string;
  at: Date;
  seen: Date;
}

/** Detection rules' state per key and the sources' event-time progress (src/detect): part of the Store port (src/store/store.ts). */
export interface DetectionStore {
  /**
   * Detection state of (tenant, rule, key), locked until the transaction
   * ends so concurrent workers correlate one key one at a time; a key with no
   * state yet is locked too (a second creator waits, then reads the first
   * one's row). Call inside a transaction.
   */
  lockDetectionState(tenant: string, rule: string, key: string): Promise<DetectionStateRow | undefined>;
  /** Writes (inserts or replaces) detection state. */
  putDetectionState(row: DetectionStateRow): Promise<void>;
  deleteDetectionState(tenant: string, rule: string, key: string): Promise<void>;
  /**
   * `lockDetectionState` for many keys in one statement (a run of changes
   * correlated in one transaction): the stored states among `keys`, each
   * locked until the transaction ends. Rows are locked in one order for
   * every caller, (tenant, rule, key) as the database sorts them, so two
   * transactions locking overlapping keys never deadlock on them: one waits
   * for the other. Keys without state are absent from the answer (and not
   * locked); a key given twice is answered once. Call inside a transaction.
   */
  lockDetectionStates(keys: readonly DetectionStateKey[]): Promise<DetectionStateRow[]>;
  /**
   * `putDetectionState` for many rows in one statement, written in the
   * order `lockDetectionStates` locks. A key given twice is written as its
   * last row.
   *
   * @returns the keys that had a row already (replaced); the others were
   * inserted. A caller that found no row for a key (`lockDetectionStates`)
   * and sees it replaced raced another transaction that created it since:
   * the state it wrote did not start from that one.
   */
  putDetectionStates(rows: readonly DetectionStateRow[]): Promise<DetectionStateKey[]>;
  /** `deleteDetectionState` for many keys in one statement. */
  deleteDetectionStates(keys: readonly DetectionStateKey[]): Promise<void>;
  /**
   * Up to `limit` states whose `dueAt` has come, locked and skipping rows
   * others hold (replicas share the work). Call inside a transaction.
   */
  claimDueDetectionStates(now: Date, limit: number): Promise<DetectionStateRow[]>;
  /** Deletes up to `limit` states expired at `now` with nothing due; returns how many. */
  pruneDetectionStates(now: Date, limit: number): Promise<number>;
  countDetectionStates(tenant: string): Promise<number>;
  /**
   * Records sources' progress in a tenant: each stored `at` and `seen` only
   * moves forward (the greater of the stored and the given value is kept),
   * so replicas writing at once never move a source back.
   */
  advanceSourceWatermarks(tenant: string, marks: readonly SourceWatermarkRow[]): Promise<void>;
  /** The tenant's sources' progress, as recorded (any order). */
  getSourceWatermarks(tenant: string): Promise<SourceWatermarkRow[]>;
}
