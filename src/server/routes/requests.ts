import type { Clock } from '../../core/clock.js';
import express, { type Request, type Response, type Router } from 'express';
import type { z } from 'zod';
import { WardenError } from '../../core/errors.js';
import type { Caller } from '../../requests/caller.js';
import {
  CallbackBody,
  CancelBody,
  CompleteReviewBody,
  CreateExceptionBody,
  CreateRequestBody,
  DecideBody,
  ReasonBody,
  RequestListQuery,
  TenantBody,
  TicketBody,
} from '../../requests/request-api-schemas.js';
import { reportCsv } from '../../requests/accountability-report.js';
import type { Workflow } from '../../requests/workflow.js';
import type { OnCommit } from '../../requests/request-context.js';
import type { ApiPrincipal } from '../../access/api-keys.js';
import { idempotent } from '../idempotency.js';
import { COMMON_ERRORS, type RouteDoc } from '../openapi.js';
import { validationError } from '../../core/validation-error.js';
import { sinceToIso } from '../../core/since-to-iso.js';
import type { Store } from '../../store/store.js';

const problem = (description: string) => ({ description, schema: 'Problem', contentType: 'application/problem+json' });
const PEOPLE = ['apiKey', 'idpToken'] as const;
const ERRORS = {
  ...COMMON_ERRORS,
  401: problem('Missing or invalid API key or IdP token (ERR_AUTH_REQUIRED, ERR_AUTH_INVALID, ERR_TOKEN_EXPIRED)'),
  403: problem(
    'Not allowed: another tenant, missing scope or role (ERR_FORBIDDEN), separation of duties (ERR_SOD_VIOLATION), or a name the IdP does not know (ERR_IDENTITY_UNRESOLVED)',
  ),
  404: problem('Unknown tenant (ERR_TENANT_UNKNOWN) or request (ERR_NOT_FOUND)'),
  409: problem("Not possible in the request's state (ERR_ILLEGAL_TRANSITION), or already done (ERR_DUPLICATE_APPROVAL, ERR_CONFLICT)"),
  422: problem(
    'Idempotency-Key reused for another request (ERR_IDEMPOTENCY_MISMATCH), evidence refused (ERR_EVIDENCE_REJECTED), or a change the policy refuses whatever a request says (ERR_POLICY_FORBIDS)',
  ),
  502: problem('The IdP or the ITSM could not be reached (ERR_UPSTREAM)'),
} as const;
const IDEMPOTENT =
  ' Send an `Idempotency-Key` header to make retries safe: a retry returns the first response (`Idempotent-Replayed: true`) and creates nothing new.';

