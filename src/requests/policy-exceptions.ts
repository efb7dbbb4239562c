import { appendAudit } from '../audit/audit-log.js';
import { WardenError } from '../core/errors.js';
import { uuidv7 } from '../core/ids.js';
import type { PolicyException } from '../core/policy-exception.js';
import { publishEvent } from '../notify/publish-event.js';
import { actorOf, authorizeCaller, type Caller } from './caller.js';
import type { CreateExceptionInput } from './request-api-schemas.js';
import { requireRecentMfa } from './step-up.js';
import type { OnCommit, WorkflowContext } from './request-context.js';

/** An exception with whether it applies now. */
export type ExceptionState = PolicyException & { state: 'active' | 'expired' | 'revoked' };

/** An exception with its state at `now`: active, expired (past `expiresAt`) or revoked. */
export function exceptionState(e: PolicyException, now: Date): ExceptionState {
  const state = e.revokedAt ? 'revoked' : Date.parse(e.expiresAt) <= now.getTime() ? 'expired' : 'active';
  return { ...e, state };
}

/**
 * Grants a policy exception: one rule of the tenant's policy not applied to
 * one target until it expires. Only an admin (signed in with a recent MFA,
 * or an operator at the CLI); the rule must exist; the expiry must lie within
 * `workflow.maxExceptionLifetime`. Audited and published.
 *
 * @throws WardenError `ERR_FORBIDDEN`, `ERR_VALIDATION`, `ERR_STEP_UP_REQUIRED`
 */
export async function createException(ctx: WorkflowContext, input: CreateExceptionInput, caller: Caller, onCommit?: OnCommit): Promise<ExceptionState> {
  const { tenant } = input;
  authorizeCaller(caller, tenant, { roles: ['admin'], what: 'granting a policy exception' });
  if (caller.type === 'user') requireRecentMfa(ctx, caller, 'a policy exception');
  const policy = ctx.deps.policies.get(tenant);
  if (!policy.rules.some((r) => r.id === input.ruleId))
    throw new WardenError('ERR_VALIDATION', `the policy of tenant ${tenant} has no rule ${input.ruleId} (rules: ${policy.rules.map((r) => r.id).join(', ')})`, {
      details: [{ path: ['ruleId'], message: 'no such rule', code: 'custom' }],
    });
  const now = ctx.now();
  const expires = Date.parse(input.expiresAt);
  const max = ctx.settings(tenant).maxExceptionLifetimeMs;
  if (expires <= now.getTime())
    throw new WardenError('ERR_VALIDATION', 'expiresAt is in the past', { details: [{ path: ['expiresAt'], message: 'in the past', code: 'custom' }] });
  if (expires - now.getTime() > max)
    throw new WardenError('ERR_VALIDATION', `an exception may run at most ${Math.round(max / 86_400_000)} days (workflow.maxExceptionLifetime)`, {
      details: [{ path: ['expiresAt'], message: 'too far', code: 'custom' }],
    });
  const actor = actorOf(caller);
  const exception: PolicyException = {
    id: uuidv7(now.getTime()),
    tenant,
    ruleId: input.ruleId,
    target: input.target,
    owner: input.owner,
    reason: input.reason,
    createdBy: actor.id,
    createdAt: now.toISOString(),
    expiresAt: new Date(expires).toISOString(),
  };
  return ctx.transaction(async (tx) => {
    await tx.putException(exception);
    await appendAudit(tx, tenant, { type: 'exception.created', actor, subject: { exceptionId: exception.id }, data: { ...exception }, at: now });
    await publishEvent(tx, ctx.deps.routes, { tenant, type: 'exception.created', data: { exception, actor }, at: now });
    const view = exceptionState(exception, now);
    await onCommit?.(tx, 201, view);
    return view;
  });
}

/** Revokes an exception at once (admin). */
export async function revokeException(ctx: WorkflowContext, tenant: string, id: string, caller: Caller, onCommit?: OnCommit): Promise<ExceptionState> {
  authorizeCaller(caller, tenant, { roles: ['admin'], what: 'revoking a policy exception' });
  if (caller.type === 'user') requireRecentMfa(ctx, caller, 'revoking an exception');
  const now = ctx.now();
  const actor = actorOf(caller);
  return ctx.transaction(async (tx) => {
    const e = await tx.getException(tenant, id);
    if (!e) throw new WardenError('ERR_NOT_FOUND', `no exception ${id} in tenant ${tenant}`);
    if (!(await tx.revokeException(tenant, id, now))) throw new WardenError('ERR_CONFLICT', `exception ${id} was revoked at ${e.revokedAt}`);
    await appendAudit(tx, tenant, { type: 'exception.revoked', actor, subject: { exceptionId: id }, data: { ruleId: e.ruleId, target: e.target }, at: now });
    await publishEvent(tx, ctx.deps.routes, {
      tenant,
      type: 'exception.revoked',
      data: { exceptionId: id, ruleId: e.ruleId, target: e.target, actor },
      at: now,
    });
    const view = exceptionState({ ...e, revokedAt: now.toISOString() }, now);
    await onCommit?.(tx, 200, view);
    return view;
  });
}

/** The tenant's exceptions, active, expired and revoked. */
export async function listExceptions(ctx: WorkflowContext, tenant: string, caller: Caller): Promise<ExceptionState[]> {
  authorizeCaller(caller, tenant, { roles: ['admin', 'auditor'], scope: 'requests:read', what: 'reading policy exceptions' });
  const now = ctx.now();
  return (await ctx.store.listExceptions(tenant, {})).map((e) => exceptionState(e, now));
}
