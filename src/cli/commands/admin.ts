import type { Command } from 'commander';
import { WardenError } from '../../core/errors.js';
import { AUDIT_EXPORT_FORMATS } from '../../audit/export-audit.js';
import { sinceToIso } from '../../core/since-to-iso.js';
import { API_SCOPES } from '../../access/api-keys.js';
import type { CliRuntime } from '../cli-runtime.js';

/** `warden audit …` and `warden keys …`: operations on the store. */
export function registerAdminCommands(program: Command, rt: CliRuntime): void {
  const { setExit } = rt;

  const audit = program.command('audit').description('verify and export the hash-chained audit log');
  audit
    .command('verify')
    .description("recompute every tenant's hash chain; name the first record that fails")
    .option('--tenant <id>', 'only this tenant')
    .option('--json', 'machine-readable result')
    .addHelpText(
      'after',
      '\nExit status: 0 when every chain verifies, 1 when a record fails (it is named).\nCompare the printed head hash with a copy kept outside Warden to detect a rewritten chain.',
    )
    .action(async (opts: { tenant?: string; json?: boolean }) =>
      setExit(await rt.runOperation('audit.verify', { tenant: opts.tenant, json: opts.json ?? false })),
    );
  audit
    .command('export')
    .description('stream the audit log: one record per line, as hashed (jsonl), as OCSF events for a SIEM (ocsf), or as CSV (csv)')
    .option('--tenant <id>', 'only this tenant')
    .option('--since <when>', 'records from this time on: a duration (24h, 7d) or an ISO 8601 time')
    .option('--format <format>', `output format: ${AUDIT_EXPORT_FORMATS.join(', ')}`, 'jsonl')
    .addHelpText(
      'after',
      "\nocsf: decided changes as Account Change (3001) and alerts as Detection Finding (2004), OCSF 1.8.0, NDJSON;\neach event carries its hash-chain digests (raw_data_hash, unmapped.warden_audit). See docs/siem.md.\ncsv: RFC 4180 with a header line; cells that a spreadsheet would read as a formula are prefixed with '.",
    )
    .action(async (opts: { tenant?: string; since?: string; format: string }) => {
      if (!(AUDIT_EXPORT_FORMATS as readonly string[]).includes(opts.format))
        throw new WardenError('ERR_VALIDATION', `--format ${opts.format}: use one of ${AUDIT_EXPORT_FORMATS.join(', ')}`);
      setExit(
        await rt.runOperation('audit.export', {
          tenant: opts.tenant,
          format: opts.format,
          ...(opts.since ? { since: sinceToIso(opts.since, rt.clock()) } : {}),
        }),
      );
    });
  audit
    .command('sink')
    .description("where each tenant's OCSF stream to its SIEM stands (tenants[].siem.ocsf): delivered through which record, or failing since when and why")
    .option('--tenant <id>', 'only this tenant')
    .option('--json', 'machine-readable result')
    .addHelpText('after', '\nExit status: 0 when every stream is delivering, 1 when one is failing (its records wait in the audit log and are sent again).')
    .action(async (opts: { tenant?: string; json?: boolean }) =>
      setExit(await rt.runOperation('audit.sink', { tenant: opts.tenant, json: opts.json ?? false })),
    );

  program
    .command('inbox')
    .description('stored IdP deliveries')
    .command('list')
    .description("a tenant's deliveries in one state, oldest first, without touching them (failed: given up on, to be looked at)")
    .requiredOption('--tenant <id>', 'tenant')
    .option('--state <state>', 'pending, failed, processed or ignored', 'failed')
    .option('--limit <n>', 'how many', '50')
    .option('--json', 'machine-readable list (without the payloads)')
    .action(async (opts: { tenant: string; state: string; limit: string; json?: boolean }) =>
      setExit(await rt.runOperation('inbox.list', { tenant: opts.tenant, state: opts.state, limit: Number(opts.limit), json: opts.json ?? false })),
    );

  const holds = program.command('holds').description('changes Warden held or denied, and releasing them');
  holds
    .command('list')
    .description('held and denied decisions not released yet, newest first')
    .requiredOption('--tenant <id>', 'tenant')
    .option('--limit <n>', 'how many', '50')
    .option('--json', 'machine-readable list')
    .action(async (opts: { tenant: string; limit: string; json?: boolean }) =>
      setExit(await rt.runOperation('holds.list', { tenant: opts.tenant, limit: Number(opts.limit), json: opts.json ?? false })),
    );
  holds
    .command('release')
    .description('release a hold: cancel containment not yet done, undo the rest (hold group, suspension), audited')
    .argument('<decisionId>', 'the decision that held the change')
    .requiredOption('--tenant <id>', 'tenant')
    .requiredOption('--reason <text>', 'why, for the audit log (e.g. the approved request or ticket)')
    .action(async (decisionId: string, opts: { tenant: string; reason: string }) =>
      setExit(await rt.runOperation('holds.release', { tenant: opts.tenant, decisionId, reason: opts.reason })),
    );

  const keys = program.command('keys').description('API keys for machine clients (Okta Workflows, ServiceNow, Logic Apps)');
  keys
    .command('create')
    .description('mint an API key for one tenant; printed once, stored hashed')
    .requiredOption('--tenant <id>', 'tenant the key acts for')
    .option('--name <name>', 'who uses it, e.g. okta-workflows', 'api-client')
    .option('--scope <scope...>', `scopes: ${API_SCOPES.join(', ')}`, ['decisions:write'])
    .option('--json', 'print the key and its id as JSON')
    .action(async (opts: { tenant: string; name: string; scope: string[]; json?: boolean }) =>
      setExit(await rt.runOperation('keys.create', { tenant: opts.tenant, name: opts.name, scopes: opts.scope, json: opts.json ?? false })),
    );
  keys
    .command('list')
    .description("list a tenant's API keys (never the secrets)")
    .requiredOption('--tenant <id>', 'tenant')
    .option('--json', 'machine-readable list')
    .action(async (opts: { tenant: string; json?: boolean }) => setExit(await rt.runOperation('keys.list', { tenant: opts.tenant, json: opts.json ?? false })));
  keys
    .command('revoke')
    .description('revoke an API key at once')
    .argument('<id>', 'key id (the 12 hex digits after wdn_)')
    .action(async (id: string) => setExit(await rt.runOperation('keys.revoke', { id })));
}
