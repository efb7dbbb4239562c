import type { ChangeRequest } from '../core/change-request.js';
import { WardenError } from '../core/errors.js';
import type { BrokerResult } from '../connector/contract.js';
import { actorOf, authorizeCaller, type Caller } from './caller.js';
import { PersonResolver, samePerson } from './resolve-person.js';
import type { RequestView, WorkflowContext } from './request-context.js';

/** What a brokered execution returns: the secret (a TAP) only the first time, never stored. */
export interface BrokerOutcome {
  request: RequestView;
  reference: string;
  secret?: string;
  expiresAt?: string;
  replayed?: boolean;
}

/**
 * Broker mode: Warden performs an approved request itself through the
 * connector's `broker` port (Okta reset factors or reset-password link,
 * Entra TAP), so the help desk needs no reset rights in the IdP. Only the
 * executor (signed in) or a machine with `requests:execute` may ask. The
 * broker is called at most once per request: it claims the request's run
 * before the IdP call (the run's one record, Warden's own change
 * `broker:<requestId>`, src/connector/own-changes.ts), and a retry after
 * success returns the result without the secret. The request keeps no copy
 * of its run: what it shows about it (`brokered`) is read from that record.
 * The request is consumed when the IdP reports the change and it matches
 * (the broker's identity is a service identity of brokered requests).
 *
 * @throws WardenError `ERR_ILLEGAL_TRANSITION`, `ERR_FORBIDDEN`, `ERR_IDENTITY_UNRESOLVED`, `ERR_CONFLICT`, `ERR_UPSTREAM`
 */
export async function executeBrokeredRequest(ctx: WorkflowContext, tenant: string, requestId: string, caller: Caller): Promise<BrokerOutcome> {
  authorizeCaller(caller, tenant, { roles: ['helpdesk', 'admin'], scope: 'requests:execute', what: 'having Warden execute a request' });
  const now = ctx.now();
  const actor = actorOf(caller);
  if (caller.type === 'user') {
    // Resolved before the transaction (the IdP is called): who executes a request does not change.
    const request = await ctx.store.getRequest(tenant, requestId);
    if (!request) throw new WardenError('ERR_NOT_FOUND', `no change request ${requestId} in tenant ${tenant}`);
    const people = new PersonResolver(ctx, tenant);
    if (!samePerson(await people.ofCaller(caller), (await people.partiesOf(request)).executor))
      throw new WardenError(
        'ERR_FORBIDDEN',
        `only the executor of request ${request.id} (${request.executor.login ?? request.executor.id}) can have it executed`,
      );
  }
  const started = await ctx.transaction(async (tx): Promise<ChangeRequest | BrokerOutcome> => {
    const r = await ctx.load(tx, tenant, requestId);
    if (!r.broker) throw new WardenError('ERR_VALIDATION', `request ${r.id} was not filed for broker mode: the executor performs it in the IdP`);
    const run = await tx.getBrokerRun(tenant, requestId);
    if (run?.state === 'done' || r.state === 'executed')
      return {
        request: await ctx.view(tx, r),
        reference: run?.reference ?? '',
        ...(run?.expiresAt ? { expiresAt: run.expiresAt.toISOString() } : {}),
        replayed: true,
      };
    if (r.state !== 'approved')
      throw new WardenError('ERR_ILLEGAL_TRANSITION', `request ${r.id} is ${r.state}: only an approved request is executed`, {
        details: { state: r.state, to: 'executed' },
      });
    if (Date.parse(r.expiresAt) <= now.getTime())
      throw new WardenError('ERR_ILLEGAL_TRANSITION', `request ${r.id} expired at ${r.expiresAt}`, { details: { state: 'expired' } });
    // A run already started (in flight, or interrupted) is the broker's to refuse or reconcile when it claims the run.
    const next: ChangeRequest = { ...r, updatedAt: now.toISOString() };
    await tx.updateRequest(next);
    await ctx.note(tx, next, 'request.broker_started', actor, {}, now);
    return next;
  });
  if (!('state' in started)) return started;

  const broker = ctx.deps.ports.broker(tenant, started.kind);
  let result: BrokerResult;
  try {
    if (!broker) throw new WardenError('ERR_VALIDATION', `no connector of tenant ${tenant} can perform ${started.kind}`);
    result = await broker.execute(
      { tenant, requestId, kind: started.kind, targetId: started.target.id, options: started.options },
      ctx.deps.connectorContext(),
    );
  } catch (err) {
    const message = (err as Error).message ?? String(err);
    await ctx.transaction(async (tx) => {
      const r = await ctx.load(tx, tenant, requestId);
      const failed: ChangeRequest = { ...r, updatedAt: ctx.now().toISOString() };
      await tx.updateRequest(failed);
      await ctx.note(tx, failed, 'request.broker_failed', actor, { error: message }, ctx.now());
    });
    throw ctx.upstream(`the IdP did not perform ${started.kind}`, err);
  }
  return ctx.transaction(async (tx) => {
    const r = await ctx.load(tx, tenant, requestId);
    const done: ChangeRequest = { ...r, updatedAt: ctx.now().toISOString() };
    await tx.updateRequest(done);
    // Never the secret: it goes to the caller once, in this response.
    await ctx.note(
      tx,
      done,
      'request.brokered',
      actor,
      { reference: result.reference, expiresAt: result.expiresAt ?? null, details: result.details ?? {}, secretShown: result.secret !== undefined },
      ctx.now(),
    );
    return {
      request: await ctx.view(tx, done),
      reference: result.reference,
      ...(result.secret !== undefined ? { secret: result.secret } : {}),
      ...(result.expiresAt ? { expiresAt: result.expiresAt } : {}),
    };
  });
}
