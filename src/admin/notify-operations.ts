import { z } from 'zod';
import { WardenError } from '../core/errors.js';
import type { DeliveryRow } from '../store/store.js';
import { op, type Operation } from '../connector/operation.js';

const Json = z.boolean().default(false);

/** What an operator sees of a delivery (without the event body, which may hold personal data). */
function shown(d: DeliveryRow) {
  const kind = d.endpoint.includes(':') ? d.endpoint.slice(0, d.endpoint.indexOf(':')) : 'webhook';
  return {
    id: d.id,
    state: d.state,
    kind,
    endpoint: d.endpoint,
    eventId: d.eventId,
    eventType: d.event.type,
    createdAt: d.event.createdAt.toISOString(),
    attempts: d.attempts,
    nextAttemptAt: d.nextAttemptAt.toISOString(),
    ...(d.lastStatus !== undefined ? { lastStatus: d.lastStatus } : {}),
    ...(d.lastError !== undefined ? { lastError: d.lastError } : {}),
    ...(d.deliveredAt ? { deliveredAt: d.deliveredAt.toISOString() } : {}),
  };
}

/**
 * `warden notify list`: the outbound messages of a tenant (chat and e-mail
 * channels, "this wasn't me" notices, signed webhooks), newest first;
 * `--failed` shows those Warden gave up on, with the last error (which names
 * the setting to fix when it is a configuration problem).
 */
export const NOTIFY_OPERATIONS: Record<string, Operation> = {
  'notify.list': op(
    z.object({
      tenant: z.string(),
      failed: z.boolean().default(false),
      state: z.enum(['queued', 'running', 'delivered', 'failed']).optional(),
      kind: z.enum(['channel', 'notme', 'webhook']).optional(),
      limit: z.number().int().min(1).max(1000).default(50),
      json: Json,
    }),
    async (ctx, args) => {
      if (!ctx.config.tenants.some((t) => t.id === args.tenant))
        throw new WardenError(
          'ERR_TENANT_UNKNOWN',
          `tenant "${args.tenant}" is not in ${ctx.config.file} (configured: ${ctx.config.tenants.map((t) => t.id).join(', ')})`,
        );
      const state = args.failed ? 'failed' : args.state;
      const rows = (await ctx.store.listDeliveries(args.tenant, args.limit, { ...(state ? { state } : {}), ...(args.kind ? { kind: args.kind } : {}) })).map(
        shown,
      );
      if (args.json) await ctx.out(JSON.stringify(rows, null, 2) + '\n');
      else if (rows.length === 0) await ctx.out(`no ${state ? `${state} ` : ''}messages in tenant ${args.tenant}\n`);
      else
        for (const r of rows)
          await ctx.out(
            `${r.id}  ${r.state.toUpperCase().padEnd(9)}  ${r.createdAt}  ${r.endpoint}  ${r.eventType}  attempts ${r.attempts}${r.state === 'queued' && r.attempts > 0 ? `, next ${r.nextAttemptAt}` : ''}${r.lastError ? `: ${r.lastError}` : ''}\n`,
          );
      return 0;
    },
  ),
};
