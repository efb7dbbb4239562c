import express from 'express';
import { z } from 'zod';
import { ChangeInput, completeChange, Principal, type PrincipalInput } from '../../src/core/identity-change.js';
import { ProofingRefused, type BrokerRequest, type ConnectorContext, type Connector } from '../../src/connector/contract.js';
import type { ActionRow } from '../../src/store/store.js';
import { OwnChanges } from '../../src/connector/own-changes.js';

const FAKE_OWN_CHANGES = new OwnChanges('fakeokta');

/**
 * An Okta-like connector for the change-request tests, built only on the
 * connector contract (src/connector/contract.ts): a receiver that stores IdP
 * events in the inbox, a normalizer, a directory of users (with managers), an
 * Okta Verify push proofer that refuses recently changed factors, a broker
 * that resets factors and reports the resulting IdP event as the IdP would,
 * and an enforcer that records actions. It speaks no vendor payloads and
 * tests Warden's side of the contract; the same story with the real Okta
 * connector on the Okta simulator is test/e2e/seed-story-okta.test.ts.
 */
export interface FakeOkta {
  connector: Connector;
  users: Map<string, Principal>;
  /** Okta Verify factors by user id. */
  factors: Map<string, { id: string; type: string; enrolledAt: string; lastUpdated: string }>;
  /** What the next poll of a transaction answers. */
  pushAnswers: Map<string, 'waiting' | 'success' | 'rejected' | 'timeout'>;
  brokered: BrokerRequest[];
  executed: ActionRow[];
  /** The IdP identity the broker acts as (its API token's service app). */
  brokerIdentity: string;
  /** Sends an event to Warden's receiver as the IdP's event hook would. */
  deliver(url: string, tenant: string, event: { id: string; type: string; change: unknown }): Promise<number>;
}

const Event = z.object({ id: z.string(), type: z.string(), change: z.unknown() });

export function fakeOktaConnector(options: { clock: () => Date }): FakeOkta {
  const state: FakeOkta = {
    connector: undefined as unknown as Connector,
    users: new Map(),
    factors: new Map(),
    pushAnswers: new Map(),
    brokered: [],
    executed: [],
    brokerIdentity: '0oa-warden-broker',
    async deliver(url, tenant, event) {
      const res = await fetch(`${url}/hooks/fakeokta/${tenant}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(event),
      });
      return res.status;
    },
  };
  let txn = 0;
  const store = async (ctx: ConnectorContext, tenant: string, event: z.infer<typeof Event>) => {
    await ctx.store.putInbox({ tenant, source: 'fakeokta', eventId: event.id, eventType: event.type, via: 'hook', payload: event, receivedAt: ctx.clock() });
    ctx.wakeInbox();
  };
  state.connector = {
    name: 'fakeokta',
    description: 'Okta-like test connector',
    tenantConfig: z.object({ org: z.string().describe('The fake org') }).strict(),
    mount(router, ctx) {
      router.post('/hooks/fakeokta/:tenant', express.json(), async (req, res) => {
        await store(ctx, String(req.params.tenant), Event.parse(req.body));
        res.status(200).end();
      });
    },
    inbox: {
      async toChanges(entry) {
        const event = Event.parse(entry.payload);
        const input = ChangeInput.parse(event.change);
        const change = completeChange(input, entry.tenant, entry.receivedAt);
        // Enrich the target from the directory, as a real connector does.
        const known = state.users.get(change.target.id);
        return { changes: [{ ...change, target: known ?? change.target, source: { idp: 'fakeokta', eventIds: [], rawType: event.type, via: 'hook' } }] };
      },
    },
    directory: {
      async getUser(_tenant, idOrLogin) {
        const key = idOrLogin.toLowerCase();
        return [...state.users.values()].find((u) => u.id.toLowerCase() === key || u.login?.toLowerCase() === key);
      },
    },
    proofer: {
      methods: ['okta_verify_push'],
      async start({ targetId, minFactorAgeDays }) {
        const factor = state.factors.get(targetId);
        if (!factor) throw new ProofingRefused('the user has no Okta Verify factor');
        const age = options.clock().getTime() - Date.parse(factor.lastUpdated);
        if (age < minFactorAgeDays * 86_400_000)
          throw new ProofingRefused(`the Okta Verify factor changed at ${factor.lastUpdated}, less than ${minFactorAgeDays} days ago`);
        return { transactionId: `txn-${++txn}`, level: 'callback', factor };
      },
      async poll({ transactionId }) {
        const status = state.pushAnswers.get(transactionId) ?? 'waiting';
        return status === 'success' ? { status, verifiedAt: options.clock().toISOString() } : { status };
      },
    },
    broker: {
      kinds: ['factor.reset_all'],
      async execute(request, ctx) {
        // As every broker does: the run's one record is claimed before the IdP call, and a done run is not run again.
        const claim = await FAKE_OWN_CHANGES.claimRun(
          ctx.store,
          { tenant: request.tenant, requestId: request.requestId, kind: request.kind, targetId: request.targetId, eventTypes: ['user.mfa.factor.reset_all'] },
          ctx.clock(),
        );
        if (!claim.claimed) {
          if (claim.run.state === 'done') return { reference: claim.run.reference ?? '' };
          await FAKE_OWN_CHANGES.resume(ctx.store, claim.run, ctx.clock());
        }
        state.brokered.push(request);
        // The IdP reports the reset it just did, with the broker's service identity as the actor.
        const target = state.users.get(request.targetId);
        await store(ctx, request.tenant, {
          id: `evt-broker-${request.requestId}`,
          type: 'user.mfa.factor.reset_all',
          change: {
            kind: 'factor.reset_all',
            channel: 'api',
            target: target ?? { id: request.targetId },
            actor: { id: state.brokerIdentity, type: 'service' },
            occurredAt: ctx.clock().toISOString(),
          },
        });
        await FAKE_OWN_CHANGES.finishRun(ctx.store, request.tenant, request.requestId, { reference: `reset-${request.requestId}` }, ctx.clock());
        return { reference: `reset-${request.requestId}` };
      },
    },
    enforcer: {
      async execute(action) {
        state.executed.push(action);
        return { done: action.kind };
      },
    },
  };
  return state;
}

/** A directory user for the fake. */
export function user(input: PrincipalInput): Principal {
  return Principal.parse(input);
}
