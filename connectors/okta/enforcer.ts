import type { Enforcer, ConnectorContext } from '../../src/connector/index.js';
import { ActionError } from '../../src/connector/index.js';
import type { ActionRow } from '../../src/connector/index.js';
import { actionRef } from '../../src/connector/index.js';
import { OKTA_OWN_CHANGES, OWN_ACTION_EVENT_TYPES } from './event-types.js';
import type { OktaDirectory } from './okta-directory.js';
import { httpStatusOf, toActionError } from './okta-errors.js';
import type { OktaTenant, OktaTenants } from './okta-tenant.js';

/**
 * Makes Okta honour a decision: the outbox worker hands each queued action
 * here (never in monitor mode: those are recorded as dry runs). Every action
 * is idempotent (it may run again after a crash or retry), is recorded as
 * Warden's own change before the call (so the event Okta logs for it is
 * recognised when it comes back and not judged again), and maps failures to
 * `ActionError`: 429 and 5xx retried (after `X-Rate-Limit-Reset`), other 4xx
 * permanent.
 *
 * APIs: research okta.md §4.1 (`userApi.resetFactors`, `revokeUserSessions`,
 * `expirePassword`, `suspendUser`, `unsuspendUser`, `upsertUserRisk`;
 * `groupApi.assignUserToGroup` / `unassignUserFromGroup`;
 * `userFactorApi.listFactors` / `unenrollFactor`).
 */
