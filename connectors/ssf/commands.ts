import type { Command } from 'commander';
import { z } from 'zod';
import { op, type Operation } from '../../src/connector/index.js';
import type { CliContext } from '../../src/connector/index.js';
import type { SsfTenants } from './ssf-tenant.js';
import { changeStreamStatus } from './transmitter.js';
import { WardenError } from '../../src/core/errors.js';
import { systemClock } from '../../src/core/clock.js';

/**
 * `warden ssf …`: what the transmitter holds. `warden ssf sets --state failed`
 * lists the SETs that could not be delivered (kept, never dropped) with the
 * last error, e.g. an expired signing key naming its setting.
 */
export function ssfOperations(tenants: SsfTenants): Record<string, Operation> {
  return {
    status: op(
      z.object({ tenant: z.string(), stream: z.string(), status: z.enum(['enabled', 'paused', 'disabled']), reason: z.string().max(1000).optional() }),
      async (ctx, args) => {
        const t = await tenants.transmitter(ctx.config, args.tenant);
        const stream = await ctx.store.getSsfStream(args.tenant, args.stream);
        if (!stream)
          throw new WardenError('ERR_NOT_FOUND', `no SSF stream "${args.stream}" in tenant ${args.tenant} (--stream; warden ssf streams lists them)`);
        const changed = await changeStreamStatus(ctx.store, t, stream, args.status, args.reason, (ctx.clock ?? systemClock)());
        await ctx.out(
          changed ? `stream ${stream.id} is ${args.status}; the receiver is sent a stream-updated event\n` : `stream ${stream.id} is ${args.status} already\n`,
        );
        return 0;
      },
    ),
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

/** Registers `warden ssf streams`, `warden ssf status` and `warden ssf sets`. */
export function registerSsfCommands(program: Command, cli: CliContext): void {
  const ssf = program.command('ssf').description("Shared Signals: streams on Warden's transmitter and the SETs queued on them");
  ssf
    .command('streams')
    .description('the streams receivers created')
    .requiredOption('--tenant <id>', 'tenant')
    .option('--json', 'machine-readable')
    .action(async (opts: { tenant: string; json?: boolean }) => cli.setExit(await cli.runOperation('ssf.streams', { tenant: opts.tenant, json: !!opts.json })));
  ssf
    .command('status')
    .description("change a stream's status as the transmitter (the receiver is sent a stream-updated event, SSF 1.0)")
    .requiredOption('--tenant <id>', 'tenant')
    .requiredOption('--stream <id>', 'stream id (warden ssf streams)')
    .requiredOption('--status <status>', 'enabled, paused or disabled')
    .option('--reason <text>', 'why, sent to the receiver')
    .action(async (opts: { tenant: string; stream: string; status: string; reason?: string }) =>
      cli.setExit(
        await cli.runOperation('ssf.status', {
          tenant: opts.tenant,
          stream: opts.stream,
          status: opts.status,
          ...(opts.reason ? { reason: opts.reason } : {}),
        }),
      ),
    );
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
