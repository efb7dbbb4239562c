import type { Approval, ChangeRequest, Evidence, RequestState } from '../../core/change-request.js';
import type { DecidedChange } from './decision-store.js';

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

/** Change requests (src/requests) with their evidence and approvals, and their matching to held changes: part of the Store port (src/store/store.ts). */
export interface RequestStore {
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
