import type { Command } from 'commander';
import type { CliRuntime } from '../cli-runtime.js';

/** `warden notify list [--failed]`: chat, e-mail, "this wasn't me" and webhook deliveries (docs/notifications.md). */
export function registerNotifyCommands(program: Command, rt: CliRuntime): void {
  const notify = program.command('notify').description('outbound notifications: Slack, Teams, e-mail, "this wasn\'t me" notices and webhooks');
  notify
    .command('list')
    .description("a tenant's outbound messages, newest first, with attempts and the last error")
    .requiredOption('--tenant <id>', 'tenant')
    .option('--failed', 'only those Warden gave up on')
    .option('--state <state>', 'queued, running, delivered or failed')
    .option('--kind <kind>', 'channel (Slack, Teams, e-mail), notme ("this wasn\'t me" notices) or webhook')
    .option('--limit <n>', 'how many', '50')
    .option('--json', 'machine-readable')
    .action(async (o: { tenant: string; failed?: boolean; state?: string; kind?: string; limit: string; json?: boolean }) =>
      rt.setExit(
        await rt.runOperation('notify.list', {
          tenant: o.tenant,
          failed: o.failed ?? false,
          ...(o.state ? { state: o.state } : {}),
          ...(o.kind ? { kind: o.kind } : {}),
          limit: Number(o.limit),
          json: o.json ?? false,
        }),
      ),
    );
}
