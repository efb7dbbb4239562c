import type { ChangeRequest, Evidence, WorkflowActor } from '../core/change-request.js';
import { WardenError } from '../core/errors.js';
import { uuidv7 } from '../core/ids.js';
import type { ProofingLevel } from '../core/proofing.js';
import { verifyWebhook } from '../notify/standard-webhooks.js';
import { ProofingRefused } from '../connector/contract.js';
import type { StoreTx } from '../store/store.js';
import { actorOf, authorizeCaller, personOf, type Caller } from './caller.js';
import { PersonResolver, samePerson } from './resolve-person.js';
import { ExternalEvidenceBody, type CallbackBody } from './request-api-schemas.js';
import { requireRecentMfa } from './step-up.js';
import type { OnCommit, RequestView, WorkflowContext } from './request-context.js';
import type { z } from 'zod';

/** The built-in push method: Okta Verify push to an enrolled, not recently changed factor (the `proofer` port). */
export const PUSH_METHOD = 'okta_verify_push';

const PROOFING_STATES = ['draft', 'proofing'] as const;

function assertProofingOpen(request: ChangeRequest): void {
  if (!(PROOFING_STATES as readonly string[]).includes(request.state))
    throw new WardenError('ERR_ILLEGAL_TRANSITION', `request ${request.id} is ${request.state}: proofing evidence is taken in draft or proofing only`, {
      details: { state: request.state, to: 'proofing' },
    });
}

/**
 * Stores evidence and moves the request on. Rejected evidence is kept too
 * (a refused callback or a denied push is a signal), in its own transaction
 * when the caller then gets an error.
 */
async function addEvidence(
  ctx: WorkflowContext,
  tx: StoreTx,
  request: ChangeRequest,
  evidence: Evidence,
  actor: WorkflowActor,
  now: Date,
): Promise<ChangeRequest> {
  const { inserted } = await tx.putEvidence(evidence);
  if (!inserted) throw new WardenError('ERR_CONFLICT', `this verification (${evidence.method} ${evidence.reference}) was already recorded as evidence`);
  await ctx.note(
    tx,
    request,
    evidence.accepted ? 'request.evidence_added' : 'request.evidence_rejected',
    actor,
    {
      method: evidence.method,
      level: evidence.level ?? null,
      verifier: evidence.verifier,
      reference: evidence.reference ?? null,
      problems: evidence.problems,
      expiresAt: evidence.expiresAt ?? null,
    },
    now,
    { evidenceId: evidence.id },
  );
  return evidence.accepted ? ctx.advance(tx, request, actor, now) : request;
}

/** Records rejected evidence (committed) and then refuses with ERR_EVIDENCE_REJECTED. */
async function reject(
  ctx: WorkflowContext,
  tenant: string,
  requestId: string,
  evidence: Omit<Evidence, 'accepted' | 'problems'>,
  problem: string,
  actor: WorkflowActor,
  now: Date,
): Promise<never> {
  await ctx.transaction(async (tx) => {
    const request = await ctx.load(tx, tenant, requestId);
    await addEvidence(
      ctx,
      tx,
      request,
      { ...evidence, reference: evidence.reference ? `rejected:${evidence.id}` : undefined, accepted: false, problems: [problem] },
      actor,
      now,
    );
  });
  throw new WardenError('ERR_EVIDENCE_REJECTED', problem);
}

function base(
  ctx: WorkflowContext,
  request: ChangeRequest,
  method: string,
  level: ProofingLevel,
  verifier: WorkflowActor,
  now: Date,
  verifiedAt: Date = now,
): Omit<Evidence, 'accepted' | 'problems' | 'details'> {
  return {
    id: uuidv7(now.getTime()),
    tenant: request.tenant,
    requestId: request.id,
    kind: 'proofing',
    method,
    level,
    verifier,
    verifiedAt: verifiedAt.toISOString(),
    expiresAt: new Date(verifiedAt.getTime() + ctx.settings(request.tenant).evidenceTtlMs).toISOString(),
  };
}

/**
 * Sends a push to the target's enrolled Okta Verify factor through the
 * `proofer` port. The connector refuses a factor enrolled or changed within
 * `workflow.proofing.minFactorAgeDays` (an attacker may have enrolled it).
 *
 * @throws WardenError `ERR_EVIDENCE_REJECTED` (refused), `ERR_UPSTREAM`, `ERR_ILLEGAL_TRANSITION`
 */
