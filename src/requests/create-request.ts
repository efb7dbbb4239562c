import type { ChangeRequest, Evidence, RequestNeeds, Review } from '../core/change-request.js';
import { WardenError } from '../core/errors.js';
import { Principal, type IdentityChange } from '../core/identity-change.js';
import { uuidv7 } from '../core/ids.js';
import { evaluatePolicy } from '../core/policy/evaluate-policy.js';
import type { ConnectorContext, TicketSnapshot } from '../connector/contract.js';
import { alertHolds, prospectiveChange, withAlertHolds } from './alert-holds.js';
import { observedRisk, withObservedRisk } from './observed-risk.js';
import { actorOf, authorizeCaller, callerNames, type Caller } from './caller.js';
import { checkTicket, type TicketCheck } from './check-ticket.js';
import { proofingNeed } from './proofing-requirements.js';
import { PersonResolver, samePerson } from './resolve-person.js';
import type { CreateRequestBody } from './request-api-schemas.js';
import type { OnCommit, RequestView, WorkflowContext } from './request-context.js';

const namesOf = (p: { id: string; login?: string | undefined; email?: string | undefined }) =>
  new Set([p.id, p.login, p.email].filter((n): n is string => !!n).map((n) => n.toLowerCase()));

/** Reads the target from the IdP (directory port); without one, the principal the caller gave. */
async function resolveTarget(ctx: WorkflowContext, tenant: string, input: CreateRequestBody['target'], pctx: ConnectorContext): Promise<Principal> {
  const directory = ctx.deps.ports.directory(tenant);
  if (directory) {
    const key = 'id' in input ? input.id : input.login;
    let user: Principal | undefined;
    try {
      user = await directory.getUser(tenant, key, pctx);
    } catch (err) {
      throw ctx.upstream(`cannot read ${key} from the IdP`, err);
    }
    if (!user)
      throw new WardenError('ERR_VALIDATION', `no user ${key} in the IdP of tenant ${tenant}`, {
        details: [{ path: ['target'], message: 'not found in the IdP', code: 'custom' }],
      });
    return user;
  }
  if (!('id' in input))
    throw new WardenError('ERR_VALIDATION', "no directory connector for this tenant: give the target's IdP id", {
      details: [{ path: ['target', 'id'], message: 'required', code: 'custom' }],
    });
  return Principal.parse(input);
}

/** The executor's IdP groups, for the ticket's team check; undefined without a directory. */
async function executorGroups(ctx: WorkflowContext, tenant: string, executorId: string, pctx: ConnectorContext): Promise<string[] | undefined> {
  const directory = ctx.deps.ports.directory(tenant);
  if (!directory) return undefined;
  try {
    return (await directory.getUser(tenant, executorId, pctx))?.groups ?? [];
  } catch (err) {
    throw ctx.upstream(`cannot read the executor ${executorId} from the IdP`, err);
  }
}

/**
 * Reads a ticket through the ITSM connector and checks it against the
 * request. Failing to reach the ITSM is a problem of the check (the request
 * waits in draft and the ticket can be attached again), not an error.
 */
export async function readAndCheckTicket(
  ctx: WorkflowContext,
  request: Pick<ChangeRequest, 'tenant' | 'target' | 'executor' | 'needs'>,
  ref: { system: 'servicenow' | 'jira'; id: string },
  pctx: ConnectorContext,
  options: { throwOnUnreachable?: boolean } = {},
): Promise<{ snapshot?: TicketSnapshot; check: TicketCheck }> {
  const port = ctx.deps.ports.tickets(request.tenant, ref.system);
  if (!port) return { check: { valid: false, problems: [`no ITSM connector reads ${ref.system} tickets for tenant ${request.tenant}`] } };
  let snapshot: TicketSnapshot | undefined;
  try {
    snapshot = await port.getTicket({ tenant: request.tenant, system: ref.system, id: ref.id }, pctx);
  } catch (err) {
    if (options.throwOnUnreachable) throw ctx.upstream(`cannot read ticket ${ref.id} from ${ref.system}`, err);
    return { check: { valid: false, problems: [`ticket ${ref.id} could not be read from ${ref.system}: ${(err as Error).message}`] } };
  }
  const groups = await executorGroups(ctx, request.tenant, request.executor.id, pctx);
  const check = checkTicket(snapshot, {
    ref,
    target: request.target,
    executor: { names: [...namesOf(request.executor)], groups },
    ...(request.needs.ticket ? { requirement: request.needs.ticket } : {}),
  });
  return { ...(snapshot ? { snapshot } : {}), check };
}

