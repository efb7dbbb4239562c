import { z } from 'zod';
import { ApprovalRequirement, TicketRequirement } from './decision.js';
import { ChangeContext, ChangeKind, Channel, Principal, TenantId } from './identity-change.js';
import { ProofingLevel } from './proofing.js';
import { Tier } from './tiers.js';

/** Change request states (design §5). */
export const REQUEST_STATES = ['draft', 'proofing', 'pending_approval', 'approved', 'executed', 'reviewed', 'rejected', 'expired', 'cancelled'] as const;
export const RequestState = z.enum(REQUEST_STATES);
export type RequestState = z.infer<typeof RequestState>;

const IsoTime = z.iso.datetime({ offset: true });

/**
 * What the policy core needs to know of a change request to judge a rule's
 * `require` block: a read-only snapshot. The workflow owns requests; the core
 * only checks them.
 */
export const RequestSnapshot = z
  .object({
    id: z.string().min(1),
    tenant: TenantId,
    state: RequestState,
    kind: ChangeKind,
    targetId: z.string().min(1),
    requesterId: z.string().min(1),
    executorId: z.string().min(1),
    proofing: z
      .object({
        level: ProofingLevel,
        method: z.string(),
        verifiedAt: IsoTime,
      })
      .strict()
      .optional(),
    ticket: z
      .object({
        system: z.enum(['servicenow', 'jira']),
        id: z.string(),
        state: z.string(),
      })
      .strict()
      .optional(),
    approvals: z
      .array(
        z
          .object({
            approverId: z.string().min(1),
            groups: z.array(z.string()).default([]),
            roles: z.array(z.string()).default([]),
            at: IsoTime,
          })
          .strict(),
      )
      .default([]),
    approvedAt: IsoTime.optional(),
    expiresAt: IsoTime.optional(),
    consumedAt: IsoTime.optional(),
    breakGlass: z
      .object({ reason: z.string().min(1) })
      .strict()
      .optional()
      .describe('Declared break-glass: the executor acts without proofing, ticket or approval, with a written reason; reviewed afterwards'),
    serviceIdentities: z
      .array(z.string().min(1))
      .optional()
      .describe(
        "Identities that may perform the change on the executor's behalf (Warden's broker, an integration account); separation of duties still judges the executor",
      ),
  })
  .strict();
export type RequestSnapshot = z.infer<typeof RequestSnapshot>;

/** A person or identity as a request names them. */
export const Party = z
  .object({
    id: z.string().min(1).max(256).describe('IdP id (or, for a caller without one, a stable identifier)'),
    login: z.string().max(320).optional(),
    email: z.string().max(320).optional(),
    displayName: z.string().max(256).optional(),
  })
  .strict();
export type Party = z.infer<typeof Party>;

/** How the requester reached the help desk. */
export const CONTACT_CHANNELS = ['phone', 'video', 'chat', 'email', 'walk_in', 'portal', 'other'] as const;
export const ContactChannel = z.enum(CONTACT_CHANNELS).describe('How the requester reached the help desk');

export const TicketRef = z
  .object({
    system: z.enum(['servicenow', 'jira']).describe('ITSM the ticket lives in'),
    id: z.string().min(1).max(64).describe('Ticket number or key, e.g. INC0010002 or HELP-42'),
  })
  .strict();
export type TicketRef = z.infer<typeof TicketRef>;

/** Why the change is needed: a ticket, an incident, or a declared outage. */
export const Justification = z
  .object({
    ticket: TicketRef.optional(),
    incident: z.string().min(1).max(256).optional().describe('Incident reference, when the change is part of incident response'),
    outage: z.string().min(1).max(1000).optional().describe('A declared outage (e.g. the ITSM itself is down)'),
    note: z.string().max(2000).optional(),
  })
  .strict()
  .refine((j) => j.ticket || j.incident || j.outage, { message: 'give a ticket, an incident or a declared outage' });
export type Justification = z.infer<typeof Justification>;

/** What the tenant policy, evaluated on the proposed change, asks of a request. */
/**
 * An open detection alert that would hold the change a request covers: the
 * policy, evaluated on the prospective change with the alert in
 * `context.alerts`, holds (or denies) it by a rule that allows it without.
 */
export const AlertHold = z
  .object({
    alert: z.string().describe('The open alert (GET /v1/alerts/{id})'),
    alertRule: z.string().describe("The alert's detection rule"),
    severity: z.enum(['low', 'medium', 'high', 'critical']),
    on: z.enum(['target', 'actor']).optional().describe("Whom the alert is about: the change's target, or the executor"),
    rules: z.array(z.string()).describe('The policy rules that would hold the change for it'),
    outcome: z.enum(['hold', 'deny']).describe('What those rules would decide'),
    recovery: z.string().describe('What to do (docs/workflow.md, approved work and detection alerts)'),
  })
  .strict();
