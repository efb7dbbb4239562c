import type { ChangeKind } from '../../src/core/identity-change.js';
import type { Broker, BrokerRequest, BrokerResult, ConnectorContext } from '../../src/connector/index.js';
import { WardenError } from '../../src/core/errors.js';
import { OKTA_OWN_CHANGES, OWN_ACTION_EVENT_TYPES } from './event-types.js';
import { httpStatusOf } from './okta-errors.js';
import type { OktaTenant, OktaTenants } from './okta-tenant.js';

/** The change kinds the Okta broker performs. */
export const BROKERED_KINDS: readonly ChangeKind[] = Object.freeze(['factor.reset_all', 'password.reset'] as ChangeKind[]);

/**
 * Broker mode for Okta: Warden performs an approved change itself, so the
 * help desk needs no reset rights. Each request acts once: what was done is
 * claimed once as Warden's own change (`broker:<requestId>`, the one
 * broker-run record of every connector, src/connector/own-changes.ts) before
 * Okta is called, so concurrent executions act once. When Okta reports
 * it, the event of the change itself (`user.mfa.factor.reset_all`,
 * `user.account.reset_password`, made by Warden's own principal) is decided
 * like any other and matches its request (`workflow.brokerIdentities` names
 * that principal); the side effects Okta logs with it are Warden's own and
 * not judged.
 *
 * - `factor.reset_all`: `POST /api/v1/users/{id}/lifecycle/reset_factors` (`userApi.resetFactors`);
 * - `password.reset`: `POST /api/v1/users/{id}/lifecycle/reset_password`
 *   (`userApi.generateResetPasswordToken`). With `options.sendEmail` (default
 *   true) Okta emails the user the reset link; with `sendEmail: false` the
 *   link is returned once as `secret` for the requester to hand over, and is
 *   never stored. `options.revokeSessions` (default true) ends the user's sessions.
 */
export function createOktaBroker(tenants: OktaTenants): Broker {
  async function perform(request: BrokerRequest, tenant: OktaTenant): Promise<BrokerResult> {
    const client = await tenant.client();
    let result: BrokerResult;
    if (request.kind === 'factor.reset_all') {
      await client.userApi.resetFactors({ userId: request.targetId });
      result = { reference: `okta:reset_factors:${request.targetId}:${request.requestId}`, details: { userId: request.targetId } };
    } else {
      const sendEmail = request.options.sendEmail !== false;
      const revokeSessions = request.options.revokeSessions !== false;
      const token = await client.userApi.generateResetPasswordToken({ userId: request.targetId, sendEmail, revokeSessions });
      result = {
        reference: `okta:reset_password:${request.targetId}:${request.requestId}`,
        details: { userId: request.targetId, sendEmail, revokeSessions },
        ...(!sendEmail && token?.resetPasswordUrl ? { secret: token.resetPasswordUrl } : {}),
      };
    }
    return result;
  }

  const kinds = BROKERED_KINDS;
  return {
    kinds,
    async execute(request: BrokerRequest, ctx: ConnectorContext): Promise<BrokerResult> {
      if (!kinds.includes(request.kind))
        throw new WardenError('ERR_VALIDATION', `the Okta broker cannot perform ${request.kind} (it performs ${kinds.join(', ')})`);
      const tenant = tenants.get(ctx.config, request.tenant);
      const eventTypes = OWN_ACTION_EVENT_TYPES[`broker:${request.kind}`] ?? [];
      const claim = await OKTA_OWN_CHANGES.claimRun(
        ctx.store,
        { tenant: tenant.id, requestId: request.requestId, kind: request.kind, targetId: request.targetId, eventTypes },
        ctx.clock(),
      );
      if (!claim.claimed) {
        // Done: what was done, again (a reset link shown once is not shown again). Started: an attempt that did not finish, taken over once it is no longer in flight.
        if (claim.run.state === 'done')
          return {
            reference: claim.run.reference ?? '',
            details: claim.run.details,
            ...(claim.run.expiresAt ? { expiresAt: claim.run.expiresAt.toISOString() } : {}),
          };
        await OKTA_OWN_CHANGES.resume(ctx.store, claim.run, ctx.clock());
      }
      let result: BrokerResult;
      try {
        result = await perform(request, tenant);
      } catch (err) {
        // Okta refused (4xx other than 429): nothing happened, the request may run again. Otherwise the change may have been made: the run stays started.
        const status = httpStatusOf(err);
        if (status !== undefined && status >= 400 && status < 500 && status !== 429) await OKTA_OWN_CHANGES.abandonRun(ctx.store, tenant.id, request.requestId);
        throw err;
      }
      await OKTA_OWN_CHANGES.finishRun(
        ctx.store,
        tenant.id,
        request.requestId,
        { reference: result.reference, ...(result.details ? { details: result.details } : {}) },
        ctx.clock(),
      );
      return result;
    },
  };
}
