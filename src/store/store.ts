import type { Alert, Severity } from '../core/alert.js';
import type { Decision } from '../core/decision.js';
import type { IdentityChange } from '../core/identity-change.js';
import type { OwnChangeStore } from './own-change-store.js';
import type { NotifyStoreOps, WorkflowStoreOps } from './workflow-store.js';

export type * from './workflow-store.js';

/**
 * The store port: everything Warden keeps, behind one small interface with
 * two drivers (embedded PGlite, PostgreSQL). Both run the contract suite in
 * test/contracts/store.contract.ts. Times are passed in (never read from the
 * database clock) so behaviour is the same on both drivers and under a fake clock.
 */

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

/** A compensating or containing action queued for a connector (the outbox). */
export interface ActionEntry {
  id: string;
  tenant: string;
  decisionId?: string;
  /** `hold_group`, `revoke_sessions`, … */
  kind: string;
  /** The connector that executes it (the IdP the change came from, e.g. `okta`). */
  connector?: string;
  targetId: string;
  params: Record<string, unknown>;
  /** Unique per tenant: enqueueing the same key twice queues one action. */
  idempotencyKey: string;
  /** monitor mode: recorded, never executed. */
  dryRun: boolean;
  createdAt: Date;
}

export interface ActionRow extends ActionEntry {
  state: 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
  attempts: number;
  nextAttemptAt: Date;
  lastError?: string;
  result?: unknown;
}

/** Who released a held decision, when and why. */
export interface HoldRelease {
  tenant: string;
  decisionId: string;
  releasedAt: string;
  actor: { type: string; id: string; name?: string };
  reason: string;
}

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

/** One audit record as stored: `record` is the canonical JSON that was hashed. */
export interface AuditRow {
  tenant: string;
  seq: number;
  id: string;
  at: string;
  type: string;
  record: string;
  prevHash: string;
  hash: string;
}

/** The tip of a tenant's audit chain. */
export interface AuditHead {
  seq: number;
  hash: string;
}

export interface ApiKeyRow {
  id: string;
  tenant: string;
  name: string;
  /** SHA-256 of the secret part, hex. */
  secretHash: string;
  scopes: string[];
  createdAt: string;
  revokedAt?: string;
}

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

/** Filters of `listAlerts`; newest first, paged with `before`. */
export interface AlertQuery {
  status?: 'open' | 'closed';
  /** At least this severity. */
  severity?: Severity;
  /** Alerts with a match of this rule. */
  rule?: string;
  key?: string;
  /** Raised at or after. */
  since?: Date;
  /** Page cursor: alerts raised before this one (raisedAt, then id). */
  before?: { raisedAt: string; id: string };
  limit: number;
}

/** Operations available inside and outside a transaction (the workflow's and the event publisher's in workflow-store.ts). */
/** Oldest moment each kind of retained row may be from (see `pruneRetained`). */
export interface RetentionCutoffs {
  inbox: Date;
  ownChanges: Date;
  events: Date;
}

/** Rows `pruneRetained` deleted, by kind. */
export interface RetentionPruned {
  inbox: number;
  ownChanges: number;
  events: number;
}

export interface StoreOps extends WorkflowStoreOps, NotifyStoreOps, OwnChangeStore {

  /** Makes sure tenants exist (from config); returns nothing new for known ones. */
  ensureTenants(ids: readonly string[]): Promise<void>;
  listTenants(): Promise<string[]>;
  /** Records the policy version in force for a tenant; returns the one recorded before, if any. */
  setTenantPolicy(tenant: string, version: string, now: Date): Promise<string | undefined>;

  /** Stores a delivery unless one with the same (tenant, source, eventId) exists. */
  putInbox(entry: InboxEntry): Promise<{ inserted: boolean; id: number }>;
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
   * Stores a change unless one of its source event ids is already known, in
   * which case the existing change id is returned (events seen by hook and by
   * poll are one change).
   */
  putChange(change: IdentityChange): Promise<{ inserted: boolean; id: string }>;
  getChange(tenant: string, id: string): Promise<IdentityChange | undefined>;

  putDecision(decision: Decision): Promise<void>;
  getDecision(tenant: string, id: string): Promise<Decision | undefined>;
  getDecisionForChange(tenant: string, changeId: string): Promise<Decision | undefined>;

  /** Queues an action unless its idempotency key is known for the tenant. */
  enqueueAction(action: ActionEntry): Promise<{ inserted: boolean; id: string }>;
  /** Takes up to `limit` due actions (queued, or running with an expired lease). */
  claimActions(limit: number, now: Date, leaseSeconds: number): Promise<ActionRow[]>;
  completeAction(id: string, now: Date, result: unknown): Promise<void>;
  /** Records a failed attempt: retried at `retryAt`, or failed for good when `retryAt` is null. */
  failAction(id: string, now: Date, error: string, retryAt: Date | null): Promise<void>;
  listActions(tenant: string, decisionId: string): Promise<ActionRow[]>;
  /** Cancels a decision's actions of these kinds that have not started; returns the ids cancelled. */
  cancelQueuedActions(tenant: string, decisionId: string, kinds: readonly string[], now: Date): Promise<string[]>;

