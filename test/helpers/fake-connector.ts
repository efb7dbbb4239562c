import express from 'express';
import { z } from 'zod';
import { op } from '../../src/connector/operation.js';
import { ChangeInput, completeChange, type IdentityChange } from '../../src/core/identity-change.js';
import type { ActionError, Connector } from '../../src/connector/contract.js';
import type { ActionRow } from '../../src/store/store.js';

/**
 * A connector for tests of the connector contract (src/connector/contract.ts): an
 * imaginary IdP "fakeidp" whose hook posts `{ id, type, change }` events.
 * Not a vendor's payload: it exercises Warden's plumbing, not a vendor.
 * `name` lets a test run several (detection across IdPs); its `records`
 * normalizer recognizes the same events in files (`warden detect replay`).
 */
export interface FakeConnector {
  connector: Connector;
  executed: ActionRow[];
  /** Event ids whose normalization throws (to test retries). */
  failing: Set<string>;
  /** Action kinds and the error the enforcer throws for them. */
  actionErrors: Map<string, ActionError | Error>;
  ticks: number;
}

const Event = z.object({ id: z.string(), type: z.string(), change: z.unknown().optional() });

/** The changes a fake event describes, as the connector normalizes them. */
function normalizeEvent(name: string, event: z.infer<typeof Event>, tenant: string, receivedAt: Date): { changes: IdentityChange[] } | { ignored: string } {
  if (event.type === 'noise') return { ignored: 'not an identity change' };
  const change = completeChange(ChangeInput.parse(event.change), tenant, receivedAt);
  return { changes: [{ ...change, source: { idp: name, eventIds: [], rawType: event.type, via: 'hook' } }] };
}

export function fakeConnector(options: { name?: string } = {}): FakeConnector {
  const name = options.name ?? 'fakeidp';
  const state: FakeConnector = { connector: undefined as unknown as Connector, executed: [], failing: new Set(), actionErrors: new Map(), ticks: 0 };
  state.connector = {
    name,
    description: 'Test connector',
    tenantConfig: z.object({ org: z.string().describe('The fake org'), hookSecret: z.string().optional() }).strict(),
    schemas: { FakeEvent: Event },
    routes: [
      {
        method: 'post',
        path: `/hooks/${name}/:tenant`,
        summary: 'Fake hook',
        tags: [name],
        requestBody: 'FakeEvent',
        responses: { 202: { description: 'Stored' } },
      },
    ],
    mount(router, ctx) {
      router.post(`/hooks/${name}/:tenant`, express.json(), async (req, res) => {
        const tenant = String(req.params.tenant);
        if (!ctx.config.tenants.some((t) => t.id === tenant && t.connectors[name])) {
          res.status(404).end();
          return;
        }
        const event = Event.parse(req.body);
        await ctx.store.putInbox({ tenant, source: name, eventId: event.id, eventType: event.type, via: 'hook', payload: event, receivedAt: ctx.clock() });
        ctx.wakeInbox();
        res.status(202).end();
      });
    },
    inbox: {
      async toChanges(entry) {
        const event = Event.parse(entry.payload);
        if (state.failing.has(event.id)) throw new Error(`cannot normalize ${event.id}`);
        return normalizeEvent(name, event, entry.tenant, entry.receivedAt);
      },
    },
    records: {
      recognizes: (record) => Event.safeParse(record).success && typeof (record as { type?: unknown }).type === 'string',
      normalize(record, tenant) {
        const event = Event.parse(record);
        const result = normalizeEvent(name, event, tenant, new Date());
        if ('ignored' in result) return result;
        return { changes: result.changes.map((c) => ({ ...c, source: { ...c.source, eventIds: [event.id], via: 'poll' as const } })) };
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
        if (await ctx.store.acquireLease(`${name}:ticker`, ctx.instanceId, ctx.clock(), 30)) state.ticks++;
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
        .command(name)
        .description('fake connector commands')
        .command('ping')
        .requiredOption('--tenant <id>', 'tenant')
        .action(async (opts: { tenant: string }) => cli.setExit(await cli.runOperation(`${name}.ping`, opts)));
    },
  };
  return state;
}
