import type { Command } from 'commander';
import { z } from 'zod';
import { backfillPrinter, op, runBackfill, type BackfillResult, type CliContext, type ConnectorStore, type Operation } from '../../src/connector/index.js';
import { systemClock } from '../../src/core/clock.js';
import { sinceToIso } from '../../src/core/since-to-iso.js';
import { hookEventTypes } from './event-types.js';
import { createOktaDirectory, serviceIdentityOf } from './okta-directory.js';
import { exportOktaDirectory } from './directory-export.js';
import { identitiesOf, writeSnapshot } from '../../src/connector/index.js';
import { httpStatusOf } from './okta-errors.js';
import type { OktaTenants } from './okta-tenant.js';
import type { OktaTenant } from './okta-tenant.js';
import { systemLogSource } from './system-log-poller.js';
import { applyHoldRule, ensureHoldGroup, hookDrift, holdRule, registerEventHook, verifyEventHook, wardenHooks } from './provision.js';

/**
 * Back-fills a tenant's System Log over `[since, until]` into the inbox through
 * the poller skeleton (src/connector/poller.ts `runBackfill`), the cursor
 * untouched: what `warden okta backfill` runs, callable in-process (benchmarks).
 */
export async function backfillSystemLog(
  tenant: OktaTenant,
  deps: { store: ConnectorStore; clock: () => Date },
  window: { since: Date; until: Date },
  onProgress?: Parameters<typeof runBackfill>[2]['onProgress'],
): Promise<BackfillResult> {
  const source = systemLogSource(tenant, deps);
  return runBackfill(source, { from: window.since, to: window.until }, { clock: deps.clock, ...(onProgress ? { onProgress } : {}) });
}

/** `okta.backfill`: reads the System Log from `since` to now into the inbox (runs where the store is), with progress on stderr. */
export function oktaOperations(tenants: OktaTenants): Record<string, Operation> {
  return {
    backfill: op(
      z.object({ tenant: z.string(), since: z.iso.datetime({ offset: true }), progress: z.enum(['bar', 'lines', 'none']).default('lines') }),
      async (ctx, args) => {
        const tenant = tenants.get(ctx.config, args.tenant);
        await ctx.store.ensureTenants([tenant.id]);
        const clock = ctx.clock ?? systemClock;
        const since = new Date(args.since);
        const until = clock();
        const result = await backfillSystemLog(
          tenant,
          { store: ctx.store, clock },
          { since, until },
          backfillPrinter({ tenant: tenant.id, what: 'okta System Log', write: (t) => ctx.err(t), style: args.progress, clock }),
        );
        await ctx.out(
          `${tenant.id}: read ${result.records} event(s) in ${result.pages} page(s) since ${since.toISOString()}; ${result.stored} new in the inbox (the rest were there already)\n`,
        );
        return 0;
      },
    ),
  };
}

/** Okta's answer to a failed call, in a line (the SDK's errors carry `status` and `errorSummary`). */
function oktaFailure(err: unknown): string | undefined {
  const status = httpStatusOf(err);
  if (status === undefined) return undefined;
  const summary = (err as { errorSummary?: string }).errorSummary ?? (err as Error).message;
  const causes = ((err as { errorCauses?: Array<{ errorSummary?: string }> }).errorCauses ?? []).map((c) => c.errorSummary).filter(Boolean);
  return `Okta answered HTTP ${status}: ${summary}${causes.length ? ` (${causes.join('; ')})` : ''}`;
}

