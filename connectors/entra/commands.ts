import type { Command } from 'commander';
import { sinceToIso } from '../../src/core/since-to-iso.js';
import { identitiesOf, writeSnapshot, type CliContext } from '../../src/connector/index.js';
import { exportEntraDirectory } from './directory-export.js';
import { openEntraTenant } from './entra-tenant.js';

/** `warden entra subscribe | renew | list | backfill | directory export | provision`. */
export function registerEntraCommands(program: Command, cli: CliContext): void {
  const entra = program
    .command('entra')
    .description('Microsoft Entra ID: change-notification subscriptions, audit-log backfill, hold group and Conditional Access');
  entra
    .command('subscribe')
    .description('create the /users change-notification subscription now (or repair it: adopt, recreate, renew)')
    .requiredOption('--tenant <id>', 'tenant')
    .option('--recreate', 'replace the subscription even if it is healthy (after rotating the clientState)')
    .action(async (opts: { tenant: string; recreate?: boolean }) =>
      cli.setExit(await cli.runOperation('entra.subscribe', { tenant: opts.tenant, recreate: opts.recreate ?? false })),
    );
  entra
    .command('renew')
    .description('renew the subscription now, whatever its expiry')
    .requiredOption('--tenant <id>', 'tenant')
    .action(async (opts: { tenant: string }) => cli.setExit(await cli.runOperation('entra.renew', { tenant: opts.tenant })));
  entra
    .command('list')
    .description('the subscription Warden keeps, what Graph lists for the app, notification and poller health')
    .requiredOption('--tenant <id>', 'tenant')
    .option('--json', 'machine-readable')
    .action(async (opts: { tenant: string; json?: boolean }) =>
      cli.setExit(await cli.runOperation('entra.list', { tenant: opts.tenant, json: opts.json ?? false })),
    );
  entra
    .command('backfill')
    .description('read the Entra audit log of a past period into the inbox (records already stored are skipped), with progress and an ETA on stderr')
    .requiredOption('--tenant <id>', 'tenant')
    .requiredOption('--since <when>', 'a duration back from now (24h, 7d) or an ISO 8601 time')
    .option('--until <when>', 'end of the period (default now): a duration back from now or an ISO 8601 time')
    .addHelpText('after', '\nEntra keeps audit logs 7 days (Free) or 30 days (P1/P2). The running server decides what is read; nothing is decided twice.')
    .action(async (opts: { tenant: string; since: string; until?: string }) =>
      cli.setExit(
        await cli.runOperation('entra.backfill', {
          tenant: opts.tenant,
          since: sinceToIso(opts.since, cli.clock()),
          ...(opts.until ? { until: sinceToIso(opts.until, cli.clock()) } : {}),
          progress: process.stderr.isTTY ? 'bar' : 'lines',
        }),
      ),
    );
  entra
    .command('directory')
    .description("the tenant's directory: export a snapshot for warden detect replay --directory")
    .command('export')
    .description(
      "write a directory snapshot of the Entra tenant (users with groups, directory roles and profile as enrichment reads them; the tenant's help-desk roles; its identity links) for warden detect replay --directory",
    )
    .requiredOption('--tenant <id>', 'tenant')
    .option('--out <file>', 'write it to this file (default: standard output)')
    .action(async (opts: { tenant: string; out?: string }) => {
      const config = cli.loadConfig();
      const snapshot = await exportEntraDirectory(openEntraTenant(config, opts.tenant, { clock: cli.clock }), {
        exportedAt: cli.clock(),
        ...identitiesOf(config, opts.tenant),
      });
      await writeSnapshot(cli, snapshot, opts.out);
      cli.setExit(0);
    });
  entra
    .command('provision')
    .description('create the hold group (or find it) and print the Conditional Access policy on "Register security information"')
    .requiredOption('--tenant <id>', 'tenant')
    .action(async (opts: { tenant: string }) => cli.setExit(await cli.runOperation('entra.provision', { tenant: opts.tenant })));
}
