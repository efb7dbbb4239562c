import type { ChangeRequest, Review } from '../core/change-request.js';
import { WardenError } from '../core/errors.js';
import type { DecisionWorkflow } from '../engine/decide-change.js';
import { accountabilityReport, type AccountabilityReport } from './accountability-report.js';
import { decideRequest } from './approve-request.js';
import { attachTicket } from './attach-ticket.js';
import { authorizeCaller, type Caller } from './caller.js';
import { cancelRequest } from './cancel-request.js';
import { createRequest } from './create-request.js';
import { executeBrokeredRequest, type BrokerOutcome } from './execute-brokered-request.js';
import { sweepWorkflow } from './expire-requests.js';
import { decisionWorkflow } from './match-change-request.js';
import { createException, listExceptions, revokeException, type ExceptionState } from './policy-exceptions.js';
import { acceptVerifierEvidence, attestAsManager, pollPush, recordCallback, startPush } from './prove-identity.js';
import type { CallbackInput, CreateExceptionInput, CreateRequestBody } from './request-api-schemas.js';
import { completeReview, listReviews, overdueReviews } from './reviews.js';
import { WorkflowContext, type OnCommit, type RequestView, type WorkflowDeps } from './request-context.js';
import type { RequestFilter } from '../store/store.js';
import type { Alert } from '../core/alert.js';
import type { ReleaseResult } from '../engine/release-hold.js';
import { closeAlert } from './close-alert.js';
import { evidenceBundle, type EvidenceBundle } from './evidence-bundle.js';
import { releaseHeldChange } from './release-held-change.js';

/** A page of requests and where the next one starts. */
export interface RequestPage {
  items: RequestView[];
  nextCursor?: string;
}

function encodeCursor(r: ChangeRequest): string {
  return Buffer.from(JSON.stringify({ c: r.createdAt, i: r.id })).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: string; id: string } {
  try {
    const { c, i } = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { c: unknown; i: unknown };
    if (typeof c !== 'string' || typeof i !== 'string' || Number.isNaN(Date.parse(c)) || !/^[0-9a-f-]{36}$/.test(i))
      throw new WardenError('ERR_VALIDATION', 'bad cursor');
    return { createdAt: c, id: i };
  } catch {
    throw new WardenError('ERR_VALIDATION', 'cursor is not one Warden gave out', { details: [{ path: ['cursor'], message: 'invalid', code: 'custom' }] });
  }
}

/**
 * The change-request workflow (design §5): one object the HTTP API, the CLI
 * and the decision pipeline call. Every operation authorizes its caller and
 * enforces separation of duties itself, whatever the interface.
 */
export class Workflow {
  readonly ctx: WorkflowContext;

  constructor(deps: WorkflowDeps) {
    this.ctx = new WorkflowContext(deps);
  }

  /** What decisions ask of the workflow: request matching and consumption, exceptions. */
  decisionWorkflow(): DecisionWorkflow {
    return decisionWorkflow(this.ctx);
  }

  create(input: CreateRequestBody, caller: Caller, onCommit?: OnCommit): Promise<RequestView> {
    return createRequest(this.ctx, input, caller, onCommit);
  }

  async get(tenant: string, id: string, caller: Caller): Promise<RequestView> {
    authorizeCaller(caller, tenant, { roles: ['helpdesk', 'approver', 'admin', 'auditor'], scope: 'requests:read', what: 'reading change requests' });
    const request = await this.ctx.store.getRequest(tenant, id);
    if (!request) throw new WardenError('ERR_NOT_FOUND', `no change request ${id} in tenant ${tenant}`);
    return this.ctx.store.transaction((tx) => this.ctx.view(tx, request));
  }

  async list(tenant: string, filter: RequestFilter, limit: number, cursor: string | undefined, caller: Caller): Promise<RequestPage> {
    authorizeCaller(caller, tenant, { roles: ['helpdesk', 'approver', 'admin', 'auditor'], scope: 'requests:read', what: 'reading change requests' });
    const rows = await this.ctx.store.listRequests(tenant, filter, limit + 1, cursor ? decodeCursor(cursor) : undefined);
    const page = rows.slice(0, limit);
    const items = await this.ctx.store.transaction((tx) => Promise.all(page.map((r) => this.ctx.view(tx, r))));
    return { items, ...(rows.length > limit ? { nextCursor: encodeCursor(page[page.length - 1]!) } : {}) };
  }