/** The change-request routes, documented in /openapi.json. */
export const requestRoutes: RouteDoc[] = [
  {
    method: 'post',
    path: '/v1/requests',
    summary: 'File a change request',
    description:
      'The help desk (or a ServiceNow, Okta Workflows or Logic Apps flow) files a request for a high-risk change. The tenant policy, evaluated on the proposed change, fixes what it needs (proofing level, ticket, approvers, ttl); ' +
      'the ticket is checked at once. With `breakGlass`, the request is approved at once, an alert goes out and a review is due.' +
      IDEMPOTENT,
    tags: ['requests'],
    auth: true,
    security: [...PEOPLE],
    requestBody: 'CreateRequestBody',
    responses: { 201: { description: 'The request', schema: 'RequestView' }, ...ERRORS },
  },
  {
    method: 'get',
    path: '/v1/requests',
    summary: 'List change requests',
    description: 'Newest first, filtered; pass `nextCursor` back as `cursor` for the next page.',
    tags: ['requests'],
    auth: true,
    security: [...PEOPLE],
    query: 'RequestListQuery',
    responses: { 200: { description: 'A page of requests', schema: 'RequestList' }, ...ERRORS },
  },
  {
    method: 'get',
    path: '/v1/requests/:id',
    summary: 'Read a change request',
    tags: ['requests'],
    auth: true,
    security: [...PEOPLE],
    query: 'TenantQuery',
    responses: { 200: { description: 'The request', schema: 'RequestView' }, ...ERRORS },
  },
  {
    method: 'post',
    path: '/v1/requests/:id/cancel',
    summary: 'Cancel an open request',
    description: IDEMPOTENT,
    tags: ['requests'],
    auth: true,
    security: [...PEOPLE],
    requestBody: 'CancelBody',
    responses: { 200: { description: 'The request', schema: 'RequestView' }, ...ERRORS },
  },
  {
    method: 'post',
    path: '/v1/requests/:id/ticket',
    summary: 'Check and attach a ticket',
    description:
      "Reads the ticket from the ITSM and checks it: exists, open and in an allowed state, assigned to the executor's team, references the target, not raised from the target's own mailbox or session." +
      IDEMPOTENT,
    tags: ['requests'],
    auth: true,
    security: [...PEOPLE],
    requestBody: 'TicketBody',
    responses: { 200: { description: 'The request', schema: 'RequestView' }, ...ERRORS },
  },
  {
    method: 'post',
    path: '/v1/requests/:id/proofing/push',
    summary: 'Proof the requester with a push to their enrolled factor',
    description: "Sends an Okta Verify push to the target's factor (refused when the factor was enrolled or changed recently). Poll the transaction.",
    tags: ['proofing'],
    auth: true,
    security: [...PEOPLE],
    requestBody: 'TenantBody',
    responses: { 202: { description: 'Push sent', schema: 'PushStarted' }, ...ERRORS },
  },
  {
    method: 'post',
    path: '/v1/requests/:id/proofing/push/:transactionId',
    summary: 'Poll a push verification',
    tags: ['proofing'],
    auth: true,
    security: [...PEOPLE],
    requestBody: 'TenantBody',
    responses: { 200: { description: 'Its state', schema: 'PushResult' }, ...ERRORS },
  },
  {
    method: 'post',
    path: '/v1/requests/:id/proofing/callback',
    summary: 'Record a callback on a number of record',
    description: 'Refused when the number came from the caller or changed recently.' + IDEMPOTENT,
    tags: ['proofing'],
    auth: true,
    security: [...PEOPLE],
    requestBody: 'CallbackBody',
    responses: { 200: { description: 'The request', schema: 'RequestView' }, ...ERRORS },
  },
  {
    method: 'post',
    path: '/v1/requests/:id/proofing/attest',
    summary: "Attest as the target's manager",
    description: 'Only the manager the IdP names, signed in with a recent MFA.' + IDEMPOTENT,
    tags: ['proofing'],
    auth: true,
    security: ['idpToken'],
    requestBody: 'TenantBody',
    responses: { 200: { description: 'The request', schema: 'RequestView' }, ...ERRORS },
  },
  {
    method: 'post',
    path: '/v1/requests/:id/approve',
    summary: 'Approve a request',
    description:
      'A person with the approver role, from a source the policy names, signed in with a recent MFA; never the requester, target, executor or filer, never twice. 401 with a step-up challenge when the sign-in is too old.' +
      IDEMPOTENT,
    tags: ['approvals'],
    auth: true,
    security: ['idpToken'],
    requestBody: 'DecideBody',
    responses: { 200: { description: 'The request', schema: 'RequestView' }, ...ERRORS },
  },
  {
    method: 'post',
    path: '/v1/requests/:id/reject',
    summary: 'Reject a request (ends it)',
    description: IDEMPOTENT,
    tags: ['approvals'],
    auth: true,
    security: ['idpToken'],
    requestBody: 'DecideBody',
    responses: { 200: { description: 'The request', schema: 'RequestView' }, ...ERRORS },
  },
  {
    method: 'post',
    path: '/v1/requests/:id/execute',
    summary: 'Have Warden perform an approved request (broker mode)',
    description: 'Once per request; a retry returns the result without the secret. The secret (a TAP) is shown in this response only.',
    tags: ['requests'],
    auth: true,
    security: [...PEOPLE],
    requestBody: 'TenantBody',
    responses: { 200: { description: 'What was done', schema: 'BrokerResultBody' }, ...ERRORS },
  },
  {
    method: 'get',
    path: '/v1/reviews',
    summary: 'List reviews',
    description: '`state=overdue` lists open reviews past their due time.',
    tags: ['reviews'],
    auth: true,
    security: [...PEOPLE],
    query: 'ReviewQuery',
    responses: { 200: { description: 'Reviews', schema: 'ReviewList' }, ...ERRORS },
  },
  {
    method: 'post',
    path: '/v1/reviews/:id/complete',
    summary: 'Complete a break-glass review',
    description: IDEMPOTENT,
    tags: ['reviews'],
    auth: true,
    security: ['idpToken'],
    requestBody: 'CompleteReviewBody',
    responses: { 200: { description: 'The review', schema: 'Review' }, ...ERRORS },
  },
  {
    method: 'get',
    path: '/v1/exceptions',
    summary: 'List policy exceptions',
    tags: ['exceptions'],
    auth: true,
    security: [...PEOPLE],
    query: 'TenantQuery',
    responses: { 200: { description: 'Exceptions', schema: 'ExceptionList' }, ...ERRORS },
  },
  {
    method: 'post',
    path: '/v1/exceptions',
    summary: 'Grant a policy exception (admin)',
    description: IDEMPOTENT,
    tags: ['exceptions'],
    auth: true,
    security: ['idpToken'],
    requestBody: 'CreateExceptionBody',
    responses: { 201: { description: 'The exception', schema: 'ExceptionView' }, ...ERRORS },
  },
  {
    method: 'post',
    path: '/v1/exceptions/:id/revoke',
    summary: 'Revoke a policy exception (admin)',
    description: IDEMPOTENT,
    tags: ['exceptions'],
    auth: true,
    security: ['idpToken'],
    requestBody: 'TenantBody',
    responses: { 200: { description: 'The exception', schema: 'ExceptionView' }, ...ERRORS },
  },
  {
    method: 'get',
    path: '/v1/requests/:id/evidence',
    summary: "A request's evidence bundle (auditor, admin)",
    description:
      'One JSON document: the request, its transitions, proofing evidence, approvals, the change it matched and the decision, and every audit record about them ' +
      'verbatim with its chain digests (`hash` = SHA-256 of `record`; `prevHash` as the record names it), and the chain head when it was made. ' +
      '`warden requests bundle <id> --tenant …` prints the same.',
    tags: ['requests'],
    auth: true,
    security: [...PEOPLE],
    query: 'TenantQuery',
    responses: { 200: { description: 'The evidence bundle (JSON)' }, ...ERRORS },
  },
  {
    method: 'post',
    path: '/v1/holds/:decisionId/release',
    summary: 'Release a held change, with a reason (admin)',
    description:
      'What `warden holds release` does, for a person signed in with the IdP (admin, recent multi-factor sign-in): cancels containment not yet started, queues the undo of what ran, audits and publishes `hold.released`. ' +
      'A decision that allowed its change, or one released before, is refused (409).' +
      IDEMPOTENT,
    tags: ['holds'],
    auth: true,
    security: ['idpToken'],
    requestBody: 'ReasonBody',
    responses: { 200: { description: 'What the release did: cancelled actions and undo actions queued' }, ...ERRORS },
  },
  {
    method: 'get',
    path: '/v1/reports/accountability',
    summary: 'The accountability report',
    description:
      'For every change: who asked, who verified and how, who approved, who executed, which ticket; unmatched changes; break-glass and exceptions with their review state. `format=csv` for a spreadsheet.',
    tags: ['reports'],
    auth: true,
    security: [...PEOPLE],
    query: 'ReportQuery',
    responses: { 200: { description: 'The report (JSON, or CSV with format=csv)' }, ...ERRORS },
  },
  {
    method: 'post',
    path: '/hooks/verifiers/:tenant/:verifier',
    summary: 'Identity-verification evidence from an external verifier',
    description:
      "Signed with the verifier's secret (Standard Webhooks headers `webhook-id`, `webhook-timestamp`, `webhook-signature`); bound to the request and its target. A message counts once.",
    tags: ['proofing'],
    security: ['webhookSignature'],
    requestBody: 'ExternalEvidenceBody',
    responses: {
      200: { description: 'Accepted', schema: 'RequestView' },
      401: problem('Missing or bad signature'),
      404: problem('Unknown verifier or request'),
      422: problem('Evidence refused (ERR_EVIDENCE_REJECTED): another person, too old, not verified'),
    },
  },
];