export function createOktaEnforcer(tenants: OktaTenants, directory: OktaDirectory): Enforcer {
  async function run(action: ActionRow, tenant: OktaTenant, ctx: ConnectorContext): Promise<Record<string, unknown>> {
    const client = await tenant.client();
    const userId = action.targetId;
    switch (action.kind) {
      case 'hold_group': {
        const groupId = await directory.holdGroupId(tenant);
        await client.groupApi.assignUserToGroup({ groupId, userId }); // PUT: a member already is one
        return { group: tenant.config.holdGroup.name, groupId };
      }
      case 'release_hold_group': {
        const groupId = await directory.holdGroupId(tenant);
        const removed = await ignore404(() => client.groupApi.unassignUserFromGroup({ groupId, userId }));
        return { group: tenant.config.holdGroup.name, groupId, ...(removed ? {} : { alreadyRemoved: true }) };
      }
      case 'revoke_sessions':
        await client.userApi.revokeUserSessions({ userId, oauthTokens: tenant.config.revokeOAuthTokens });
        return { revoked: true, oauthTokens: tenant.config.revokeOAuthTokens };
      case 'remove_new_factor':
        return removeNewFactors(action, tenant, ctx);
      case 'reset_factors':
        await client.userApi.resetFactors({ userId });
        return { reset: true };
      case 'expire_password':
        await client.userApi.expirePassword({ userId });
        return { expired: true };
      case 'suspend':
        return lifecycle(tenant, userId, 'suspend');
      case 'unsuspend':
        return lifecycle(tenant, userId, 'unsuspend');
      case 'revoke_new_credential':
        return revokeNewCredential(action, tenant);
      case 'raise_risk':
        await client.userApi.upsertUserRisk({ userId, userRiskRequest: { riskLevel: 'HIGH' } });
        return { riskLevel: 'HIGH' };
      default:
        throw new ActionError(`the Okta connector has no action ${action.kind}`, { permanent: true });
    }
  }

  /**
   * Removes the factor the change enrolled, or, when the change names none (a
   * factor or password reset), every factor enrolled since the change: what an
   * attacker enrolled after a reset the help desk was tricked into.
   */
  async function removeNewFactors(action: ActionRow, tenant: OktaTenant, ctx: ConnectorContext): Promise<Record<string, unknown>> {
    const client = await tenant.client();
    const userId = action.targetId;
    const factorId = typeof action.params.factorId === 'string' ? action.params.factorId : undefined;
    if (factorId) {
      const removed = await ignore404(() => client.userFactorApi.unenrollFactor({ userId, factorId }));
      return { removed: removed ? [factorId] : [], ...(removed ? {} : { alreadyRemoved: [factorId] }) };
    }
    const changeId = typeof action.params.changeId === 'string' ? action.params.changeId : undefined;
    const change = changeId ? await ctx.store.getChange(action.tenant, changeId) : undefined;
    // A little before the change: Okta's and Warden's clocks differ, and a factor enrolled within a second of a reset is not the user's old one.
    const since = change ? new Date(change.occurredAt).getTime() - 1000 : ctx.clock().getTime() - 3600_000;
    const removed: string[] = [];
    for await (const factor of await client.userFactorApi.listFactors({ userId })) {
      if (!factor?.id || !factor.created) continue;
      if (new Date(factor.created).getTime() < since) continue;
      if (await ignore404(() => client.userFactorApi.unenrollFactor({ userId, factorId: factor.id! }))) removed.push(factor.id);
    }
    return { removed, since: new Date(since).toISOString() };
  }

  /**
   * Revokes the API token the change created (`DELETE /api/v1/api-tokens/{apiTokenId}`,
   * okta-sdk-nodejs `apiTokenApi.revokeApiToken`). A token already gone is not an error.
   * A change that names no token (a System Log event without a Token target) cannot be
   * contained this way: permanent failure, so the hold shows it.
   */
  async function revokeNewCredential(action: ActionRow, tenant: OktaTenant): Promise<Record<string, unknown>> {
    const apiTokenId = typeof action.params.credentialId === 'string' ? action.params.credentialId : undefined;
    if (!apiTokenId || (action.params.credentialType !== undefined && action.params.credentialType !== 'api_token'))
      throw new ActionError(
        `revoke_new_credential: the change names no Okta API token to revoke (credentialId ${apiTokenId ?? 'missing'}, type ${String(action.params.credentialType ?? 'missing')})`,
        { permanent: true },
      );
    const client = await tenant.client();
    const revoked = await ignore404(() => client.apiTokenApi.revokeApiToken({ apiTokenId }));
    return revoked ? { revoked: [apiTokenId] } : { revoked: [], alreadyRevoked: [apiTokenId] };
  }

  /** Suspends or unsuspends; a user already in the wanted state is left as is. */
  async function lifecycle(tenant: OktaTenant, userId: string, op: 'suspend' | 'unsuspend'): Promise<Record<string, unknown>> {
    const client = await tenant.client();
    const user = (await client.http.getJson(`${client.baseUrl}/api/v1/users/${encodeURIComponent(userId)}`)) as { status?: string };
    if (op === 'suspend' && user.status === 'SUSPENDED') return { status: 'SUSPENDED', already: true };
    if (op === 'unsuspend' && user.status !== 'SUSPENDED') return { status: user.status ?? 'unknown', already: true };
    if (op === 'suspend') await client.userApi.suspendUser({ userId });
    else await client.userApi.unsuspendUser({ userId });
    return { status: op === 'suspend' ? 'SUSPENDED' : 'ACTIVE' };
  }

  return {
    async execute(action: ActionRow, ctx: ConnectorContext): Promise<unknown> {
      const tenant = tenants.find(ctx.config, action.tenant);
      if (!tenant) throw new ActionError(`tenant ${action.tenant} has no okta section`, { permanent: true });
      const userId = action.targetId;
      const intent = { tenant: tenant.id, ref: actionRef(action.id), targetId: userId, eventTypes: OWN_ACTION_EVENT_TYPES[action.kind] ?? [] };
      return OKTA_OWN_CHANGES.perform(ctx.store, ctx.clock, intent, async () => {
        try {
          return await run(action, tenant, ctx);
        } catch (err) {
          if (err instanceof ActionError) throw err;
          throw toActionError(err, `${action.kind} for ${userId}`, ctx.clock());
        } finally {
          // Whatever Warden did to the user (groups, status, factors), failed or not, the next change reads them again; the others (the help desk) stay cached.
          directory.forgetUser(tenant.id, userId);
        }
      });
    },
  };
}
/** Runs `call`; false when Okta answers 404 (already gone), true otherwise. */
async function ignore404(call: () => Promise<unknown>): Promise<boolean> {
  try {
    await call();
    return true;
  } catch (err) {
    if (httpStatusOf(err) === 404) return false;
    throw err;
  }
}
