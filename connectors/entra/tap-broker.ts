import { z } from 'zod';
import { ActionError, appendAudit, type Broker, type BrokerRequest, type BrokerResult, type ConnectorContext } from '../../src/connector/index.js';
import { WardenError } from '../../src/core/errors.js';
import type { ChangeKind } from '../../src/core/identity-change.js';
import { toActionError } from './enforcer.js';
import type { EntraRuntime } from './entra-runtime.js';
import type { EntraTenant } from './entra-tenant.js';
import { GraphCallError } from './graph-session.js';
import { ENTRA_OWN_CHANGES, ENTRA_OWN_EVENT_TYPES } from './own-changes.js';

/**
 * Broker mode for Entra: Warden itself issues the Temporary Access Pass an
 * approved change request asks for (`POST /users/{id}/authentication/temporaryAccessPassMethods`,
 * authentication-post-temporaryaccesspassmethods.md), so the help desk needs
 * no Authentication Administrator role, and returns the pass once for the
 * requester to see. Entra keeps one usable TAP per user and a new one
 * replaces the old, so a request is never served twice: the run is claimed
 * (the one broker-run record of every connector, src/connector/own-changes.ts,
 * which also lets the audit record of the TAP be recognised) before the call and recorded after it, with the TAP's id,
 * lifetime and expiry — never the pass itself. An interrupted attempt is
 * reconciled from the user's TAP methods before anything is issued again.
 */

/** The options a `tap.issue` request may carry. */
export const TapOptions = z
  .object({
    lifetimeMinutes: z
      .number()
      .int()
      .min(10)
      .max(43_200)
      .optional()
      .describe("Lifetime; Entra's policy bounds apply (10–43,200 minutes). Default: the tenant policy's default"),
    oneTimeUse: z.boolean().optional().describe("Usable once. Default: the tenant policy's default"),
    startDateTime: z.iso.datetime({ offset: true }).optional().describe('When the pass becomes usable. Default: now'),
  })
  .passthrough();

interface TapMethod {
  id: string;
  temporaryAccessPass?: string | null;
  createdDateTime?: string;
  startDateTime?: string;
  lifetimeInMinutes?: number;
  isUsableOnce?: boolean;
  methodUsabilityReason?: string;
}

/** The change kinds the Entra broker performs. */
export const ENTRA_BROKERED_KINDS: readonly ChangeKind[] = Object.freeze(['tap.issue'] as ChangeKind[]);

