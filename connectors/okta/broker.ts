import type { ChangeKind } from '../../src/core/identity-change.js';
import type { Broker, BrokerRequest, BrokerResult, ConnectorContext } from '../../src/connector/index.js';
import { OWN_ACTION_EVENT_TYPES } from './event-types.js';
import type { OktaTenants } from './okta-tenant.js';
import { WardenError } from '../../src/core/errors.js';

/** The change kinds the Okta broker performs. */
export const BROKERED_KINDS: readonly ChangeKind[] = Object.freeze(['factor.reset_all', 'password.reset'] as ChangeKind[]);

/**
 * Broker mode for Okta: Warden performs an approved change itself, so the
 * help desk needs no reset rights. Each request acts once: what was done is
 * recorded as Warden's own change (`broker:<requestId>`). When Okta reports
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
export class OktaBroker implements Broker {
  readonly kinds: readonly ChangeKind[] = BROKERED_KINDS;

  constructor(private readonly tenants: OktaTenants) {}

  async execute(request: BrokerRequest, ctx: ConnectorContext): Promise<BrokerResult> {
    if (!this.kinds.includes(request.kind)) throw new WardenError('ERR_VALIDATION', `the Okta broker cannot perform ${request.kind} (it performs ${this.kinds.join(', ')})`);
    const tenant = this.tenants.get(ctx.config, request.tenant);
    const ref = `broker:${request.requestId}`;
    const done = await ctx.store.getOwnChange(tenant.id, 'okta', ref);
    if (done?.result) return done.result as BrokerResult;
    const own = { tenant: tenant.id, connector: 'okta', ref, targetId: request.targetId, eventTypes: [...(OWN_ACTION_EVENT_TYPES[`broker:${request.kind}`] ?? [])] };
    await ctx.store.putOwnChange({ ...own, at: ctx.clock() });
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
    const { secret: _secret, ...recorded } = result;
    await ctx.store.putOwnChange({ ...own, at: ctx.clock(), result: recorded });
    return result;
  }
}
