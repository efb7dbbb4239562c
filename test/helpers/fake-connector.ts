import express from 'express';
import { z } from 'zod';
import { op } from '../../src/admin/operations.js';
import { ChangeInput, completeChange } from '../../src/core/identity-change.js';
import { ActionError, type WardenPlugin } from '../../src/plugin/plugin.js';
import type { ActionRow } from '../../src/store/store.js';

/**
 * A connector for tests of the connector contract (src/plugin/plugin.ts): an
 * imaginary IdP "fakeidp" whose hook posts `{ id, type, change }` events.
 * Not a vendor's payload: it exercises Warden's plumbing, not a vendor.
 */
export interface FakeConnector {
  plugin: WardenPlugin;
  executed: ActionRow[];
  /** Event ids whose normalization throws (to test retries). */
  failing: Set<string>;
  /** Action kinds and the error the enforcer throws for them. */
  actionErrors: Map<string, ActionError | Error>;
  ticks: number;
}

const Event = z.object({ id: z.string(), type: z.string(), change: z.unknown().optional() });

export function fakeConnector(): FakeConnector {
  const state: FakeConnector = { plugin: undefined as unknown as WardenPlugin, executed: [], failing: new Set(), actionErrors: new Map(), ticks: 0 };
  state.plugin = {
    name: 'fakeidp',
    description: 'Test connector',
    tenantConfig: z.object({ org: z.string().describe('The fake org'), hookSecret: z.string().optional() }).strict(),
    schemas: { FakeEvent: Event },
    routes: [{ method: 'post', path: '/hooks/fakeidp/:tenant', summary: 'Fake hook', tags: ['fakeidp'], requestBody: 'FakeEvent', responses: { 202: { description: 'Stored' } } }],
    mount(router, ctx) {
      router.post('/hooks/fakeidp/:tenant', express.json(), async (req, res) => {
        const tenant = String(req.params.tenant);
        if (!ctx.config.tenants.some((t) => t.id === tenant && t.connectors.fakeidp)) {
          res.status(404).end();
          return;
        }
        const event = Event.parse(req.body);
        await ctx.store.putInbox({ tenant, source: 'fakeidp', eventId: event.id, eventType: event.type, via: 'hook', payload: event, receivedAt: ctx.clock() });
        ctx.wakeInbox();
        res.status(202).end();
      });
    },
    inbox: {
      async toChanges(entry) {
        const event = Event.parse(entry.payload);
        if (state.failing.has(event.id)) throw new Error(`cannot normalize ${event.id}`);
        if (event.type === 'noise') return { ignored: 'not an identity change' };
        const change = completeChange(ChangeInput.parse(event.change), entry.tenant, entry.receivedAt);
        return { changes: [{ ...change, source: { idp: 'fakeidp', eventIds: [], rawType: event.type, via: 'hook' } }] };
      },
    },
    enforcer: {
      async execute(action) {
        const error = state.actionErrors.get(action.kind);
        if (error) throw error;
        state.executed.push(action);
        return { done: action.kind };
      },
    },
    async start(ctx) {
      const timer = setInterval(async () => {
        if (await ctx.store.acquireLease('fakeidp:ticker', ctx.instanceId, ctx.clock(), 30)) state.ticks++;
      }, 20);
      return {
        async stop() {
          clearInterval(timer);
        },
      };
    },
    operations: {
      ping: op(z.object({ tenant: z.string() }), async (ctx, args) => {
        await ctx.out(`pong ${args.tenant} via ${ctx.store.driver}\n`);
        return 0;
      }),
    },
    commands(program, cli) {
      program
        .command('fakeidp')
        .description('fake connector commands')
        .command('ping')
        .requiredOption('--tenant <id>', 'tenant')
        .action(async (opts: { tenant: string }) => cli.setExit(await cli.runOperation('fakeidp.ping', opts)));
    },
  };
  return state;
}