export function entraTapBroker(runtime: EntraRuntime): Broker {
  return {
    kinds: ENTRA_BROKERED_KINDS,
    async execute(request: BrokerRequest, ctx: ConnectorContext): Promise<BrokerResult> {
      if (request.kind !== 'tap.issue') throw new WardenError('ERR_VALIDATION', `the Entra broker performs tap.issue, not ${request.kind}`);
      const options = TapOptions.safeParse(request.options ?? {});
      if (!options.success) throw new WardenError('ERR_VALIDATION', `tap.issue options: ${z.prettifyError(options.error)}`);
      const tenant = runtime.tenant(ctx.config, request.tenant, ctx.clock);
      if (!tenant) throw new WardenError('ERR_TENANT_UNKNOWN', `tenant ${request.tenant} has no entra section`);
      const user = await tenant.directory.getUser(request.targetId).catch((err: unknown) => {
        throw toActionError(err, `tap.issue for ${request.targetId}`);
      });
      if (!user) throw new WardenError('ERR_NOT_FOUND', `no Entra user ${request.targetId}`);

      const { store, clock } = ctx;
      const eventTypes = ENTRA_OWN_EVENT_TYPES['broker:tap.issue'] ?? [];
      const claim = await ENTRA_OWN_CHANGES.claimRun(
        store,
        { tenant: request.tenant, requestId: request.requestId, kind: request.kind, targetId: user.id, eventTypes },
        clock(),
      );
      if (!claim.claimed) {
        const run = claim.run;
        if (run.state === 'done')
          throw new WardenError(
            'ERR_CONFLICT',
            `request ${request.requestId} was served at ${run.finishedAt?.toISOString()} (TAP ${run.reference}); a pass is shown once and never issued twice for one request`,
          );
        const earlier = await issuedSince(tenant, user.id, run.startedAt);
        if (earlier) {
          await finish(ctx, request, earlier, { recovered: true });
          throw new WardenError(
            'ERR_CONFLICT',
            `an interrupted attempt for request ${request.requestId} issued TAP ${earlier.id}; its secret cannot be shown again: file a new request`,
          );
        }
        await ENTRA_OWN_CHANGES.resume(store, run, clock());
      }

      let tap: TapMethod;
      try {
        tap = await tenant.session.call(
          'createTemporaryAccessPass',
          { user: user.id },
          (r) =>
            r.post({
              ...(options.data.startDateTime ? { startDateTime: options.data.startDateTime } : {}),
              ...(options.data.lifetimeMinutes !== undefined ? { lifetimeInMinutes: options.data.lifetimeMinutes } : {}),
              ...(options.data.oneTimeUse !== undefined ? { isUsableOnce: options.data.oneTimeUse } : {}),
            }) as Promise<TapMethod>,
        );
      } catch (err) {
        // A refusal (policy, permissions, bad lifetime) issued nothing: the request may be run again. After a
        // timeout or a 5xx the pass may exist; the run stays claimed and the next attempt reconciles it.
        if (err instanceof GraphCallError && !err.retryable) await ENTRA_OWN_CHANGES.abandonRun(store, request.tenant, request.requestId);
        throw toActionError(err, `tap.issue for ${user.id}`);
      }
      if (!tap.temporaryAccessPass) throw new ActionError(`tap.issue for ${user.id}: Entra returned no pass`, { permanent: true });
      const result = await finish(ctx, request, tap, {});
      return { ...result, secret: tap.temporaryAccessPass };
    },
  };
}

/** A TAP of the user created at or after `since` (minus clock skew), if any. */
async function issuedSince(tenant: EntraTenant, userId: string, since: Date): Promise<TapMethod | undefined> {
  const page = await tenant.session.call('listTemporaryAccessPasses', { user: userId }, (r) => r.get() as Promise<{ value: TapMethod[] }>);
  return page.value.find((t) => t.createdDateTime && Date.parse(t.createdDateTime) >= since.getTime() - 60_000);
}

/** Records the run and audits it, in one transaction; returns what the requester's side may keep. */
async function finish(ctx: ConnectorContext, request: BrokerRequest, tap: TapMethod, extra: Record<string, unknown>): Promise<Omit<BrokerResult, 'secret'>> {
  const start = tap.startDateTime ? new Date(tap.startDateTime) : ctx.clock();
  const expiresAt = tap.lifetimeInMinutes !== undefined ? new Date(start.getTime() + tap.lifetimeInMinutes * 60_000) : undefined;
  const details = {
    targetId: request.targetId,
    ...(tap.lifetimeInMinutes !== undefined ? { lifetimeMinutes: tap.lifetimeInMinutes } : {}),
    ...(tap.isUsableOnce !== undefined ? { oneTimeUse: tap.isUsableOnce } : {}),
    startsAt: start.toISOString(),
    ...(tap.methodUsabilityReason ? { methodUsabilityReason: tap.methodUsabilityReason } : {}),
    ...extra,
  };
  await ctx.store.transaction(async (tx) => {
    await ENTRA_OWN_CHANGES.finishRun(tx, request.tenant, request.requestId, { reference: tap.id, ...(expiresAt ? { expiresAt } : {}), details }, ctx.clock());
    await appendAudit(tx, request.tenant, {
      type: 'broker.executed',
      actor: { type: 'system', id: 'warden:entra' },
      subject: { requestId: request.requestId },
      data: { kind: request.kind, connector: 'entra', reference: tap.id, ...(expiresAt ? { expiresAt: expiresAt.toISOString() } : {}), ...details },
      at: ctx.clock(),
    });
  });
  return { reference: tap.id, ...(expiresAt ? { expiresAt: expiresAt.toISOString() } : {}), details };
}