/** The authenticated caller of a request: a person (OIDC) or a machine (API key). */
export function callerOf(res: Response): Caller {
  const user = res.locals.user as Caller | undefined;
  if (user) return user;
  const key = res.locals.principal as ApiPrincipal | undefined;
  if (!key) throw new WardenError('ERR_AUTH_REQUIRED', 'sign in or use an API key');
  return { type: 'api_key', tenant: key.tenant, id: key.keyId, name: key.name, scopes: key.scopes };
}

function parse<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw validationError(parsed.error, what);
  return parsed.data;
}

/** What the change-request routes need. */
export interface RequestRouteDeps {
  workflow: Workflow;
  store: Store;
  /** The server's clock (idempotency records, report windows). */
  clock: Clock;
  has(tenant: string): boolean;
}

/** `?tenant=` or the caller's own tenant; must be configured. */
function tenantFrom(req: Request, caller: Caller, deps: RequestRouteDeps): string {
  const q = typeof req.query.tenant === 'string' ? req.query.tenant : undefined;
  const tenant = q ?? (caller.type === 'user' || caller.type === 'api_key' ? caller.tenant : undefined);
  if (!tenant) throw new WardenError('ERR_VALIDATION', 'name the tenant: ?tenant=');
  if (!deps.has(tenant)) throw new WardenError('ERR_TENANT_UNKNOWN', `unknown tenant "${tenant}"`);
  return tenant;
}

