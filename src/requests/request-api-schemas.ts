import { z } from 'zod';
import { Approval, ChangeRequest, ContactChannel, Evidence, Justification, Party, RequestBrokerRun, RequestState, Review } from '../core/change-request.js';
import { ChangeContext, ChangeKind, Principal, TenantId } from '../core/identity-change.js';
import { PolicyException } from '../core/policy-exception.js';

/**
 * Bodies of the change-request API (`/v1/requests`, `/v1/reviews`,
 * `/v1/exceptions`, `/v1/reports`). Handlers validate with these and
 * /openapi.json is generated from them.
 */

const IsoTime = z.iso.datetime({ offset: true });

export const TargetInput = z
  .union([
    Principal.partial({ id: true })
      .extend({ id: z.string().min(1).max(256) })
      .strict(),
    z.object({ login: z.string().min(1).max(320) }).strict(),
  ])
  .describe(
    'The user whose credentials change: `{ "id" }` or `{ "login" }`, looked up in the IdP; without a directory connector, the full principal with `id`',
  );

export const CreateRequestBody = z
  .object({
    tenant: TenantId,
    kind: ChangeKind.describe('The change asked for, e.g. factor.reset_all, password.reset, tap.issue'),
    target: TargetInput,
    requester: Party.describe('The person asking (usually the target, on the phone)'),
    executor: Party.extend({ type: z.enum(['user', 'service']).default('user') })
      .strict()
      .optional()
      .describe('Who will perform the change; default: the signed-in caller'),
    justification: Justification,
    contact: z
      .object({ channel: ContactChannel, detail: z.string().max(256).optional() })
      .strict()
      .describe('How the requester reached the help desk'),
    context: ChangeContext.optional().describe(
      'Signals about the requester that raise the proofing level: mailboxRulesChangedAt, phoneChangedAt, deviceTrusted',
    ),
    changeChannel: z
      .enum(['helpdesk', 'admin', 'api'])
      .default('helpdesk')
      .describe('Channel the change will be made through (default helpdesk; brokered requests are api)'),
    broker: z.boolean().default(false).describe('Warden performs the change itself once approved (POST …/execute)'),
    options: z
      .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
      .optional()
      .describe('Broker options of the kind, e.g. { "lifetimeMinutes": 60, "oneTimeUse": true } for a TAP'),
    breakGlass: z
      .object({ reason: z.string().min(1).max(2000) })
      .strict()
      .optional()
      .describe('Declare break-glass: no proofing, ticket or approval; allowed at once, alerted, reviewed later'),
  })
  .strict()
  .describe('A change request: who asks, for whom, what, why, and who will do it');
export type CreateRequestBody = z.infer<typeof CreateRequestBody>;

export const RequestView = ChangeRequest.extend({
  evidence: z.array(Evidence),
  approvals: z.array(Approval),
  review: Review.optional(),
  brokered: RequestBrokerRun.optional(),
}).describe('A change request with its evidence, approvals and review');

export const RequestList = z
  .object({
    items: z.array(RequestView),
    nextCursor: z.string().optional().describe('Pass as `cursor` for the next page; absent on the last page'),
  })
  .describe('A page of change requests, newest first');

export const RequestListQuery = z
  .object({
    tenant: TenantId,
    state: RequestState.optional(),
    kind: ChangeKind.optional(),
    target: z.string().min(1).optional().describe('Target IdP id'),
    requester: z.string().min(1).optional(),
    executor: z.string().min(1).optional(),
    createdFrom: IsoTime.optional(),
    createdTo: IsoTime.optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().max(200).optional(),
  })
  .strict();

export const TenantBody = z.object({ tenant: TenantId }).strict();

export const CancelBody = z
  .object({ tenant: TenantId, reason: z.string().min(1).max(2000) })
  .strict()
  .describe('Why the request is cancelled');

export const ReasonBody = z
  .object({ tenant: TenantId, reason: z.string().min(1).max(1000) })
  .strict()
  .describe('The tenant and why (kept in the audit record)');

export const TicketBody = z
  .object({ tenant: TenantId, system: z.enum(['servicenow', 'jira']), id: z.string().min(1).max(64) })
  .strict()
  .describe('A ticket to check and attach (replaces the last one)');