export async function startPush(ctx: WorkflowContext, tenant: string, requestId: string, caller: Caller, onCommit?: OnCommit) {
  authorizeCaller(caller, tenant, { roles: ['helpdesk', 'admin'], scope: 'requests:write', what: 'proofing a requester' });
  const request = await ctx.store.getRequest(tenant, requestId);
  if (!request) throw new WardenError('ERR_NOT_FOUND', `no change request ${requestId} in tenant ${tenant}`);
  assertProofingOpen(request);
  const proofer = ctx.deps.ports.proofer(tenant, PUSH_METHOD);
  if (!proofer) throw new WardenError('ERR_VALIDATION', `no connector of tenant ${tenant} offers ${PUSH_METHOD}`);
  const now = ctx.now();
  const actor = actorOf(caller);
  let started;
  try {
    started = await proofer.start(
      { tenant, targetId: request.target.id, method: PUSH_METHOD, minFactorAgeDays: ctx.settings(tenant).minFactorAgeDays },
      ctx.deps.connectorContext(),
    );
  } catch (err) {
    if (err instanceof ProofingRefused)
      return reject(
        ctx,
        tenant,
        requestId,
        { ...base(ctx, request, PUSH_METHOD, 'none', { type: 'system', id: `proofer:${PUSH_METHOD}` }, now), details: { refused: true } },
        err.message,
        actor,
        now,
      );
    throw ctx.upstream('the push could not be sent', err);
  }
  return ctx.transaction(async (tx) => {
    const r = await ctx.load(tx, tenant, requestId);
    assertProofingOpen(r);
    const attempt = {
      transactionId: started.transactionId,
      method: PUSH_METHOD,
      level: started.level,
      factor: started.factor,
      startedAt: now.toISOString(),
      by: actor,
    };
    const next = { ...r, proofingAttempts: [...r.proofingAttempts, attempt], updatedAt: now.toISOString() };
    await tx.updateRequest(next);
    await ctx.note(tx, next, 'request.proofing_started', actor, { method: PUSH_METHOD, transactionId: started.transactionId, factor: started.factor }, now);
    const body = { transactionId: started.transactionId, method: PUSH_METHOD, factor: started.factor };
    await onCommit?.(tx, 202, body);
    return body;
  });
}

/**
 * Asks the proofer how a push went. Success records evidence at the
 * proofer's level (and moves the request on); a rejected or timed-out push
 * is recorded as rejected evidence — a user denying a push the help desk sent
 * is a signal.
 */
export async function pollPush(
  ctx: WorkflowContext,
  tenant: string,
  requestId: string,
  transactionId: string,
  caller: Caller,
): Promise<{ status: 'waiting' | 'success' | 'rejected' | 'timeout'; request: RequestView }> {
  authorizeCaller(caller, tenant, { roles: ['helpdesk', 'admin'], scope: 'requests:write', what: 'proofing a requester' });
  const request = await ctx.store.getRequest(tenant, requestId);
  if (!request) throw new WardenError('ERR_NOT_FOUND', `no change request ${requestId} in tenant ${tenant}`);
  const attempt = request.proofingAttempts.find((a) => a.transactionId === transactionId);
  if (!attempt) throw new WardenError('ERR_NOT_FOUND', `no push ${transactionId} was started for request ${requestId}`);
  const done = (await ctx.store.listEvidence(tenant, requestId)).find((e) => e.details.transactionId === transactionId);
  if (done)
    return {
      status: done.accepted ? 'success' : ((done.details.status as 'rejected' | 'timeout') ?? 'rejected'),
      request: await ctx.store.transaction((tx) => ctx.view(tx, request)),
    };
  const proofer = ctx.deps.ports.proofer(tenant, attempt.method);
  if (!proofer) throw new WardenError('ERR_VALIDATION', `no connector of tenant ${tenant} offers ${attempt.method}`);
  let result;
  try {
    result = await proofer.poll({ tenant, targetId: request.target.id, transactionId }, ctx.deps.connectorContext());
  } catch (err) {
    throw ctx.upstream('the push state could not be read', err);
  }
  if (result.status === 'waiting') return { status: 'waiting', request: await ctx.store.transaction((tx) => ctx.view(tx, request)) };
  const now = ctx.now();
  const actor = actorOf(caller);
  return ctx.transaction(async (tx) => {
    let r = await ctx.load(tx, tenant, requestId);
    const verifiedAt = result.verifiedAt ? new Date(result.verifiedAt) : now;
    const evidence: Evidence = {
      ...base(
        ctx,
        r,
        attempt.method,
        result.status === 'success' ? attempt.level : 'none',
        { type: 'system', id: `proofer:${attempt.method}` },
        now,
        verifiedAt,
      ),
      reference: transactionId,
      accepted: result.status === 'success',
      problems: result.status === 'success' ? [] : [result.status === 'rejected' ? 'the user rejected the push' : 'the push was not answered in time'],
      details: { transactionId, status: result.status, factor: attempt.factor, sentBy: attempt.by },
    };
    if (result.status === 'success') assertProofingOpen(r);
    r = await addEvidence(ctx, tx, r, evidence, actor, now);
    return { status: result.status, request: await ctx.view(tx, r) };
  });
}

