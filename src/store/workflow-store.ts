import type { Approval, ChangeRequest, Evidence, RequestState, Review } from '../core/change-request.js';
import type { Decision } from '../core/decision.js';
import type { IdentityChange } from '../core/identity-change.js';
import type { PolicyException } from '../core/policy-exception.js';

/**
 * Store operations of the change-request workflow (src/requests) and of the
 * outbound event publisher (src/notify), part of the Store port
 * (src/store/store.ts). Both drivers implement them in SQL
 * (sql-workflow-store.ts, sql-notify-store.ts) and run the contract suite.
 */

/** Filters of a request listing; every one optional. */
export interface RequestFilter {
  state?: RequestState;
  kind?: string;
  targetId?: string;
  requesterId?: string;
  executorId?: string;
  createdFrom?: Date;
  createdTo?: Date;
}

/** Position after which a listing continues (newest first): the last row's creation time and id. */
export interface RequestCursor {
  createdAt: string;
  id: string;
}

/** A stored idempotent response. */
export interface IdempotencyRecord {
  tenant: string;
  /** The caller: API key id or the person's subject. */
  principal: string;
  key: string;
  /** Hash of method, path and body: a key reused for another call is refused. */
  fingerprint: string;
  status: number;
  response: unknown;
  createdAt: string;
}

/** A decision with the change it decided (reports). */
export interface DecidedChange {
  decision: Decision;
  change: IdentityChange;
}

/** The change-request workflow's store operations. */
export interface WorkflowStoreOps {
  /** Stores a new request. */
  putRequest(request: ChangeRequest): Promise<void>;
  /** Writes a request's new state and body (same id); `consumed.changeId` is unique per tenant: a change consumes one request. */
  updateRequest(request: ChangeRequest): Promise<void>;
  /** A request; `lock` takes its row lock until the transaction ends (use inside a transaction). */
  getRequest(tenant: string, id: string, options?: { lock?: boolean }): Promise<ChangeRequest | undefined>;
  /** Requests newest first, after `cursor`, at most `limit`. */
  listRequests(tenant: string, filter: RequestFilter, limit: number, cursor?: RequestCursor): Promise<ChangeRequest[]>;
  /**
   * Approved, unconsumed requests for a target and kind, locked (skipping
   * none: a concurrent match waits, then sees the request consumed), those
   * still valid at `at` first, then the most recently approved.
   */
  approvedRequestsFor(tenant: string, targetId: string, kind: string, at: Date, limit: number): Promise<ChangeRequest[]>;
  /** The request a change consumed, if any. */
  getRequestByChange(tenant: string, changeId: string): Promise<ChangeRequest | undefined>;
  /** Open or approved requests whose `expiresAt` is before `now`, locked and skipping rows others hold. */
  claimExpiredRequests(now: Date, limit: number): Promise<ChangeRequest[]>;

  putEvidence(evidence: Evidence): Promise<{ inserted: boolean }>;
  listEvidence(tenant: string, requestId: string): Promise<Evidence[]>;

  /** Records an approver's verdict; false when that approver already gave one on this request. */
  putApproval(approval: Approval): Promise<boolean>;
  listApprovals(tenant: string, requestId: string): Promise<Approval[]>;

  getIdempotency(tenant: string, principal: string, key: string): Promise<IdempotencyRecord | undefined>;
  /** Stores a response; false when the key exists already (a concurrent retry won). */
  putIdempotency(record: IdempotencyRecord): Promise<boolean>;

  putReview(review: Review): Promise<void>;
  updateReview(review: Review): Promise<void>;
  getReview(tenant: string, id: string): Promise<Review | undefined>;
  /** Reviews of a tenant (all tenants when undefined), by state and due before a time, soonest due first. */
  listReviews(tenant: string | undefined, filter: { state?: 'open' | 'done'; dueBefore?: Date }, limit: number): Promise<Review[]>;

  putException(exception: PolicyException): Promise<void>;
  getException(tenant: string, id: string): Promise<PolicyException | undefined>;
  revokeException(tenant: string, id: string, at: Date): Promise<boolean>;
  /** Exceptions of a tenant; with `target`, only those naming one of these names (compared lower-case). */
  listExceptions(tenant: string, filter: { targets?: readonly string[] }): Promise<PolicyException[]>;