  /** Records the release of a held decision; false when it was released before. */
  putRelease(release: HoldRelease): Promise<boolean>;
  getRelease(tenant: string, decisionId: string): Promise<HoldRelease | undefined>;
  /** Decisions that held (or denied) a change and are not released, newest first. */
  listHolds(tenant: string, limit: number): Promise<Decision[]>;

  /**
   * Appends to a tenant's audit chain. `build` gets the current head and
   * returns the new record with its hash; appends for one tenant are
   * serialized, so the chain never forks.
   */
  appendAudit(tenant: string, build: (head: AuditHead) => Omit<AuditRow, 'tenant'>): Promise<AuditRow>;
  /** Audit records of a tenant with `seq > afterSeq`, oldest first. */
  readAudit(tenant: string, afterSeq: number, limit: number): Promise<AuditRow[]>;
  auditHead(tenant: string): Promise<AuditHead>;
  /** Tenants that have audit records. */
  auditTenants(): Promise<string[]>;

  /**
   * Takes or renews a named lease for `ttlSeconds` when it is free, expired or
   * already held by `holder`: one replica at a time runs a tenant's poller.
   */
  acquireLease(name: string, holder: string, now: Date, ttlSeconds: number): Promise<boolean>;
  /** Gives a lease up (only its holder can). */
  releaseLease(name: string, holder: string): Promise<void>;

  /**
   * Deletes, up to `limit` rows of each, what is kept only for a while:
   * inbox entries processed or ignored before `cutoffs.inbox` (raw vendor
   * payloads; failed ones stay), own-change records from before
   * `cutoffs.ownChanges`, and outbound events created before
   * `cutoffs.events` with no delivery still queued or running (with their
   * deliveries). Decisions, changes, alerts and the audit log are never pruned.
   */
  pruneRetained(cutoffs: RetentionCutoffs, limit: number): Promise<RetentionPruned>;


  getCursor(tenant: string, name: string): Promise<unknown>;
  setCursor(tenant: string, name: string, value: unknown, now: Date): Promise<void>;

  /**
   * Detection state of (tenant, rule, key), locked until the transaction
   * ends so concurrent workers correlate one key one at a time. Call inside
   * a transaction.
   */
  lockDetectionState(tenant: string, rule: string, key: string): Promise<DetectionStateRow | undefined>;
  /** Writes (inserts or replaces) detection state. */
  putDetectionState(row: DetectionStateRow): Promise<void>;
  deleteDetectionState(tenant: string, rule: string, key: string): Promise<void>;
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

  putAlert(alert: Alert): Promise<void>;
  /** Replaces a stored alert (grouping, closing). */
  updateAlert(alert: Alert): Promise<void>;
  getAlert(tenant: string, id: string): Promise<Alert | undefined>;
  /**
   * The most recent open alert on (tenant, key) whose last change is at or
   * after `lastAtFrom`, locked, after taking a lock on (tenant, key) for the
   * rest of the transaction: two matches on one person never race into two
   * alerts. Call inside a transaction.
   */
  lockOpenAlert(tenant: string, key: string, lastAtFrom: Date): Promise<Alert | undefined>;
  /** Open alerts on any of `keys` updated at or after `since`, most severe then newest first. */
  openAlertsFor(tenant: string, keys: readonly string[], since: Date, limit: number): Promise<Alert[]>;
  /** Alerts of a tenant, newest first. */
  listAlerts(tenant: string, query: AlertQuery): Promise<Alert[]>;

  putApiKey(key: ApiKeyRow): Promise<void>;
  getApiKey(id: string): Promise<ApiKeyRow | undefined>;
  listApiKeys(tenant: string): Promise<ApiKeyRow[]>;
  revokeApiKey(id: string, now: Date): Promise<boolean>;
}

/** Work done inside a transaction: all of it commits, or none of it. */
export type StoreTx = StoreOps;

export interface Store extends StoreOps {
  readonly driver: 'pglite' | 'postgres';
  /** Where the data lives, for the start-up log (never includes a password). */
  readonly location: string;
  /** What a crash or power loss can cost with this store, for the start-up log. */
  readonly durability: string;
  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  /** Applied migration versions, oldest first. */
  migrations(): Promise<number[]>;
  ping(): Promise<void>;
  /**
   * Embedded store only: tells other processes, through the data-directory
   * lock, where this process serves the CLI's admin operations.
   */
  announceAdminSocket?(path: string): void;
  close(): Promise<void>;
}
