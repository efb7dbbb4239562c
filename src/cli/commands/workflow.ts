import type { Command } from 'commander';
import { WardenError } from '../../core/errors.js';
import type { CliRuntime } from '../cli-runtime.js';
import { sinceToIso } from '../../core/since-to-iso.js';

/** `warden requests …`, `warden reviews …`, `warden exceptions …`, `warden report accountability`. */
export function registerWorkflowCommands(program: Command, rt: CliRuntime): void {
  const { setExit } = rt;
  const run = async (name: string, args: unknown) => setExit(await rt.runOperation(name, args));

  const requests = program.command('requests').description('change requests: list, show, cancel (file and approve them through the HTTP API)');
  requests
    .command('list')
    .description('newest first')
    .requiredOption('--tenant <id>', 'tenant')
    .option('--state <state>', 'only this state (draft, proofing, pending_approval, approved, executed, reviewed, rejected, expired, cancelled)')
    .option('--limit <n>', 'how many', '50')
    .option('--json', 'machine-readable')
    .action((o: { tenant: string; state?: string; limit: string; json?: boolean }) =>
      run('requests.list', { tenant: o.tenant, ...(o.state ? { state: o.state } : {}), limit: Number(o.limit), json: o.json ?? false }),
    );
  requests
    .command('show')
    .description('one request with its evidence, approvals and review, as JSON')
    .argument('<id>', 'request id')
    .requiredOption('--tenant <id>', 'tenant')
    .action((id: string, o: { tenant: string }) => run('requests.show', { tenant: o.tenant, id }));
  requests
    .command('bundle')
    .description(
      "one request's evidence bundle as JSON: the request, its transitions, proofing, approvals, matched change and decision, and its audit records with their chain digests",
    )
    .argument('<id>', 'request id')
    .requiredOption('--tenant <id>', 'tenant')
    .action((id: string, o: { tenant: string }) => run('requests.bundle', { tenant: o.tenant, id }));
  requests
    .command('cancel')
    .description('cancel an open request, with a reason for the audit log')
    .argument('<id>', 'request id')
    .requiredOption('--tenant <id>', 'tenant')
    .requiredOption('--reason <text>', 'why')
    .action((id: string, o: { tenant: string; reason: string }) => run('requests.cancel', { tenant: o.tenant, id, reason: o.reason }));

  const reviews = program.command('reviews').description('break-glass reviews');
  reviews
    .command('overdue')
    .description('open reviews past their due time')
    .option('--tenant <id>', 'only this tenant')
    .option('--json', 'machine-readable')
    .addHelpText(
      'after',
      '\nExit status: 0 when none is overdue, 1 when some are (for cron and CI checks). The metric warden_reviews_overdue has the same count.',
    )
    .action((o: { tenant?: string; json?: boolean }) => run('reviews.overdue', { ...(o.tenant ? { tenant: o.tenant } : {}), json: o.json ?? false }));
  reviews
    .command('complete')
    .description('record the verdict of a break-glass review')
    .argument('<id>', 'review id')
    .requiredOption('--tenant <id>', 'tenant')
    .requiredOption('--outcome <outcome>', 'justified or unjustified')
    .requiredOption('--notes <text>', 'what the review found')
    .action((id: string, o: { tenant: string; outcome: string; notes: string }) =>
      run('reviews.complete', { tenant: o.tenant, id, outcome: o.outcome, notes: o.notes }),
    );

  const exceptions = program.command('exceptions').description('policy exceptions: a rule not applied to one target, with owner, reason and expiry');
  exceptions
    .command('add')
    .description('grant an exception (audited)')
    .requiredOption('--tenant <id>', 'tenant')
    .requiredOption('--rule <id>', 'the rule not applied')
    .requiredOption('--target <user>', 'IdP id, login or email of the target')
    .requiredOption('--owner <who>', 'who answers for it')
    .requiredOption('--reason <text>', 'why')
    .requiredOption('--expires <when>', 'a duration from now (30d) or an ISO 8601 time')
    .option('--json', 'machine-readable')
    .action((o: { tenant: string; rule: string; target: string; owner: string; reason: string; expires: string; json?: boolean }) =>
      run('exceptions.add', {
        tenant: o.tenant,
        ruleId: o.rule,
        target: o.target,
        owner: o.owner,
        reason: o.reason,
        expires: o.expires,
        json: o.json ?? false,
      }),
    );
  exceptions
    .command('list')
    .description('active, expired and revoked exceptions')
    .requiredOption('--tenant <id>', 'tenant')
    .option('--json', 'machine-readable')
    .action((o: { tenant: string; json?: boolean }) => run('exceptions.list', { tenant: o.tenant, json: o.json ?? false }));
  exceptions
    .command('revoke')
    .description('revoke an exception at once')
    .argument('<id>', 'exception id')
    .requiredOption('--tenant <id>', 'tenant')
    .action((id: string, o: { tenant: string }) => run('exceptions.revoke', { tenant: o.tenant, id }));

  const report = program.command('report').description('reports');
  report
    .command('accountability')
    .description('who asked, verified, approved and executed every change; unmatched changes; break-glass and exceptions')
    .requiredOption('--tenant <id>', 'tenant')
    .option('--since <when>', 'a duration back from now (30d) or an ISO 8601 time', '30d')
    .option('--until <when>', 'same forms; default now')
    .option('--format <format>', 'table, csv or json', 'table')
    .action((o: { tenant: string; since: string; until?: string; format: string }) => {
      if (!['table', 'csv', 'json'].includes(o.format)) throw new WardenError('ERR_VALIDATION', `--format ${o.format}: table, csv or json`);
      return run('report.accountability', {
        tenant: o.tenant,
        since: sinceToIso(o.since, rt.clock()),
        ...(o.until ? { until: sinceToIso(o.until, rt.clock()) } : {}),
        format: o.format,
      });
    });
}