function known(deps: RequestRouteDeps, tenant: string): string {
  if (!deps.has(tenant)) throw new WardenError('ERR_TENANT_UNKNOWN', `unknown tenant "${tenant}"`);
  return tenant;
}

/** Mounts the change-request API under /v1 (behind authentication). */
export function mountRequests(router: Router, deps: RequestRouteDeps): void {
  const { workflow, store, clock } = deps;
  const id = (req: Request) => String(req.params.id);

  /**
   * A POST that changes something: the caller, the body parsed (`what` names
   * it in errors), its tenant checked, and the operation run once per
   * Idempotency-Key, answered with `status`.
   */
  const changing = <T extends z.ZodType<{ tenant: string }>>(
    path: string,
    schema: T,
    what: string,
    status: number,
    run: (call: { req: Request; tenant: string; body: z.infer<T>; caller: Caller; onCommit: OnCommit | undefined }) => Promise<unknown>,
  ) =>
    router.post(path, async (req, res) => {
      const caller = callerOf(res);
      const body = parse(schema, req.body, what);
      const tenant = known(deps, body.tenant);
      await idempotent(req, res, store, clock, tenant, caller, async (onCommit) => ({ status, body: await run({ req, tenant, body, caller, onCommit }) }));
    });

  changing('/v1/requests', CreateRequestBody, 'the change request', 201, ({ body, caller, onCommit }) => workflow.create(body, caller, onCommit));

  router.get('/v1/requests', async (req, res) => {
    const caller = callerOf(res);
    const tenant = tenantFrom(req, caller, deps);
    const q = parse(RequestListQuery, { ...req.query, tenant }, 'the query');
    const page = await workflow.list(
      tenant,
      {
        ...(q.state ? { state: q.state } : {}),
        ...(q.kind ? { kind: q.kind } : {}),
        ...(q.target ? { targetId: q.target } : {}),
        ...(q.requester ? { requesterId: q.requester } : {}),
        ...(q.executor ? { executorId: q.executor } : {}),
        ...(q.createdFrom ? { createdFrom: new Date(q.createdFrom) } : {}),
        ...(q.createdTo ? { createdTo: new Date(q.createdTo) } : {}),
      },
      q.limit,
      q.cursor,
      caller,
    );
    res.json(page);
  });

  router.get('/v1/requests/:id', async (req, res) => {
    const caller = callerOf(res);
    res.json(await workflow.get(tenantFrom(req, caller, deps), id(req), caller));
  });

  changing('/v1/requests/:id/cancel', CancelBody, 'the cancellation', 200, ({ req, tenant, body, caller, onCommit }) =>
    workflow.cancel(tenant, id(req), body.reason, caller, onCommit),
  );

  changing('/v1/requests/:id/ticket', TicketBody, 'the ticket', 200, ({ req, tenant, body, caller, onCommit }) =>
    workflow.attachTicket(tenant, id(req), { system: body.system, id: body.id }, caller, onCommit),
  );

  changing('/v1/requests/:id/proofing/push', TenantBody, 'the body', 202, ({ req, tenant, caller, onCommit }) =>
    workflow.startPush(tenant, id(req), caller, onCommit),
  );

  router.post('/v1/requests/:id/proofing/push/:transactionId', async (req, res) => {
    const caller = callerOf(res);
    const tenant = known(deps, parse(TenantBody, req.body, 'the body').tenant);
    res.json(await workflow.pollPush(tenant, id(req), String(req.params.transactionId), caller));
  });

  changing('/v1/requests/:id/proofing/callback', CallbackBody, 'the callback', 200, ({ req, body, caller, onCommit }) =>
    workflow.recordCallback(id(req), body, caller, onCommit),
  );

  changing('/v1/requests/:id/proofing/attest', TenantBody, 'the body', 200, ({ req, tenant, caller, onCommit }) =>
    workflow.attest(tenant, id(req), caller, onCommit),
  );

  for (const verdict of ['approve', 'reject'] as const)
    changing(
      `/v1/requests/:id/${verdict}`,
      DecideBody,
      `the ${verdict === 'approve' ? 'approval' : 'rejection'}`,
      200,
      ({ req, tenant, body, caller, onCommit }) => workflow.decide(tenant, id(req), verdict, body.comment, caller, onCommit),
    );

  router.post('/v1/requests/:id/execute', async (req, res) => {
    const caller = callerOf(res);
    const tenant = known(deps, parse(TenantBody, req.body, 'the body').tenant);
    // Idempotent by itself (the broker acts once per request); the secret is never stored for a replay.
    const outcome = await workflow.execute(tenant, id(req), caller);
    res.setHeader('Cache-Control', 'no-store');
    if (outcome.replayed) res.setHeader('Idempotent-Replayed', 'true');
    res.json(outcome);
  });

  router.get('/v1/reviews', async (req, res) => {
    const caller = callerOf(res);
    const tenant = tenantFrom(req, caller, deps);
    const state = req.query.state;
    if (state !== undefined && state !== 'open' && state !== 'done' && state !== 'overdue')
      throw new WardenError('ERR_VALIDATION', 'state is open, done or overdue');
    const items = state === 'overdue' ? await workflow.overdueReviews(tenant, caller) : await workflow.listReviews(tenant, state, caller);
    res.json({ items });
  });

  changing('/v1/reviews/:id/complete', CompleteReviewBody, 'the review', 200, ({ req, tenant, body, caller, onCommit }) =>
    workflow.completeReview(tenant, id(req), body, caller, onCommit),
  );

  router.get('/v1/exceptions', async (req, res) => {
    const caller = callerOf(res);
    res.json({ items: await workflow.listExceptions(tenantFrom(req, caller, deps), caller) });
  });

  changing('/v1/exceptions', CreateExceptionBody, 'the exception', 201, ({ body, caller, onCommit }) => workflow.createException(body, caller, onCommit));

  changing('/v1/exceptions/:id/revoke', TenantBody, 'the body', 200, ({ req, tenant, caller, onCommit }) =>
    workflow.revokeException(tenant, id(req), caller, onCommit),
  );

  router.get('/v1/requests/:id/evidence', async (req, res) => {
    const caller = callerOf(res);
    res.json(await workflow.evidenceBundle(tenantFrom(req, caller, deps), id(req), caller));
  });

  router.post('/v1/holds/:decisionId/release', async (req, res) => {
    const caller = callerOf(res);
    const body = parse(ReasonBody, req.body, 'the body');
    const tenant = known(deps, body.tenant);
    await idempotent(req, res, store, clock, tenant, caller, async (onCommit) => ({
      status: 200,
      body: await workflow.releaseHold(tenant, String(req.params.decisionId), body.reason, caller, onCommit),
    }));
  });

  router.get('/v1/reports/accountability', async (req, res) => {
    const caller = callerOf(res);
    const tenant = tenantFrom(req, caller, deps);
    const now = workflow.ctx.now();
    const since = new Date(sinceToIso(typeof req.query.since === 'string' ? req.query.since : '30d', now));
    const until = typeof req.query.until === 'string' ? new Date(sinceToIso(req.query.until, now)) : now;
    const report = await workflow.report(tenant, since, until, caller);
    if (req.query.format === 'csv') res.type('text/csv').send(reportCsv(report));
    else res.json(report);
  });
}

/** Mounts the external verifiers' callback (signed, not behind API-key authentication). */
export function mountVerifierHooks(router: Router, deps: { workflow: Workflow; has(tenant: string): boolean; bodyBytes: number }): void {
  router.post('/hooks/verifiers/:tenant/:verifier', express.text({ type: () => true, limit: deps.bodyBytes }), async (req, res) => {
    const tenant = String(req.params.tenant);
    if (!deps.has(tenant)) throw new WardenError('ERR_TENANT_UNKNOWN', `unknown tenant "${tenant}"`);
    const raw = typeof req.body === 'string' ? req.body : '';
    const result = await deps.workflow.acceptVerifierEvidence(tenant, String(req.params.verifier), (name) => req.get(name), raw);
    if (result.duplicate) res.setHeader('Idempotent-Replayed', 'true');
    res.json(result.request);
  });
}