/** `warden okta …` */
export function registerOktaCommands(program: Command, cli: CliContext, tenants: OktaTenants): void {
  const okta = program.command('okta').description('Okta: event hooks, hold group and account management policy, System Log back-fill');
  /** Runs a command that talks to Okta: Okta's refusals are reported in a line, exit 1. */
  const talk =
    <A extends unknown[]>(fn: (...args: A) => Promise<void>) =>
    async (...args: A) => {
      try {
        await fn(...args);
      } catch (err) {
        const line = oktaFailure(err);
        if (!line) throw err;
        cli.io.err(`warden: ${line}\n`);
        cli.setExit(1);
      }
    };
  const tenantOf = (id: string) => tenants.get(cli.loadConfig(), id);

  okta
    .command('backfill')
    .description(
      'read the System Log from --since into the inbox; Warden decides what it has not seen (runs inside the server when it holds the embedded store)',
    )
    .requiredOption('--tenant <id>', 'tenant')
    .option('--since <when>', 'a duration (24h, 7d) or an ISO 8601 time; Okta keeps 90 days', '24h')
    .action(async (opts: { tenant: string; since: string }) => {
      const progress = process.stderr.isTTY ? 'bar' : 'lines';
      cli.setExit(await cli.runOperation('okta.backfill', { tenant: opts.tenant, since: sinceToIso(opts.since, cli.clock()), progress }));
    });

  const hooks = okta.command('hooks').description("the org's event hook pointing at Warden");
  hooks
    .command('register')
    .description('create or update the event hook with exactly the event types Warden needs and the shared-secret header, then have Okta verify it')
    .requiredOption('--tenant <id>', 'tenant')
    .requiredOption('--url <url>', "Warden's public https base URL (or the full hook URL)")
    .action(
      talk(async (opts: { tenant: string; url: string }) => {
        const tenant = tenantOf(opts.tenant);
        const hook = await registerEventHook(tenant, opts.url);
        await cli.io.out(
          `${hook.created ? 'created' : 'updated'} event hook ${hook.id} → ${hook.uri}\n  ${hookEventTypes({ signals: tenant.config.eventHook.signals }).length} event types, header ${tenant.config.eventHook.header}\n  status ${hook.status ?? '?'}, verification ${hook.verificationStatus ?? '?'}${hook.error ? ` (${hook.error}: Okta must reach ${hook.uri} and get the challenge back)` : ''}\n`,
        );
        cli.setExit(hook.verificationStatus === 'VERIFIED' ? 0 : 1);
      }),
    );
  hooks
    .command('list')
    .description("the org's event hooks pointing at Warden, and whether their event types are what Warden needs")
    .requiredOption('--tenant <id>', 'tenant')
    .option('--json', 'machine-readable')
    .action(
      talk(async (opts: { tenant: string; json?: boolean }) => {
        const tenant = tenantOf(opts.tenant);
        const rows = (await wardenHooks(tenant)).map((h) => ({
          id: h.id,
          name: h.name,
          status: h.status,
          verificationStatus: h.verificationStatus,
          uri: h.channel?.config?.uri,
          ...hookDrift(h.events?.items ?? [], hookEventTypes({ signals: tenant.config.eventHook.signals })),
        }));
        if (opts.json) await cli.io.out(JSON.stringify(rows, null, 2) + '\n');
        else if (rows.length === 0) await cli.io.out(`no Warden event hook in ${tenant.config.orgUrl}\n`);
        else
          for (const r of rows)
            await cli.io.out(
              `${r.id}  ${r.status}/${r.verificationStatus}  ${r.uri}${r.missing.length ? `  MISSING ${r.missing.join(',')}` : ''}${r.extra.length ? `  EXTRA ${r.extra.join(',')}` : ''}\n`,
            );
        cli.setExit(rows.length > 0 && rows.every((r) => r.missing.length === 0 && r.verificationStatus === 'VERIFIED') ? 0 : 1);
      }),
    );
  hooks
    .command('verify')
    .description('have Okta verify the Warden event hook again (Okta calls Warden with a challenge)')
    .requiredOption('--tenant <id>', 'tenant')
    .option('--id <hookId>', 'the hook (default: the Warden hook)')
    .action(
      talk(async (opts: { tenant: string; id?: string }) => {
        const hook = await verifyEventHook(tenantOf(opts.tenant), opts.id);
        await cli.io.out(`event hook ${hook.id}: ${hook.status ?? '?'}, ${hook.verificationStatus ?? '?'}\n`);
        cli.setExit(hook.verificationStatus === 'VERIFIED' ? 0 : 1);
      }),
    );

  okta
    .command('directory')
    .description("the org's directory: export a snapshot for warden detect replay --directory")
    .command('export')
    .description(
      "write a directory snapshot of the org (users with groups, admin roles and profile as enrichment reads them; the tenant's help-desk roles and groups; its identity links) for warden detect replay --directory",
    )
    .requiredOption('--tenant <id>', 'tenant')
    .option('--out <file>', 'write it to this file (default: standard output)')
    .action(
      talk(async (opts: { tenant: string; out?: string }) => {
        const config = cli.loadConfig();
        const tenant = tenants.get(config, opts.tenant);
        const snapshot = await exportOktaDirectory(tenant, createOktaDirectory(tenants), {
          exportedAt: cli.clock(),
          ...identitiesOf(config, opts.tenant),
        });
        await writeSnapshot(cli, snapshot, opts.out);
        cli.setExit(0);
      }),
    );

  okta
    .command('provision')
    .description('create the hold group; print (or with --apply add) the account management policy rule that denies enrollment and recovery to it')
    .requiredOption('--tenant <id>', 'tenant')
    .option('--apply', "add the rule to the org's account management policy (scope okta.policies.manage)")
    .action(
      talk(async (opts: { tenant: string; apply?: boolean }) => {
        const config = cli.loadConfig();
        const tenant = tenants.get(config, opts.tenant);
        const group = await ensureHoldGroup(tenant);
        await cli.io.out(`hold group "${tenant.config.holdGroup.name}": ${group.id}${group.created ? ' (created)' : ' (exists)'}\n`);
        // Broker mode matches the change Warden makes by the principal Okta names as its actor: say which, and whether the config lists it.
        const identity = await serviceIdentityOf(tenant);
        if (identity) {
          const listed = (config.tenants.find((t) => t.id === tenant.id)?.workflow?.brokerIdentities ?? []).some(
            (b) => b.toLowerCase() === identity.toLowerCase(),
          );
          await cli.io.out(`Warden acts in Okta as ${identity}: ${listed ? 'listed in' : 'for broker mode, add it to'} tenants[].workflow.brokerIdentities\n`);
        }
        if (!opts.apply) {
          await cli.io.out(
            `\nAdd this rule to the Okta account management policy (Security > Authentication Policies > Okta Account Management Policy),\nor run again with --apply (POST /api/v1/policies/{policyId}/rules):\n\n${JSON.stringify(holdRule(group.id), null, 2)}\n`,
          );
          cli.setExit(0);
          return;
        }
        const rule = await applyHoldRule(tenant, group.id);
        await cli.io.out(`account management policy ${rule.policyId}: rule ${rule.ruleId}${rule.created ? ' added' : ' already there'}\n`);
        cli.setExit(0);
      }),
    );
}
