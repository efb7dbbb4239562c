import { systemClock } from '../../src/core/clock.js';
import { hostname } from 'node:os';
import { z } from 'zod';
import {
  backfillPrinter,
  op,
  runBackfill,
  wardenCommand,
  type BackfillResult,
  type ConnectorStore,
  type OpContext,
  type Operation,
} from '../../src/connector/index.js';
import { WardenError } from '../../src/core/errors.js';
import { AUDIT_CURSOR, directoryAuditsBackfill, type AuditCursor } from './audit-poller.js';
import type { EntraRuntime } from './entra-runtime.js';
import type { EntraTenant } from './entra-tenant.js';
import { holdPolicies, provisionHoldGroup } from './provision.js';
import { createSubscriptionManager, NOTIFIED_CURSOR, type SubscriptionManager, type SubscriptionState } from './subscription-manager.js';

/**
 * The `warden entra …` operations, written once against the store: the CLI
 * runs them in its own process, or inside the running server when it holds
 * the embedded store (src/admin/operations.ts).
 */

function tenantOf(runtime: EntraRuntime, ctx: OpContext, id: string): EntraTenant {
  const tenant = runtime.tenant(ctx.config, id, ctx.clock);
  if (!ctx.config.tenants.some((t) => t.id === id)) throw new WardenError('ERR_TENANT_UNKNOWN', `tenant "${id}" is not in ${ctx.config.file}`);
  if (!tenant) throw new WardenError('ERR_TENANT_UNKNOWN', `tenant "${id}" has no entra section in ${ctx.config.file}`);
  return tenant;
}

/** The clock of whoever runs the operation: the server's inside it, else the system's. */
function clockOf(ctx: OpContext): () => Date {
  return ctx.clock ?? systemClock;
}

function manager(ctx: OpContext, tenant: EntraTenant): SubscriptionManager {
  return createSubscriptionManager({ store: ctx.store, clock: clockOf(ctx), holder: `cli:${hostname()}:${process.pid}`, actor: ctx.actor }, tenant);
}

/** `3d 4h` from milliseconds. */
export function humanDuration(ms: number): string {
  const sign = ms < 0 ? '-' : '';
  let s = Math.abs(Math.round(ms / 1000));
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  return sign + (d ? `${d}d ${h}h` : h ? `${h}h ${m}m` : `${m}m ${s % 60}s`);
}

const Tenant = z.object({ tenant: z.string() });

/**
 * Back-fills a tenant's directoryAudits over `[since, until]` into the inbox
 * through the poller skeleton (src/connector/poller.ts `runBackfill`), the
 * cursor untouched: what `warden entra backfill` runs, callable in-process
 * (benchmarks).
 */
export async function backfillDirectoryAudits(
  tenant: EntraTenant,
  deps: { store: ConnectorStore; clock: () => Date },
  window: { since: Date; until: Date },
  onProgress?: Parameters<typeof runBackfill>[2]['onProgress'],
): Promise<BackfillResult> {
  const source = { what: 'entra directoryAudits', name: 'entra_directory_audits', tenant: tenant.id, backfill: directoryAuditsBackfill(tenant, deps) };
  return runBackfill(source, { from: window.since, to: window.until }, { clock: deps.clock, ...(onProgress ? { onProgress } : {}) });
}