export const CallbackBody = z
  .object({
    tenant: TenantId,
    number: z.string().min(3).max(64).describe('The number called back'),
    numberSource: z.enum(['idp', 'hr', 'directory', 'caller']).describe('Where the number came from; a number the caller gave never counts'),
    numberLastChangedAt: IsoTime.describe('When that number last changed in its source'),
    calledAt: IsoTime.optional().describe('When the call was made; default now'),
    note: z.string().max(1000).optional(),
  })
  .strict()
  .describe('A callback to the requester on a number of record');

export const PushStarted = z
  .object({
    transactionId: z.string(),
    method: z.string(),
    factor: z.object({ id: z.string(), type: z.string(), enrolledAt: z.string().optional(), lastUpdated: z.string().optional() }),
  })
  .describe("A push verification was sent to the target's enrolled factor; poll it");

export const PushResult = z
  .object({ status: z.enum(['waiting', 'success', 'rejected', 'timeout']), request: RequestView })
  .describe('The state of a push verification, and the request');

export const DecideBody = z
  .object({ tenant: TenantId, comment: z.string().max(2000).optional() })
  .strict()
  .describe('An approval or rejection, with an optional comment');

export const BrokerResultBody = z
  .object({
    request: RequestView,
    reference: z.string().describe("The IdP's id of what was done"),
    secret: z.string().optional().describe('A credential to hand to the user once (a TAP): shown in this response only, never stored'),
    expiresAt: z.string().optional(),
    replayed: z.boolean().optional().describe('A retried call: the change was made before; the secret is not shown again'),
  })
  .describe('What Warden did in the IdP for the request');

export const ExternalEvidenceBody = z
  .object({
    requestId: z.string().min(1),
    result: z.enum(['verified', 'failed']),
    subject: z
      .object({ id: z.string().optional(), login: z.string().optional(), email: z.string().optional() })
      .strict()
      .refine((s) => s.id || s.login || s.email, 'name the verified person by id, login or email')
      .describe("Who was verified: must be the request's target"),
    verifiedAt: IsoTime,
    reference: z.string().max(256).optional().describe("The verifier's own id of the verification"),
    claims: z.record(z.string(), z.unknown()).optional().describe('What the verifier asserts (e.g. verified_claims), kept as evidence'),
  })
  .strict()
  .describe('Identity-verification evidence from an external verifier, signed with its Standard Webhooks secret');

export const CompleteReviewBody = z
  .object({ tenant: TenantId, outcome: z.enum(['justified', 'unjustified']), notes: z.string().min(1).max(4000) })
  .strict()
  .describe('The verdict of a break-glass review');

export const ReviewList = z.object({ items: z.array(Review) }).describe('Reviews, soonest due first');

export const CreateExceptionBody = z
  .object({
    tenant: TenantId,
    ruleId: z.string().min(1).describe('The rule not applied'),
    target: z.string().min(1).max(320).describe('IdP id, login or email of the target it is not applied to'),
    owner: z.string().min(1).max(320).describe('Who answers for it'),
    reason: z.string().min(10).max(2000),
    expiresAt: IsoTime.describe('When it stops applying (at most workflow.maxExceptionLifetime ahead)'),
  })
  .strict()
  .describe('A policy exception: one rule not applied to one target, until it expires');

export const ExceptionView = PolicyException.extend({ state: z.enum(['active', 'expired', 'revoked']) }).describe(
  'A policy exception and whether it applies now',
);
export const ExceptionList = z.object({ items: z.array(ExceptionView) });

/** Every named schema of the workflow API, for /openapi.json. */
export const WORKFLOW_SCHEMAS = {
  CreateRequestBody,
  RequestView,
  RequestList,
  CancelBody,
  ReasonBody,
  TicketBody,
  CallbackBody,
  TenantBody,
  PushStarted,
  PushResult,
  DecideBody,
  BrokerResultBody,
  ExternalEvidenceBody,
  CompleteReviewBody,
  Review,
  ReviewList,
  CreateExceptionBody,
  ExceptionView,
  ExceptionList,
} as const;

export type CreateExceptionInput = z.infer<typeof CreateExceptionBody>;
export type CallbackInput = z.infer<typeof CallbackBody>;