/** The evidence record of a ticket check. */
export function ticketEvidence(
  request: Pick<ChangeRequest, 'tenant' | 'id'>,
  ref: { system: string; id: string },
  result: { snapshot?: TicketSnapshot; check: TicketCheck },
  at: Date,
): Evidence {
  const s = result.snapshot;
  return {
    id: uuidv7(at.getTime()),
    tenant: request.tenant,
    requestId: request.id,
    kind: 'ticket',
    method: ref.system,
    accepted: result.check.valid,
    problems: result.check.problems,
    verifier: { type: 'system', id: `itsm:${ref.system}` },
    ...(s ? { reference: s.internalId } : {}),
    verifiedAt: at.toISOString(),
    details: s
      ? {
          ticket: s.id,
          state: s.state,
          open: s.open,
          channel: s.channel ?? null,
          assignmentGroup: s.assignmentGroup ?? null,
          subject: s.subject ?? null,
          openedBy: s.openedBy ?? null,
          url: s.url ?? null,
          snapshot: s.raw,
        }
      : { ticket: ref.id },
  };
}

/**
 * Files a change request. The tenant policy, evaluated on the change the
 * request proposes, fixes what it needs (proofing level — raised by risky
 * context —, ticket, approvers, ttl); a change the policy refuses whatever a
 * request says is refused now. The ticket is read and checked at once. The
 * request then moves as far as it can (a request that needs nothing is
 * approved at once). A break-glass declaration is approved at once,
 * alerted, and opens a review due within the configured time.
 *
 * Every party (requester, executor, target, and the person filing) is
 * resolved to their IdP user id through the directory and kept in
 * `people`; a name the IdP does not know is refused.
 *
 * @throws WardenError `ERR_FORBIDDEN`, `ERR_VALIDATION`, `ERR_SOD_VIOLATION`, `ERR_IDENTITY_UNRESOLVED`, `ERR_POLICY_FORBIDS`, `ERR_UPSTREAM`
 */