export function entraOperations(runtime: EntraRuntime): Record<string, Operation> {
  return {
    subscribe: op(Tenant.extend({ recreate: z.boolean().default(false) }), async (ctx, args) => {
      const tenant = tenantOf(runtime, ctx, args.tenant);
      if (!tenant.config.subscription.enabled) {
        ctx.err(`tenant ${args.tenant}: entra.subscription.enabled is false; nothing to do\n`);
        return 1;
      }
      const result = await manager(ctx, tenant).ensure({ recreate: args.recreate });
      await ctx.out(
        `tenant ${args.tenant}: ${result.action}${result.silent ? ' (the previous one was silent)' : ''}: subscription ${result.state.id} on /users, expires ${result.state.expiresAt}\n`,
      );
      return 0;
    }),

    renew: op(Tenant, async (ctx, args) => {
      const tenant = tenantOf(runtime, ctx, args.tenant);
      const result = await manager(ctx, tenant).ensure({ forceRenew: true });
      await ctx.out(`tenant ${args.tenant}: ${result.action}: subscription ${result.state.id}, expires ${result.state.expiresAt}\n`);
      return 0;
    }),

    list: op(Tenant.extend({ json: z.boolean().default(false) }), async (ctx, args) => {
      const tenant = tenantOf(runtime, ctx, args.tenant);
      const now = clockOf(ctx)().getTime();
      const state = ((await ctx.store.getCursor(args.tenant, 'entra.subscription')) ?? {}) as SubscriptionState;
      const notified = (await ctx.store.getCursor(args.tenant, NOTIFIED_CURSOR)) as { lastAt?: string } | undefined;
      const audit = ((await ctx.store.getCursor(args.tenant, AUDIT_CURSOR)) ?? {}) as AuditCursor;
      const graph = await manager(ctx, tenant).listGraph();
      if (args.json) {
        await ctx.out(
          JSON.stringify({ tenant: args.tenant, warden: state, lastNotificationAt: notified?.lastAt ?? null, auditPoller: audit, graph }, null, 2) + '\n',
        );
        return 0;
      }
      const lines = [`tenant ${args.tenant} (Entra tenant ${tenant.config.tenantId})`];
      if (state.id) {
        const inGraph = graph.some((s) => s.id === state.id);
        lines.push(
          `  Warden's subscription ${state.id}: ${inGraph ? 'present in Graph' : 'NOT in Graph (the manager recreates it)'}, expires ${state.expiresAt} (in ${humanDuration(Date.parse(state.expiresAt ?? '') - now)})`,
          `    created ${state.createdAt}${state.renewedAt ? `, renewed ${state.renewedAt}` : ''}${state.lastCheckAt ? `, checked ${state.lastCheckAt}` : ''}${state.lastError ? `; last error: ${state.lastError}` : ''}`,
        );
      } else
        lines.push(
          `  no subscription yet${tenant.config.subscription.enabled ? ` (\`${wardenCommand()} entra subscribe\` creates it)` : ' (subscription.enabled is false)'}`,
        );
      lines.push(`  last notification: ${notified?.lastAt ?? 'none received'}`);
      lines.push(
        `  audit poller: ${audit.lastPollStartedAt ? `last poll ${audit.lastPollStartedAt}, read ${audit.lastRead ?? 0}, new ${audit.lastNew ?? 0}` : 'no poll yet'}${audit.notBefore ? `, throttled until ${audit.notBefore}` : ''}${audit.lastError ? `; last error: ${audit.lastError}` : ''}`,
      );
      lines.push(`  Graph lists ${graph.length} subscription${graph.length === 1 ? '' : 's'} of this app${graph.length ? ':' : ''}`);
      for (const s of graph) lines.push(`    ${s.id}  ${s.resource}  ${s.changeType}  ${s.notificationUrl}  expires ${s.expirationDateTime}`);
      await ctx.out(lines.join('\n') + '\n');
      return 0;
    }),

    backfill: op(
      Tenant.extend({
        since: z.iso.datetime({ offset: true }),
        until: z.iso.datetime({ offset: true }).optional(),
        progress: z.enum(['bar', 'lines', 'none']).default('lines'),
      }),
      async (ctx, args) => {
        const tenant = tenantOf(runtime, ctx, args.tenant);
        await ctx.store.ensureTenants([tenant.id]);
        const clock = clockOf(ctx);
        const since = new Date(args.since);
        const until = args.until ? new Date(args.until) : clock();
        if (since >= until) throw new WardenError('ERR_VALIDATION', '--since must be before --until');
        await ctx.out(`Reading the Entra audit log of tenant ${args.tenant} from ${since.toISOString()} to ${until.toISOString()}\n`);
        const result = await backfillDirectoryAudits(
          tenant,
          { store: ctx.store, clock },
          { since, until },
          backfillPrinter({ tenant: tenant.id, what: 'entra directoryAudits', write: (t) => ctx.err(t), style: args.progress, clock }),
        );
        await ctx.out(
          `Done: ${result.records} record${result.records === 1 ? '' : 's'} read in ${result.pages} page${result.pages === 1 ? '' : 's'}, ${result.stored} new stored, ${result.records - result.stored} already stored or skipped; the server's inbox worker decides them (records already stored are never decided twice).\n`,
        );
        return 0;
      },
    ),

    provision: op(Tenant, async (ctx, args) => {
      const tenant = tenantOf(runtime, ctx, args.tenant);
      const group = await provisionHoldGroup(tenant);
      const graph = tenant.session.endpoints.graphBaseUrl;
      const policies = holdPolicies(group.id);
      const out = [
        `Hold group: ${group.displayName} (${group.id}) ${group.created ? 'created' : 'already there'}.`,
        ...(tenant.config.holdGroup.id === group.id
          ? []
          : ['', `Put it in warden.yaml under tenant ${args.tenant}:`, '', '    entra:', '      holdGroup:', `        id: ${group.id}`]),
        '',
        'Conditional Access: create ONE of these policies (Entra admin center > Protection > Conditional Access, or Graph;',
        'Warden does not hold Policy.ReadWrite.ConditionalAccess). Both start report-only: enable them after checking sign-in logs.',
        '',
        `(a) Block security info registration for held users:  POST ${graph}/v1.0/identity/conditionalAccess/policies`,
        JSON.stringify(policies.block, null, 2),
        '',
        `(b) Allow it only with a Temporary Access Pass (Warden issues one for an approved request).`,
        `    First the authentication strength:  POST ${graph}/v1.0/identity/conditionalAccess/authenticationStrength/policies`,
        JSON.stringify(policies.tapStrength, null, 2),
        `    then the policy, with the strength's id:  POST ${graph}/v1.0/identity/conditionalAccess/policies`,
        JSON.stringify(policies.tap('<authentication strength id>'), null, 2),
        '',
        'Exclude your break-glass accounts from the policy. See docs/entra.md.',
      ];
      await ctx.out(out.join('\n') + '\n');
      return 0;
    }),
  };
}