export type AlertHold = z.infer<typeof AlertHold>;

/** A change Warden itself recorded that raised a request's proofing level (or its policy context). */
export const ObservedRisk = z
  .object({
    signal: z
      .enum(['mailboxRulesChangedAt', 'phoneChangedAt', 'newDevice'])
      .describe(
        'What it stands for: mailbox rules or forwarding changed (Microsoft 365), phone or recovery changed (IdP logs), a new device (as the IdP reports it)',
      ),
    at: z.string().describe('When it happened (event time)'),
    changeId: z.string().describe('The recorded change'),
    kind: ChangeKind,
    idp: z.string(),
    rawType: z.string().describe('The vendor event, e.g. o365:New-InboxRule, user.mfa.factor.activate'),
    eventIds: z.array(z.string()).describe('Its vendor event ids'),
  })
  .strict();
export type ObservedRisk = z.infer<typeof ObservedRisk>;

export const RequestNeeds = z
  .object({
    proofing: ProofingLevel.optional().describe('Minimum proofing level (after context raised it)'),
    tier: Tier.optional().describe("The target's tier, as the policy classified it when the request was filed (shown in notifications)"),
    policyProofing: ProofingLevel.optional().describe('The level the policy itself asks for'),
    raisedBy: z.array(z.string()).default([]).describe('Context that raised the proofing level'),
    observed: z
      .array(ObservedRisk)
      .optional()
      .describe(
        'Changes Warden recorded itself that raised the proofing level (each is in raisedBy too): they count whatever context the caller gave. Absent when none',
      ),
    ticket: TicketRequirement.optional(),
    approvals: ApprovalRequirement.optional(),
    ttlSeconds: z.number().int().positive().describe('How long the approved request stays valid'),
    rules: z.array(z.string()).describe('Rules whose requirements these are'),
    policyVersion: z.string(),
    heldBy: z
      .array(AlertHold)
      .optional()
      .describe(
        'Open detection alerts that would hold the change even with this request approved, with what to do: checked when the request is filed and again when it is approved. Absent when none',
      ),
  })
  .strict();
export type RequestNeeds = z.infer<typeof RequestNeeds>;

/** Who did something in the workflow: a person signed in, a machine with an API key, an operator at the CLI, or Warden. */
export const WorkflowActor = z
  .object({
    type: z.enum(['user', 'api_key', 'cli', 'system']),
    id: z.string().min(1),
    name: z.string().optional(),
  })
  .strict();
export type WorkflowActor = z.infer<typeof WorkflowActor>;

/** A change request, as the workflow keeps it (design §5). */
export const ChangeRequest = z
  .object({
    id: z.string().min(1),
    tenant: TenantId,
    state: RequestState,
    kind: ChangeKind,
    changeChannel: Channel.describe('Channel of the change the request covers (helpdesk, admin, api)'),
    target: Principal,
    requester: Party.describe('The person asking, usually the target on the phone'),
    executor: Party.extend({ type: z.enum(['user', 'service']).default('user') })
      .strict()
      .describe('Who will perform the change'),
    justification: Justification,
    contact: z.object({ channel: ContactChannel, detail: z.string().max(256).optional().describe('e.g. the number called from') }).strict(),
    context: ChangeContext.default({}),
    broker: z.boolean().default(false).describe('Warden performs the change itself (broker mode)'),
    options: z
      .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
      .default({})
      .describe('Kind-specific broker options, e.g. TAP lifetime'),
    breakGlass: z
      .object({ reason: z.string().min(1), reviewId: z.string() })
      .strict()
      .optional(),
    needs: RequestNeeds,
    createdBy: WorkflowActor,
    people: z
      .object({
        requester: z.string().min(1),
        executor: z.string().min(1),
        target: z.string().min(1),
        filer: z.string().min(1).optional().describe('Absent when a machine (API key) filed the request'),
      })
      .strict()
      .optional()
      .describe(
        'The IdP user id each party resolved to when the request was filed (every name of a person resolves to one id): separation of duties compares these, never names. Absent on requests filed before Warden resolved people',
      ),
    createdAt: IsoTime,
    updatedAt: IsoTime,
    approvedAt: IsoTime.optional(),
    expiresAt: IsoTime.describe('Open requests expire if not approved by then; approved ones when their ttl runs out'),
    proofing: z
      .object({ level: ProofingLevel, method: z.string(), verifiedAt: IsoTime, evidenceId: z.string() })
      .strict()
      .optional()
      .describe('The evidence that met the proofing requirement'),
    ticket: z
      .object({
        system: z.enum(['servicenow', 'jira']),
        id: z.string(),
        state: z.string().optional(),
        valid: z.boolean(),
        problems: z.array(z.string()),
        evidenceId: z.string().optional(),
      })
      .strict()
      .optional()
      .describe('The last ticket check'),
    consumed: z
      .object({
        at: IsoTime,
        changeId: z.string(),
        decisionId: z.string(),
        eventIds: z.array(z.string()),
        releasedHold: z.boolean().optional().describe('The change was made before the approval and held; the approval released the hold'),
      })
      .strict()
      .optional()
      .describe('The change that used this request'),
    closed: z.object({ reason: z.string(), by: WorkflowActor }).strict().optional().describe('Why it was rejected, cancelled or expired'),
    proofingAttempts: z
      .array(
        z
          .object({
            transactionId: z.string(),
            method: z.string(),
            level: ProofingLevel,
            factor: z.object({ id: z.string(), type: z.string(), enrolledAt: z.string().optional(), lastUpdated: z.string().optional() }).strict(),
            startedAt: IsoTime,
            by: WorkflowActor,
          })
          .strict(),
      )
      .default([])
      .describe('Verifications started through the IdP (push), polled for their result'),
  })
  .strict();
