import { systemClock } from '../core/clock.js';
import { z } from 'zod';
import { op, type OpContext, type Operation } from '../connector/operation.js';
import { WardenError } from '../core/errors.js';
import { RequestState } from '../core/change-request.js';
import { parseDuration } from '../core/policy/duration.js';
import { WebhookRoutes } from '../notify/webhook-routes.js';
import { PolicyRegistry } from '../config/policy-registry.js';
import { reportCsv, reportTable } from './accountability-report.js';
import type { Caller } from './caller.js';
import { Workflow } from './workflow.js';

/**
 * The workflow's CLI operations (`warden requests|reviews|exceptions|report`),
 * run in-process or inside the running server through its admin socket. The
 * operator at the shell is the caller (type `cli`): trusted like an admin,
 * and named in the audit log.
 */

/** A workflow over the operation's store and config (no connectors: what needs the IdP or ITSM is done through the API). */
export function workflowOf(ctx: OpContext): Workflow {
  const clock = ctx.clock ?? systemClock;
  return new Workflow({
    store: ctx.store,
    policies: new PolicyRegistry(ctx.config.tenants),
    config: ctx.config,
    routes: new WebhookRoutes(ctx.config.tenants),
    ports: { directory: () => undefined, proofer: () => undefined, broker: () => undefined, tickets: () => undefined },
    connectorContext: () => {
      throw new WardenError('ERR_VALIDATION', 'this needs the IdP or the ITSM: use the HTTP API of the running server');
    },
    clock,
  });
}

const cli = (ctx: OpContext): Caller => ({ type: 'cli', id: ctx.actor.id });
const Json = z.boolean().default(false);
const Tenant = z.string().min(1);

function configured(ctx: OpContext, tenant: string): void {
  if (!ctx.config.tenants.some((t) => t.id === tenant))
    throw new WardenError(
      'ERR_TENANT_UNKNOWN',
      `tenant "${tenant}" is not in ${ctx.config.file} (configured: ${ctx.config.tenants.map((t) => t.id).join(', ')})`,
    );
}

const who = (p: { id: string; login?: string | undefined }) => p.login ?? p.id;