/**
 * Records a callback: the help desk called the requester back on a number of
 * record. A number the caller gave, or one changed within
 * `workflow.proofing.callbackNumberMinAge`, does not count (it may be the
 * attacker's): the attempt is kept as rejected evidence and refused.
 */
export async function recordCallback(
  ctx: WorkflowContext,
  requestId: string,
  input: z.infer<typeof CallbackBody>,
  caller: Caller,
  onCommit?: OnCommit,
): Promise<RequestView> {
  const { tenant } = input;
  authorizeCaller(caller, tenant, { roles: ['helpdesk', 'admin'], scope: 'requests:write', what: 'recording a callback' });
  const request = await ctx.store.getRequest(tenant, requestId);
  if (!request) throw new WardenError('ERR_NOT_FOUND', `no change request ${requestId} in tenant ${tenant}`);
  assertProofingOpen(request);
  const now = ctx.now();
  const actor = actorOf(caller);
  const calledAt = input.calledAt ? new Date(input.calledAt) : now;
  const settings = ctx.settings(tenant);
  const evidence = {
    ...base(ctx, request, 'callback', 'callback', personOf(caller), now, calledAt),
    reference: `callback:${uuidv7(now.getTime())}`,
    details: {
      number: input.number,
      numberSource: input.numberSource,
      numberLastChangedAt: input.numberLastChangedAt,
      calledAt: calledAt.toISOString(),
      ...(input.note ? { note: input.note } : {}),
    },
  };
  if (calledAt.getTime() > now.getTime() + 120_000) throw new WardenError('ERR_VALIDATION', 'calledAt is in the future');
  if (input.numberSource === 'caller')
    return reject(ctx, tenant, requestId, evidence, 'a number the caller gave does not count: call back on the number of record', actor, now);
  const age = calledAt.getTime() - Date.parse(input.numberLastChangedAt);
  if (age < settings.callbackNumberMinAgeMs)
    return reject(
      ctx,
      tenant,
      requestId,
      evidence,
      `the number changed at ${input.numberLastChangedAt}, less than ${Math.round(settings.callbackNumberMinAgeMs / 86_400_000)} days before the call: it may be the attacker's`,
      actor,
      now,
    );
  return ctx.transaction(async (tx) => {
    let r = await ctx.load(tx, tenant, requestId);
    assertProofingOpen(r);
    r = await addEvidence(ctx, tx, r, { ...evidence, accepted: true, problems: [] }, actor, now);
    const view = await ctx.view(tx, r);
    await onCommit?.(tx, 200, view);
    return view;
  });
}

/**
 * The target's manager (from the IdP, `directory` port) attests in Warden,
 * signed in with a recent MFA, that the requester is who they say. Nobody
 * else can; the manager cannot be the executor.
 */
export async function attestAsManager(ctx: WorkflowContext, tenant: string, requestId: string, caller: Caller, onCommit?: OnCommit): Promise<RequestView> {
  if (caller.type !== 'user') throw new WardenError('ERR_FORBIDDEN', 'a manager attests in person: sign in with the IdP');
  if (caller.tenant !== tenant) throw new WardenError('ERR_FORBIDDEN', `you act for tenant "${caller.tenant}", not "${tenant}"`);
  const request = await ctx.store.getRequest(tenant, requestId);
  if (!request) throw new WardenError('ERR_NOT_FOUND', `no change request ${requestId} in tenant ${tenant}`);
  assertProofingOpen(request);
  const managerId = request.target.managerId;
  if (!managerId) throw new WardenError('ERR_FORBIDDEN', `the IdP names no manager for ${request.target.login ?? request.target.id}`);
  // People, not strings: the caller, the manager and the executor resolve to IdP user ids.
  const people = new PersonResolver(ctx, tenant);
  const me = await people.ofCaller(caller);
  const manager = await people.ofName(managerId, 'manager');
  if (!samePerson(me, manager)) throw new WardenError('ERR_FORBIDDEN', `only the target's manager (${managerId}) can attest for this request`);
  if (samePerson(me, (await people.partiesOf(request)).executor))
    throw new WardenError('ERR_SOD_VIOLATION', 'the executor cannot attest for a request they will execute', { details: { party: 'executor' } });
  requireRecentMfa(ctx, caller, 'a manager attestation');
  const now = ctx.now();
  const actor = actorOf(caller);
  return ctx.transaction(async (tx) => {
    let r = await ctx.load(tx, tenant, requestId);
    assertProofingOpen(r);
    const evidence: Evidence = {
      ...base(ctx, r, 'manager_attestation', 'manager_attest', personOf(caller), now),
      reference: `manager:${r.id}:${caller.subject}`,
      accepted: true,
      problems: [],
      details: { managerId, authTime: caller.authTime?.toISOString() ?? null, amr: caller.amr },
    };
    r = await addEvidence(ctx, tx, r, evidence, actor, now);
    const view = await ctx.view(tx, r);
    await onCommit?.(tx, 200, view);
    return view;
  });
}