  /** Decisions of a tenant decided in [from, to), oldest first, with their changes. */
  listDecidedChanges(tenant: string, from: Date, to: Date, limit: number): Promise<DecidedChange[]>;
  /**
   * Changes to `targetId` of this kind that occurred in [from, to], reported by
   * a connector (not proposed through /v1/decisions), whose decision held them,
   * not released and not consumed by a request: what an approval may release.
   * Oldest change first; the decisions are locked until the transaction ends.
   */
  heldChangesFor(tenant: string, targetId: string, kind: string, from: Date, to: Date, limit: number): Promise<DecidedChange[]>;
  /**
   * Serializes, until the transaction ends, the transactions that match
   * requests to held changes of this target and kind: an approval looking for
   * the held changes it covers, and a decision that holds a change looking for
   * the approved request that covers it. Whichever comes second sees the
   * other's commit, so a hold and an approval made at the same moment are not
   * both missed.
   */
  lockRequestMatching(tenant: string, targetId: string, kind: string): Promise<void>;
}

/** An outbound event as queued: its exact body is signed on every delivery attempt. */
export interface NotifyEventRow {
  id: string;
  tenant: string;
  type: string;
  body: string;
  createdAt: Date;
}

/** One delivery of an event to one endpoint, with its event. */
export interface DeliveryRow {
  id: number;
  eventId: string;
  tenant: string;
  endpoint: string;
  state: 'queued' | 'running' | 'delivered' | 'failed';
  attempts: number;
  nextAttemptAt: Date;
  lastStatus?: number;
  lastError?: string;
  deliveredAt?: Date;
  /** The event it delivers. */
  event: NotifyEventRow;
}

/** Which deliveries a worker takes: signed webhooks, chat and e-mail channels, or "this wasn't me" notices. */
export type DeliveryKind = 'webhook' | 'channel' | 'notme';

/** A "this wasn't me" link as stored: what it is bound to, until when, and whether it was used. */
export interface NotMeLinkRow {
  /** Random id, carried in the signed link. */
  id: string;
  tenant: string;
  /** The person the link was sent to (IdP user id). */
  personId: string;
  /** What it is about: a help-desk request, or a decided change made by someone else. */
  subject: { kind: 'request' | 'change'; id: string };
  createdAt: Date;
  expiresAt: Date;
  usedAt?: Date;
  outcome?: 'not_me' | 'was_me';
}

/** The outbound event queue's store operations. */
export interface NotifyStoreOps {
  /** Queues an event and one delivery per endpoint. */
  putNotifyEvent(event: NotifyEventRow, endpoints: readonly string[]): Promise<void>;
  /**
   * Takes up to `limit` due deliveries (queued, or running with an expired
   * lease) of one kind: `webhook` (the default) takes endpoints without a
   * prefix; `channel` takes `channel:<name>` (chat and e-mail), `notme` takes
   * `notme:<name>` (the affected person's notice). Webhook names cannot hold
   * a colon, so the kinds never overlap.
   */
  claimDeliveries(limit: number, now: Date, leaseSeconds: number, kind?: DeliveryKind): Promise<DeliveryRow[]>;
  completeDelivery(id: number, now: Date, status: number): Promise<void>;
  /** Records a failed attempt: retried at `retryAt`, or failed for good when null. */
  failDelivery(id: number, now: Date, error: string, status: number | null, retryAt: Date | null): Promise<void>;
  /** Deliveries of a tenant, newest first (operators, tests), optionally only those in `filter.state` or of `filter.kind`. */
  listDeliveries(tenant: string, limit: number, filter?: { state?: DeliveryRow['state']; kind?: DeliveryKind }): Promise<DeliveryRow[]>;
  /** Stores a "this wasn't me" link (src/requests/not-me); its id is the link's single-use key. */
  putNotMeLink(link: NotMeLinkRow): Promise<void>;
  /** A link, locked for the transaction when asked (redeeming it). */
  getNotMeLink(tenant: string, id: string, options?: { lock?: boolean }): Promise<NotMeLinkRow | undefined>;
  /** Marks a link used, once: false when it was used already. */
  useNotMeLink(tenant: string, id: string, outcome: 'not_me' | 'was_me', at: Date): Promise<boolean>;
  /** How many links were issued for a person since `since` (rate limit). */
  countNotMeLinks(tenant: string, personId: string, since: Date): Promise<number>;
}