export async function createRequest(ctx: WorkflowContext, input: CreateRequestBody, caller: Caller, onCommit?: OnCommit): Promise<RequestView> {
  const { tenant } = input;
  const settings = ctx.settings(tenant);
  const breakGlass = input.breakGlass;
  authorizeCaller(
    caller,
    tenant,
    breakGlass
      ? { roles: ['helpdesk', 'admin'], scope: 'requests:break_glass', what: 'declaring break-glass' }
      : { roles: ['helpdesk', 'admin'], scope: 'requests:write', what: 'filing a change request' },
  );
  if (breakGlass) {
    if (!settings.breakGlass.enabled) throw new WardenError('ERR_FORBIDDEN', `break-glass is disabled for tenant ${tenant} (workflow.breakGlass.enabled)`);
    if (breakGlass.reason.trim().length < settings.breakGlass.minReasonLength)
      throw new WardenError(
        'ERR_VALIDATION',
        `a break-glass reason needs at least ${settings.breakGlass.minReasonLength} characters: say what happened and why it cannot wait`,
        {
          details: [{ path: ['breakGlass', 'reason'], message: 'too short', code: 'too_small' }],
        },
      );
  }
  const pctx = ctx.deps.connectorContext();
  const now = ctx.now();
  const policy = ctx.deps.policies.get(tenant);

  const executor =
    input.executor ??
    (caller.type === 'user'
      ? {
          id: caller.subject,
          type: 'user' as const,
          ...(caller.names.find((n) => n.includes('@')) ? { login: caller.names.find((n) => n.includes('@')) } : {}),
        }
      : undefined);
  if (!executor)
    throw new WardenError('ERR_VALIDATION', 'name the executor: who will perform the change', {
      details: [{ path: ['executor'], message: 'required for API keys', code: 'custom' }],
    });
  const target = await resolveTarget(ctx, tenant, input.target, pctx);

  // People, not strings: each party resolves to one IdP user id now, and later checks compare those ids.
  const resolver = new PersonResolver(ctx, tenant);
  const [requesterPerson, executorPerson, targetPerson, filerPerson] = await Promise.all([
    resolver.ofParty(input.requester, 'requester'),
    input.executor ? resolver.ofParty(input.executor, 'executor') : resolver.ofCaller(caller),
    resolver.ofParty(target, 'target'),
    caller.type === 'user' ? resolver.ofCaller(caller) : undefined,
  ]);
  if (samePerson(executorPerson, requesterPerson))
    throw new WardenError('ERR_SOD_VIOLATION', 'the executor cannot be the requester: someone else must ask for the change', {
      details: { party: 'requester' },
    });
  if (samePerson(executorPerson, targetPerson))
    throw new WardenError('ERR_SOD_VIOLATION', 'the executor cannot change their own credentials through a request', { details: { party: 'target' } });
  const people: NonNullable<ChangeRequest['people']> = {
    requester: requesterPerson.id,
    executor: executorPerson.id,
    target: targetPerson.id,
    ...(filerPerson ? { filer: filerPerson.id } : {}),
  };

  if (input.broker && !ctx.deps.ports.broker(tenant, input.kind))
    throw new WardenError('ERR_VALIDATION', `no connector of tenant ${tenant} can perform ${input.kind} for Warden (broker mode)`, {
      details: [{ path: ['broker'], message: 'not available', code: 'custom' }],
    });
  // Without it, the change Warden's broker makes would match no request and be held like a stranger's.
  if (input.broker && settings.brokerIdentities.length === 0)
    throw new WardenError(
      'ERR_VALIDATION',
      `broker mode needs tenants[].workflow.brokerIdentities for tenant ${tenant}: the IdP identity Warden's broker acts as (Okta: the API token's user 00u… or the service app's client id), so that the change it makes matches the request`,
      { details: [{ path: ['broker'], message: 'workflow.brokerIdentities is not set', code: 'custom' }] },
    );

  // What Warden recorded itself of the person (mailbox rules, phone or recovery, a new device): counts whatever the caller says.
  const observed = await observedRisk(ctx.store, tenant, target, settings, now);
  // The change as it will be observed, judged now: what would make it acceptable is what the request needs.
  const proposed: IdentityChange = prospectiveChange(
    { tenant, kind: input.kind, changeChannel: input.changeChannel, target, executor, context: withObservedRisk(input.context ?? {}, observed) },
    now,
  );
  const exceptions = await ctx.store.listExceptions(tenant, { targets: [...namesOf(target)] });
  const verdict = evaluatePolicy(policy, { change: proposed, now, exceptions });
  const blocking = verdict.rules.filter((r) => r.outcome !== 'allow' && !r.obligations.request);
  if (blocking.length > 0)
    throw new WardenError(
      'ERR_POLICY_FORBIDS',
      `the policy ${blocking.map((r) => `rule ${r.id} (${r.outcome}: ${r.reason})`).join('; ')} whatever a change request says`,
      {
        details: { rules: blocking.map((r) => r.id) },
      },
    );
  const o = verdict.obligations;
  const proofing = proofingNeed(o.proofing, input.context ?? {}, settings, now, observed);
  const needs: RequestNeeds = {
    ...(proofing.level ? { proofing: proofing.level } : {}),
    tier: verdict.tier,
    ...(proofing.policyLevel ? { policyProofing: proofing.policyLevel } : {}),
    raisedBy: proofing.raisedBy,
    ...(proofing.observed.length > 0 ? { observed: proofing.observed } : {}),
    ...(o.ticket ? { ticket: o.ticket } : {}),
    ...(o.approvals ? { approvals: o.approvals } : {}),
    ttlSeconds: o.ttlSeconds ?? Math.round(settings.requestTtlMs / 1000),
    rules: verdict.rules.filter((r) => r.obligations.request).map((r) => r.id),
    policyVersion: verdict.policyVersion,
  };

  const id = uuidv7(now.getTime());
  const actor = actorOf(caller);
  let request: ChangeRequest = {
    id,
    tenant,
    state: 'draft',
    kind: input.kind,
    changeChannel: input.changeChannel,
    target,
    requester: input.requester,
    executor,
    justification: input.justification,
    contact: input.contact,
    context: input.context ?? {},
    broker: input.broker,
    options: input.options ?? {},
    needs,
    createdBy: actor,
    people,
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + settings.openForMs).toISOString(),
    proofingAttempts: [],
  };

  if (breakGlass) {
    // Would the policy take a break-glass request for this change? Judged on the same proposed change.
    const trial = evaluatePolicy(policy, {
      change: proposed,
      now,
      exceptions,
      request: {
        ...ctx.snapshot({ ...request, state: 'approved', approvedAt: now.toISOString(), breakGlass: { reason: breakGlass.reason, reviewId: 'trial' } }, []),
      },
    });
    const refusing = trial.rules.filter((r) => r.outcome !== 'allow');
    if (refusing.length > 0)
      throw new WardenError('ERR_POLICY_FORBIDS', `break-glass does not satisfy ${refusing.map((r) => `rule ${r.id} (${r.reason})`).join('; ')}`, {
        details: { rules: refusing.map((r) => r.id) },
      });
  }

  const ticketRef = input.justification.ticket;
  const ticket = ticketRef && !breakGlass ? await readAndCheckTicket(ctx, request, ticketRef, pctx) : undefined;

  return ctx.transaction(async (tx) => {
    const evidence = ticket && ticketRef ? ticketEvidence(request, ticketRef, ticket, now) : undefined;
    if (ticket && ticketRef)
      request.ticket = {
        system: ticketRef.system,
        id: ticket.snapshot?.id ?? ticketRef.id,
        ...(ticket.snapshot ? { state: ticket.snapshot.state } : {}),
        valid: ticket.check.valid,
        problems: ticket.check.problems,
        ...(evidence ? { evidenceId: evidence.id } : {}),
      };
    const review: Review | undefined = breakGlass
      ? {
          id: uuidv7(now.getTime()),
          tenant,
          requestId: id,
          kind: 'break_glass',
          state: 'open',
          dueAt: new Date(now.getTime() + settings.breakGlass.reviewWithinMs).toISOString(),
          createdAt: now.toISOString(),
        }
      : undefined;
    if (breakGlass && review) request = { ...request, breakGlass: { reason: breakGlass.reason, reviewId: review.id } };
    // An open alert on the target (or the executor) that would hold the change even once approved: said now, with what to do.
    request = withAlertHolds(request, await alertHolds(ctx, tx, request, now));
    await tx.putRequest(request);
    if (review) await tx.putReview(review);
    await ctx.note(
      tx,
      request,
      'request.created',
      actor,
      {
        needs: request.needs,
        justification: input.justification,
        contact: input.contact,
        broker: input.broker,
        createdBy: actor,
        callerNames: [...callerNames(caller)],
      },
      now,
    );
    if (evidence) {
      await tx.putEvidence(evidence);
      await ctx.note(tx, request, 'request.ticket_checked', actor, { ticket: request.ticket }, now, { evidenceId: evidence.id });
    }
    if (breakGlass && review) {
      request = await ctx.transition(tx, request, 'approved', actor, `break-glass: ${breakGlass.reason}`, now, {
        approvedAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + settings.breakGlass.ttlMs).toISOString(),
      });
      await ctx.note(
        tx,
        request,
        'alert.break_glass',
        actor,
        { reason: breakGlass.reason, reviewId: review.id, reviewDueAt: review.dueAt, severity: 'high' },
        now,
        { reviewId: review.id },
      );
      ctx.deps.metrics?.breakGlass(tenant);
    } else request = await ctx.advance(tx, request, actor, now);
    const view = await ctx.view(tx, request);
    await onCommit?.(tx, 201, view);
    return view;
  });
}