  cancel(tenant: string, id: string, reason: string, caller: Caller, onCommit?: OnCommit): Promise<RequestView> {
    return cancelRequest(this.ctx, tenant, id, reason, caller, onCommit);
  }

  attachTicket(tenant: string, id: string, ref: { system: 'servicenow' | 'jira'; id: string }, caller: Caller, onCommit?: OnCommit): Promise<RequestView> {
    return attachTicket(this.ctx, tenant, id, ref, caller, onCommit);
  }

  startPush(tenant: string, id: string, caller: Caller, onCommit?: OnCommit) {
    return startPush(this.ctx, tenant, id, caller, onCommit);
  }

  pollPush(tenant: string, id: string, transactionId: string, caller: Caller) {
    return pollPush(this.ctx, tenant, id, transactionId, caller);
  }

  recordCallback(id: string, input: CallbackInput, caller: Caller, onCommit?: OnCommit): Promise<RequestView> {
    return recordCallback(this.ctx, id, input, caller, onCommit);
  }

  attest(tenant: string, id: string, caller: Caller, onCommit?: OnCommit): Promise<RequestView> {
    return attestAsManager(this.ctx, tenant, id, caller, onCommit);
  }

  acceptVerifierEvidence(tenant: string, verifier: string, headers: (name: string) => string | undefined, rawBody: string) {
    return acceptVerifierEvidence(this.ctx, tenant, verifier, headers, rawBody);
  }

  decide(tenant: string, id: string, verdict: 'approve' | 'reject', comment: string | undefined, caller: Caller, onCommit?: OnCommit): Promise<RequestView> {
    return decideRequest(this.ctx, tenant, id, verdict, comment, caller, onCommit);
  }

  execute(tenant: string, id: string, caller: Caller): Promise<BrokerOutcome> {
    return executeBrokeredRequest(this.ctx, tenant, id, caller);
  }

  /** Expires requests past their time and reports overdue reviews (run periodically). */
  sweep(): Promise<{ expired: number; overdue: number }> {
    return sweepWorkflow(this.ctx);
  }

  listReviews(tenant: string, state: 'open' | 'done' | undefined, caller: Caller): Promise<Review[]> {
    return listReviews(this.ctx, tenant, state, caller);
  }

  overdueReviews(tenant: string | undefined, caller: Caller): Promise<Review[]> {
    return overdueReviews(this.ctx, tenant, caller);
  }

  completeReview(
    tenant: string,
    id: string,
    input: { outcome: 'justified' | 'unjustified'; notes: string },
    caller: Caller,
    onCommit?: OnCommit,
  ): Promise<Review> {
    return completeReview(this.ctx, tenant, id, input, caller, onCommit);
  }

  createException(input: CreateExceptionInput, caller: Caller, onCommit?: OnCommit): Promise<ExceptionState> {
    return createException(this.ctx, input, caller, onCommit);
  }

  revokeException(tenant: string, id: string, caller: Caller, onCommit?: OnCommit): Promise<ExceptionState> {
    return revokeException(this.ctx, tenant, id, caller, onCommit);
  }

  listExceptions(tenant: string, caller: Caller): Promise<ExceptionState[]> {
    return listExceptions(this.ctx, tenant, caller);
  }

  /** An admin releases a held change with a reason (the engine's release, as `warden holds release`). */
  releaseHold(tenant: string, decisionId: string, reason: string, caller: Caller, onCommit?: OnCommit): Promise<ReleaseResult> {
    return releaseHeldChange(this.ctx, tenant, decisionId, reason, caller, onCommit);
  }

  /** An admin closes an alert with a reason: audited and published (`alert.closed`). */
  closeAlert(tenant: string, id: string, reason: string, caller: Caller, onCommit?: OnCommit): Promise<Alert> {
    return closeAlert(this.ctx, tenant, id, reason, caller, onCommit);
  }

  /** A request's evidence bundle, for auditors: one JSON document with its audit records and their chain digests. */
  evidenceBundle(tenant: string, id: string, caller: Caller): Promise<EvidenceBundle> {
    return evidenceBundle(this.ctx, tenant, id, caller);
  }

  async report(tenant: string, since: Date, until: Date, caller: Caller): Promise<AccountabilityReport> {
    authorizeCaller(caller, tenant, { roles: ['admin', 'auditor'], scope: 'requests:read', what: 'the accountability report' });
    return accountabilityReport(this.ctx.store, tenant, since, until, this.ctx.now());
  }
}
