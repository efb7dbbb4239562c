import { ProofingRefused, type ConnectorContext, type IdentityProofer } from '../../src/connector/index.js';
import type { ProofingLevel } from '../../src/core/proofing.js';
import type { OktaTenants } from './okta-tenant.js';
import { WardenError } from '../../src/core/errors.js';

const DAY_MS = 86_400_000;

/**
 * Identity proofing through Okta: an Okta Verify push to the user's enrolled
 * push factor (`POST /api/v1/users/{id}/factors/{factorId}/verify`, then
 * `GET …/transactions/{transactionId}`). A factor enrolled or changed within
 * `minFactorAgeDays` does not count: an attacker who got a reset may have
 * enrolled it: that, and a user with no active push factor, is a
 * `ProofingRefused` (recorded as rejected evidence). A push answered on an
 * established device is out-of-band proof on a channel that did not change
 * recently: `callback` level.
 *
 * https://developer.okta.com/docs/api/openapi/okta-management/management/tag/UserFactor/#tag/UserFactor/operation/verifyFactor
 */
export function createOktaProofer(tenants: OktaTenants): IdentityProofer {
  const methods = ['okta_verify_push'] as const;
  return {
    methods,
    async start(
      input: { tenant: string; targetId: string; method: string; minFactorAgeDays: number },
      ctx: ConnectorContext,
    ): Promise<{ transactionId: string; level: ProofingLevel; factor: { id: string; type: string; enrolledAt?: string; lastUpdated?: string } }> {
      if (input.method !== 'okta_verify_push') throw new WardenError('ERR_VALIDATION', `the Okta proofer offers okta_verify_push, not ${input.method}`);
      const client = await tenants.get(ctx.config, input.tenant).client();
      const now = ctx.clock().getTime();
      let young: { id: string; days: number } | undefined;
      let chosen: { id: string; created?: Date; lastUpdated?: Date } | undefined;
      for await (const f of await client.userFactorApi.listFactors({ userId: input.targetId })) {
        if (!f?.id || f.factorType !== 'push' || f.status !== 'ACTIVE') continue;
        const changed = Math.max(f.created ? new Date(f.created).getTime() : now, f.lastUpdated ? new Date(f.lastUpdated).getTime() : 0);
        const age = (now - changed) / DAY_MS;
        if (age < input.minFactorAgeDays) {
          young = { id: f.id, days: Math.floor(age * 10) / 10 };
          continue;
        }
        chosen = { id: f.id, ...(f.created ? { created: new Date(f.created) } : {}), ...(f.lastUpdated ? { lastUpdated: new Date(f.lastUpdated) } : {}) };
        break;
      }
      if (!chosen) {
        // Refusals, not failures: the workflow records them as rejected evidence (422), not as an unreachable IdP (502).
        if (young)
          throw new ProofingRefused(
            `the user's Okta Verify factor ${young.id} was enrolled or changed ${young.days} day(s) ago; factors newer than ${input.minFactorAgeDays} days do not count`,
          );
        throw new ProofingRefused(`user ${input.targetId} has no active Okta Verify push factor`);
      }
      const started = (await client.userFactorApi.verifyFactor({ userId: input.targetId, factorId: chosen.id })) as { _links?: { poll?: { href?: string } } };
      const href = started?._links?.poll?.href ?? '';
      const transactionId = /\/transactions\/([^/?#]+)/.exec(href)?.[1];
      if (!transactionId) throw new WardenError('ERR_UPSTREAM', 'Okta did not start a push transaction (no poll link)');
      return {
        transactionId: `${chosen.id}:${transactionId}`,
        level: 'callback',
        factor: {
          id: chosen.id,
          type: 'push',
          ...(chosen.created ? { enrolledAt: chosen.created.toISOString() } : {}),
          ...(chosen.lastUpdated ? { lastUpdated: chosen.lastUpdated.toISOString() } : {}),
        },
      };
    },
    async poll(
      input: { tenant: string; targetId: string; transactionId: string },
      ctx: ConnectorContext,
    ): Promise<{ status: 'waiting' | 'success' | 'rejected' | 'timeout'; verifiedAt?: string }> {
      const [factorId, transactionId] = input.transactionId.split(':');
      if (!factorId || !transactionId) throw new WardenError('ERR_UPSTREAM', `not a transaction id of this proofer: ${input.transactionId}`);
      const client = await tenants.get(ctx.config, input.tenant).client();
      const tx = await client.userFactorApi.getFactorTransactionStatus({ userId: input.targetId, factorId, transactionId });
      switch (tx?.factorResult) {
        case 'SUCCESS':
          return { status: 'success', verifiedAt: ctx.clock().toISOString() };
        case 'REJECTED':
          return { status: 'rejected' };
        case 'TIMEOUT':
          return { status: 'timeout' };
        default:
          return { status: 'waiting' };
      }
    },
  };
}