/**
 * Evidence from an external verifier (IDV vendor, Okta IDV, Entra Verified
 * ID), posted to `/hooks/verifiers/<tenant>/<verifier>` and signed with the
 * verifier's secret (Standard Webhooks). It is bound to the request (its id
 * is in the signed body) and to the target: evidence about anyone else is
 * refused and kept as rejected. The level is the verifier's configured one,
 * never what the body says. A message (webhook-id) counts once.
 *
 * @throws WardenError `ERR_AUTH_REQUIRED` / `ERR_AUTH_INVALID` (signature), `ERR_NOT_FOUND`, `ERR_EVIDENCE_REJECTED`
 */
export async function acceptVerifierEvidence(
  ctx: WorkflowContext,
  tenant: string,
  verifierName: string,
  headers: (name: string) => string | undefined,
  rawBody: string,
): Promise<{ request: RequestView; duplicate: boolean }> {
  const settings = ctx.settings(tenant);
  const verifier = settings.verifiers.find((v) => v.name === verifierName);
  const secret = ctx.deps.config.tenants.find((t) => t.id === tenant)?.secrets[verifier?.secret ?? ''];
  if (!verifier || !secret) throw new WardenError('ERR_NOT_FOUND', `no verifier ${verifierName} for tenant ${tenant}`);
  const now = ctx.now();
  const messageId = verifyWebhook(secret.reveal(), headers, rawBody, now);
  let json: unknown;
  try {
    json = JSON.parse(rawBody);
  } catch {
    throw new WardenError('ERR_BODY_MALFORMED', 'the evidence is not valid JSON');
  }
  const parsed = ExternalEvidenceBody.safeParse(json);
  if (!parsed.success)
    throw new WardenError('ERR_VALIDATION', `the evidence is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const body = parsed.data;
  const request = await ctx.store.getRequest(tenant, body.requestId);
  if (!request) throw new WardenError('ERR_NOT_FOUND', `no change request ${body.requestId} in tenant ${tenant}`);
  const method = verifier.method ?? verifier.name;
  const actor: WorkflowActor = { type: 'system', id: `verifier:${verifier.name}` };
  const known = (await ctx.store.listEvidence(tenant, request.id)).find((e) => e.method === method && e.reference === messageId);
  if (known) return { request: await ctx.store.transaction((tx) => ctx.view(tx, request)), duplicate: true };
  assertProofingOpen(request);
  const verifiedAt = new Date(body.verifiedAt);
  const evidence = {
    ...base(ctx, request, method, verifier.level, actor, now, verifiedAt),
    reference: messageId,
    details: {
      subject: body.subject,
      result: body.result,
      ...(body.reference ? { verifierReference: body.reference } : {}),
      ...(body.claims ? { claims: body.claims } : {}),
    },
  };
  // The verified person must be the target: every name the verifier gives resolves, through the IdP, to the target's id.
  const subjectNames = [body.subject.id, body.subject.login, body.subject.email].filter((n): n is string => !!n);
  const resolver = new PersonResolver(ctx, tenant);
  const target = (await resolver.partiesOf(request)).target;
  for (const name of subjectNames) {
    let subject;
    try {
      subject = await resolver.ofName(name, 'verified person');
    } catch (err) {
      if (!(err instanceof WardenError && err.code === 'ERR_IDENTITY_UNRESOLVED')) throw err;
      return reject(ctx, tenant, request.id, evidence, `the verified person (${name}) is not a user the IdP knows: ${err.message}`, actor, now);
    }
    if (!samePerson(subject, target))
      return reject(
        ctx,
        tenant,
        request.id,
        evidence,
        `the verified person (${subjectNames.join(', ')}) is not the request's target (${request.target.login ?? request.target.id})`,
        actor,
        now,
      );
  }
  if (verifiedAt.getTime() > now.getTime() + 120_000) return reject(ctx, tenant, request.id, evidence, 'the verification is dated in the future', actor, now);
  if (now.getTime() - verifiedAt.getTime() > settings.evidenceTtlMs)
    return reject(ctx, tenant, request.id, evidence, `the verification is older than the evidence lifetime`, actor, now);
  if (body.result !== 'verified') return reject(ctx, tenant, request.id, evidence, `${verifier.name} could not verify the person`, actor, now);
  return ctx.transaction(async (tx) => {
    let r = await ctx.load(tx, tenant, request.id);
    assertProofingOpen(r);
    r = await addEvidence(ctx, tx, r, { ...evidence, accepted: true, problems: [] }, actor, now);
    return { request: await ctx.view(tx, r), duplicate: false };
  });
}
