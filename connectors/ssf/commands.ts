import type { Command } from 'commander';
import { z } from 'zod';
import { op, type Operation } from '../../src/connector/index.js';
import type { CliContext } from '../../src/connector/index.js';
import type { SsfTenants } from './ssf-tenant.js';

/**
 * `warden ssf …`: what the transmitter holds. `warden ssf sets --state failed`
 * lists the SETs that could not be delivered (kept, never dropped) with the
 * last error, e.g. an expired signing key naming its setting.
 */
export function ssfOperations(_tenants: SsfTenants): Record<string, Operation> {
  return {
    streams: op(z.object({ tenant: z.string(), json: z.boolean().default(false) }), async (ctx, args) => {
      const streams = await ctx.store.listSsfStreams(args.tenant);
      if (args.json) await ctx.out(`${JSON.stringify(streams)}\n`);
      else for (const s of streams) await ctx.out(`${s.id}  ${s.receiver}  ${s.status}  ${(s.config.delivery as { method: string }).method}\n`);
      return 0;
    }),
    sets: op(
      z.object({
        tenant: z.string(),
        state: z.enum(['queued', 'running', 'delivered', 'failed']).optional(),
        limit: z.number().int().min(1).max(10_000).default(100),
        json: z.boolean().default(false),
      }),
      async (ctx, args) => {
        const sets = await ctx.store.listSsfSets(args.tenant, args.state, args.limit);
        if (args.json) await ctx.out(`${JSON.stringify(sets.map(({ claims: _c, ...rest }) => rest))}\n`);
        else
          for (const s of sets)
            await ctx.out(
              `${s.createdAt.toISOString()}  ${s.streamId}  ${s.state}  attempts=${s.attempts}  ${s.eventType}${s.lastError ? `  ${s.lastError}` : ''}\n`,
            );
        return 0;
      },
    ),
  };
}

/** Registers `warden ssf streams` and `warden ssf sets`. */
export function registerSsfCommands(program: Command, cli: CliContext): void {
  const ssf = program.command('ssf').description("Shared Signals: streams on Warden's transmitter and the SETs queued on them");
  ssf
    .command('streams')
    .description('the streams receivers created')
    .requiredOption('--tenant <id>', 'tenant')
    .option('--json', 'machine-readable')
    .action(async (opts: { tenant: string; json?: boolean }) => cli.setExit(await cli.runOperation('ssf.streams', { tenant: opts.tenant, json: !!opts.json })));
  ssf
    .command('sets')
    .description('queued, delivered and failed SETs with their last error, newest first (failed ones are kept, never dropped)')
    .requiredOption('--tenant <id>', 'tenant')
    .option('--state <state>', 'queued, running, delivered or failed')
    .option('--limit <n>', 'at most this many', '100')
    .option('--json', 'machine-readable')
    .action(async (opts: { tenant: string; state?: string; limit: string; json?: boolean }) =>
      cli.setExit(
        await cli.runOperation('ssf.sets', { tenant: opts.tenant, ...(opts.state ? { state: opts.state } : {}), limit: Number(opts.limit), json: !!opts.json }),
      ),
    );
}