export type ChangeRequest = z.infer<typeof ChangeRequest>;

/**
 * What a broker-mode request shows about its run. Not kept with the request:
 * derived from the run's one record, Warden's own change `broker:<requestId>`
 * (src/connector/own-changes.ts), so the two can never disagree.
 */
export const RequestBrokerRun = z
  .object({
    state: z.enum(['started', 'done']).describe('started: Warden is performing it, or an attempt was interrupted; done: the IdP did it'),
    at: IsoTime.describe('When the run started, or finished once done'),
    reference: z.string().optional().describe("The IdP's id of what was done (e.g. the TAP method id)"),
    expiresAt: IsoTime.optional().describe('When what was issued expires (a TAP)'),
  })
  .strict()
  .describe("Warden's run of a broker-mode request, from the run's record");
export type RequestBrokerRun = z.infer<typeof RequestBrokerRun>;

/** One piece of evidence: a proofing result or a ticket check, kept whether it was accepted or not. */
export const Evidence = z
  .object({
    id: z.string(),
    tenant: TenantId,
    requestId: z.string(),
    kind: z
      .enum(['proofing', 'ticket', 'affected_person'])
      .describe('affected_person: the person the request is for answered a "this wasn\'t me" notice (never proofing)'),
    method: z.string().describe('okta_verify_push, manager_attestation, callback, <verifier>, servicenow, jira'),
    level: ProofingLevel.optional(),
    accepted: z.boolean(),
    problems: z.array(z.string()).default([]),
    verifier: WorkflowActor.describe('Who or what verified'),
    reference: z.string().optional().describe('Transaction id, ticket sys_id, verifier message id'),
    verifiedAt: IsoTime,
    expiresAt: IsoTime.optional(),
    details: z
      .record(z.string(), z.unknown())
      .default({})
      .describe('Method-specific facts: factor and its age, number called and when it last changed, ticket snapshot'),
  })
  .strict();
export type Evidence = z.infer<typeof Evidence>;

/** An approver's verdict on a request. */
export const Approval = z
  .object({
    tenant: TenantId,
    requestId: z.string(),
    approverId: z.string().describe("The IdP user id of the approver (what their token's subject resolved to): one verdict per person"),
    subject: z
      .string()
      .optional()
      .describe(
        'The subject claim of the token the approver signed in with; absent on approvals recorded before Warden resolved people (their approverId is that subject)',
      ),
    names: z.array(z.string()).default([]).describe('Other names of the approver (login, email)'),
    verdict: z.enum(['approve', 'reject']),
    at: IsoTime,
    groups: z.array(z.string()).default([]).describe("The approver's IdP groups when they approved (from their token)"),
    roles: z.array(z.string()).default([]).describe("The approver's IdP administrator roles, read when the policy names `role:` approvers"),
    authTime: IsoTime.optional(),
    amr: z.array(z.string()).default([]),
    comment: z.string().max(2000).optional(),
  })
  .strict();
export type Approval = z.infer<typeof Approval>;

/** A mandatory review after the fact (break-glass). */
export const Review = z
  .object({
    id: z.string(),
    tenant: TenantId,
    requestId: z.string(),
    kind: z.literal('break_glass'),
    state: z.enum(['open', 'done']),
    dueAt: IsoTime,
    createdAt: IsoTime,
    completedAt: IsoTime.optional(),
    reviewer: WorkflowActor.optional(),
    outcome: z.enum(['justified', 'unjustified']).optional(),
    notes: z.string().max(4000).optional(),
    overdueAt: IsoTime.optional().describe('When Warden reported it overdue'),
  })
  .strict();
export type Review = z.infer<typeof Review>;