/** The operations, by name (`requests.list`, `reviews.overdue`, …), registered with Warden's own. */
export const WORKFLOW_OPERATIONS: Record<string, Operation> = {
  'requests.list': op(
    z.object({ tenant: Tenant, state: RequestState.optional(), limit: z.number().int().min(1).max(1000).default(50), json: Json }),
    async (ctx, args) => {
      configured(ctx, args.tenant);
      const page = await workflowOf(ctx).list(args.tenant, args.state ? { state: args.state } : {}, args.limit, undefined, cli(ctx));
      if (args.json) await ctx.out(JSON.stringify(page.items, null, 2) + '\n');
      else if (page.items.length === 0) await ctx.out(`no change requests in tenant ${args.tenant}${args.state ? ` in state ${args.state}` : ''}\n`);
      else
        for (const r of page.items)
          await ctx.out(
            `${r.id}  ${r.state.toUpperCase().padEnd(16)}  ${r.createdAt}  ${r.kind} on ${who(r.target)}, asked by ${who(r.requester)}, executor ${who(r.executor)}${r.breakGlass ? '  BREAK-GLASS' : ''}${r.ticket ? `  ${r.ticket.system}:${r.ticket.id}` : ''}\n`,
          );
      return 0;
    },
  ),

  'requests.show': op(z.object({ tenant: Tenant, id: z.string().min(1) }), async (ctx, args) => {
    configured(ctx, args.tenant);
    await ctx.out(JSON.stringify(await workflowOf(ctx).get(args.tenant, args.id, cli(ctx)), null, 2) + '\n');
    return 0;
  }),

  'requests.cancel': op(z.object({ tenant: Tenant, id: z.string().min(1), reason: z.string().min(1).max(2000) }), async (ctx, args) => {
    configured(ctx, args.tenant);
    const r = await workflowOf(ctx).cancel(args.tenant, args.id, args.reason, cli(ctx));
    await ctx.out(`cancelled ${r.id}\n`);
    return 0;
  }),

  'requests.bundle': op(z.object({ tenant: Tenant, id: z.string().min(1) }), async (ctx, args) => {
    configured(ctx, args.tenant);
    await ctx.out(JSON.stringify(await workflowOf(ctx).evidenceBundle(args.tenant, args.id, cli(ctx)), null, 2) + '\n');
    return 0;
  }),

  'reviews.overdue': op(z.object({ tenant: Tenant.optional(), json: Json }), async (ctx, args) => {
    if (args.tenant) configured(ctx, args.tenant);
    const reviews = await workflowOf(ctx).overdueReviews(args.tenant, cli(ctx));
    const known = reviews.filter((r) => ctx.config.tenants.some((t) => t.id === r.tenant));
    if (args.json) await ctx.out(JSON.stringify(known, null, 2) + '\n');
    else if (known.length === 0) await ctx.out('no overdue reviews\n');
    else
      for (const r of known) {
        const request = await ctx.store.getRequest(r.tenant, r.requestId);
        await ctx.out(
          `${r.tenant}  review ${r.id}  due ${r.dueAt}  break-glass ${r.requestId}${request ? `: ${request.kind} on ${who(request.target)} by ${who(request.executor)}: ${request.breakGlass?.reason ?? ''}` : ''}\n`,
        );
      }
    return known.length > 0 ? 1 : 0;
  }),

  'reviews.complete': op(
    z.object({ tenant: Tenant, id: z.string().min(1), outcome: z.enum(['justified', 'unjustified']), notes: z.string().min(1).max(4000) }),
    async (ctx, args) => {
      configured(ctx, args.tenant);
      const review = await workflowOf(ctx).completeReview(args.tenant, args.id, { outcome: args.outcome, notes: args.notes }, cli(ctx));
      await ctx.out(`review ${review.id}: ${review.outcome}\n`);
      return 0;
    },
  ),

  'exceptions.add': op(
    z.object({
      tenant: Tenant,
      ruleId: z.string().min(1),
      target: z.string().min(1),
      owner: z.string().min(1),
      reason: z.string().min(10).max(2000),
      expires: z.string().min(1).describe('a duration from now (30d) or an ISO 8601 time'),
      json: Json,
    }),
    async (ctx, args) => {
      configured(ctx, args.tenant);
      const now = (ctx.clock ?? systemClock)();
      const expiresAt = /^(\d+[smhd])+$/.test(args.expires)
        ? new Date(now.getTime() + parseDuration(args.expires) * 1000).toISOString()
        : new Date(args.expires).toISOString();
      const e = await workflowOf(ctx).createException(
        { tenant: args.tenant, ruleId: args.ruleId, target: args.target, owner: args.owner, reason: args.reason, expiresAt },
        cli(ctx),
      );
      await ctx.out(
        args.json
          ? JSON.stringify(e, null, 2) + '\n'
          : `exception ${e.id}: rule ${e.ruleId} not applied to ${e.target} until ${e.expiresAt} (owner ${e.owner})\n`,
      );
      return 0;
    },
  ),

  'exceptions.list': op(z.object({ tenant: Tenant, json: Json }), async (ctx, args) => {
    configured(ctx, args.tenant);
    const items = await workflowOf(ctx).listExceptions(args.tenant, cli(ctx));
    if (args.json) await ctx.out(JSON.stringify(items, null, 2) + '\n');
    else if (items.length === 0) await ctx.out(`no policy exceptions in tenant ${args.tenant}\n`);
    else
      for (const e of items)
        await ctx.out(
          `${e.id}  ${e.state.toUpperCase().padEnd(7)}  rule ${e.ruleId} not applied to ${e.target} until ${e.expiresAt}  owner ${e.owner}: ${e.reason}\n`,
        );
    return 0;
  }),

  'exceptions.revoke': op(z.object({ tenant: Tenant, id: z.string().min(1) }), async (ctx, args) => {
    configured(ctx, args.tenant);
    const e = await workflowOf(ctx).revokeException(args.tenant, args.id, cli(ctx));
    await ctx.out(`revoked ${e.id}\n`);
    return 0;
  }),

  'report.accountability': op(
    z.object({
      tenant: Tenant,
      since: z.iso.datetime({ offset: true }),
      until: z.iso.datetime({ offset: true }).optional(),
      format: z.enum(['table', 'csv', 'json']).default('table'),
    }),
    async (ctx, args) => {
      configured(ctx, args.tenant);
      const report = await workflowOf(ctx).report(
        args.tenant,
        new Date(args.since),
        args.until ? new Date(args.until) : (ctx.clock ?? systemClock)(),
        cli(ctx),
      );
      await ctx.out(args.format === 'json' ? JSON.stringify(report, null, 2) + '\n' : args.format === 'csv' ? reportCsv(report) : reportTable(report));
      return 0;
    },
  ),
};
