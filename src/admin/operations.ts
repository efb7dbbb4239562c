import { systemClock } from '../core/clock.js';
import { z } from 'zod';
import { exportAuditJsonl } from '../audit/export-audit.js';
import { auditCsvHeader, exportAuditCsv } from '../audit/export-csv.js';
import { exportAuditOcsf } from '../audit/ocsf/export-ocsf.js';
import { ocsfSinkState } from '../audit/ocsf/ocsf-sink.js';
import { verifyAudit } from '../audit/verify-audit.js';
import type { WardenConfig } from '../config/load-config.js';
import { WardenError } from '../core/errors.js';
import { API_SCOPES, createApiKey, revokeApiKey } from '../access/api-keys.js';
import { releaseHold } from '../engine/release-hold.js';
import { SEVERITIES } from '../core/alert.js';
import { wardenCommand } from '../package-root.js';
import { op, type Operation, type OperationRegistry } from '../connector/operation.js';
import { WORKFLOW_OPERATIONS, workflowOf } from '../requests/request-operations.js';
import { AUDIT_EXPORT_FORMATS } from '../audit/export-audit.js';
import { NOTIFY_OPERATIONS } from './notify-operations.js';

function configuredTenant(config: WardenConfig, tenant: string): void {
  if (!config.tenants.some((t) => t.id === tenant))
    throw new WardenError('ERR_TENANT_UNKNOWN', `tenant "${tenant}" is not in ${config.file} (configured: ${config.tenants.map((t) => t.id).join(', ')})`);
}

const Json = z.boolean().default(false);

/**
 * Warden's own administrative operations (audit, API keys, holds, inbox,
 * alerts), written once against a store (src/connector/operation.ts);
 * change requests and connectors add theirs (`operationRegistry`).
 */
export const OPERATIONS = {
  'audit.verify': op(z.object({ tenant: z.string().optional(), json: Json }), async (ctx, args) => {
    const tenants = args.tenant ? [args.tenant] : [...new Set([...(await ctx.store.auditTenants()), ...ctx.config.tenants.map((t) => t.id)])].sort();
    let failed = 0;
    const results = [];
    for (const tenant of tenants) {
      const result = await verifyAudit(ctx.store, tenant);
      results.push(result);
      if (!result.ok) failed++;
      if (args.json) continue;
      if (result.ok) await ctx.out(`${tenant}: ok, ${result.records} record${result.records === 1 ? '' : 's'}, head ${result.head}\n`);
      else await ctx.out(`${tenant}: FAILED at record ${result.break!.seq}${result.break!.id ? ` (${result.break!.id})` : ''}: ${result.break!.reason}\n`);
    }
    if (args.json) await ctx.out(JSON.stringify(results, null, 2) + '\n');
    return failed > 0 ? 1 : 0;
  }),

  'audit.export': op(
    z.object({ tenant: z.string().optional(), since: z.iso.datetime({ offset: true }).optional(), format: z.enum(AUDIT_EXPORT_FORMATS).default('jsonl') }),
    async (ctx, args) => {
      const tenants = args.tenant ? [args.tenant] : await ctx.store.auditTenants();
      const exporter = { jsonl: exportAuditJsonl, ocsf: exportAuditOcsf, csv: exportAuditCsv }[args.format];
      if (args.format === 'csv') await ctx.out(auditCsvHeader());
      for (const tenant of tenants)
        for await (const line of exporter(ctx.store, tenant, args.since ? { since: new Date(args.since) } : {})) await ctx.out(line);
      return 0;
    },
  ),

  'audit.sink': op(z.object({ tenant: z.string().optional(), json: Json }), async (ctx, args) => {
    const tenants = ctx.config.tenants.filter((t) => t.siem?.ocsf && (!args.tenant || t.id === args.tenant));
    if (args.tenant) configuredTenant(ctx.config, args.tenant);
    const results = [];
    for (const t of tenants) {
      const state = await ocsfSinkState(ctx.store, t.id);
      const head = await ctx.store.auditHead(t.id);
      results.push({
        tenant: t.id,
        url: t.siem!.ocsf!.url,
        delivered: state.seq,
        head: head.seq,
        behind: head.seq - state.seq,
        failing: state.attempts > 0,
        ...state,
      });
    }
    if (args.json) await ctx.out(JSON.stringify(results, null, 2) + '\n');
    else if (results.length === 0) await ctx.out(`no tenant streams to a SIEM (tenants[].siem.ocsf in ${ctx.config.file})\n`);
    else
      for (const r of results)
        await ctx.out(
          r.failing
            ? `${r.tenant}: FAILING since ${r.failingSince}, ${r.attempts} attempt${r.attempts === 1 ? '' : 's'}, ${r.behind} record${r.behind === 1 ? '' : 's'} waiting, next attempt ${r.nextAttemptAt}: ${r.lastError} (${r.url})\n`
            : `${r.tenant}: ok, delivered through record ${r.delivered} of ${r.head}${r.deliveredAt ? `, last at ${r.deliveredAt}` : ''} (${r.url})\n`,
        );
    return results.some((r) => r.failing) ? 1 : 0;
  }),

  'keys.create': op(
    z.object({ tenant: z.string(), name: z.string().min(1).max(100), scopes: z.array(z.enum(API_SCOPES)).min(1).default(['decisions:write']), json: Json }),
    async (ctx, args) => {
      configuredTenant(ctx.config, args.tenant);
      await ctx.store.ensureTenants([args.tenant]);
      const minted = await createApiKey(ctx.store, {
        tenant: args.tenant,
        name: args.name,
        scopes: args.scopes,
        actor: ctx.actor,
        now: (ctx.clock ?? systemClock)(),
      });
      if (args.json)
        await ctx.out(JSON.stringify({ key: minted.key, id: minted.row.id, tenant: args.tenant, name: args.name, scopes: minted.row.scopes }) + '\n');
      else {
        await ctx.out(`${minted.key}\n`);
        ctx.err(
          `API key ${minted.row.id} for tenant ${args.tenant} (${minted.row.scopes.join(', ')}). It is shown only now: store it in your secret manager.\n`,
        );
      }
      return 0;
    },
  ),

  'keys.list': op(z.object({ tenant: z.string(), json: Json }), async (ctx, args) => {
    configuredTenant(ctx.config, args.tenant);
    const keys = await ctx.store.listApiKeys(args.tenant);
    const rows = keys.map(({ secretHash: _hidden, ...k }) => k);
    if (args.json) await ctx.out(JSON.stringify(rows, null, 2) + '\n');
    else if (rows.length === 0) await ctx.out(`no API keys for tenant ${args.tenant}\n`);
    else
      for (const k of rows)
        await ctx.out(`${k.id}  ${k.name}  ${k.scopes.join(',')}  created ${k.createdAt}${k.revokedAt ? `  REVOKED ${k.revokedAt}` : ''}\n`);
    return 0;
  }),

  'keys.revoke': op(z.object({ id: z.string().regex(/^[0-9a-f]{12}$/, 'key ids are 12 hex digits') }), async (ctx, args) => {
    const revoked = await revokeApiKey(ctx.store, { id: args.id, actor: ctx.actor, now: (ctx.clock ?? systemClock)() });
    if (!revoked) {
      ctx.err(`no active API key ${args.id}\n`);
      return 1;
    }
    ctx.onKeyRevoked?.(args.id);
    await ctx.out(`revoked ${args.id}\n`);
    return 0;
  }),

  'holds.list': op(z.object({ tenant: z.string(), limit: z.number().int().min(1).max(1000).default(50), json: Json }), async (ctx, args) => {
    configuredTenant(ctx.config, args.tenant);
    const holds = await ctx.store.listHolds(args.tenant, args.limit);
    // An action the outbox gave up on leaves the hold incomplete (the user may not be contained): show it with the hold.
    const failedOf = async (decisionId: string) => (await ctx.store.listActions(args.tenant, decisionId)).filter((a) => a.state === 'failed');
    if (args.json) {
      const listed = [];
      for (const d of holds)
        listed.push({ ...d, failedActions: (await failedOf(d.id)).map((a) => ({ id: a.id, kind: a.kind, attempts: a.attempts, error: a.lastError ?? null })) });
      await ctx.out(JSON.stringify(listed, null, 2) + '\n');
    } else if (holds.length === 0) await ctx.out(`no unreleased holds in tenant ${args.tenant}\n`);
    else
      for (const d of holds) {
        const change = await ctx.store.getChange(args.tenant, d.changeId);
        const who = change ? `${change.kind} on ${change.target.login ?? change.target.id} by ${change.actor.login ?? change.actor.id}` : d.changeId;
        await ctx.out(`${d.id}  ${d.outcome.toUpperCase()}  ${d.decidedAt}  ${who}  [${d.rules.map((r) => r.id).join(', ')}]\n`);
        for (const a of await failedOf(d.id))
          await ctx.out(`    action ${a.kind} FAILED after ${a.attempts} attempt(s): ${a.lastError ?? 'no error recorded'}\n`);
      }
    return 0;
  }),

  'inbox.list': op(
    z.object({
      tenant: z.string(),
      state: z.enum(['pending', 'failed', 'processed', 'ignored']).default('failed'),
      limit: z.number().int().min(1).max(1000).default(50),
      json: Json,
    }),
    async (ctx, args) => {
      configuredTenant(ctx.config, args.tenant);
      const entries = (await ctx.store.listInbox(args.tenant, args.state, args.limit)).map(({ payload: _payload, ...rest }) => rest);
      if (args.json) await ctx.out(JSON.stringify(entries, null, 2) + '\n');
      else if (entries.length === 0) await ctx.out(`no ${args.state} deliveries in tenant ${args.tenant}\n`);
      else
        for (const e of entries)
          await ctx.out(
            `${e.id}  ${e.state.toUpperCase()}  ${e.receivedAt.toISOString()}  ${e.source}  ${e.eventType ?? '-'}  ${e.eventId}  attempts ${e.attempts}${e.error ? `: ${e.error}` : ''}\n`,
          );
      return 0;
    },
  ),

  'holds.release': op(z.object({ tenant: z.string(), decisionId: z.uuid(), reason: z.string().min(1).max(1000) }), async (ctx, args) => {
    configuredTenant(ctx.config, args.tenant);
    const result = await releaseHold(ctx.store, {
      tenant: args.tenant,
      decisionId: args.decisionId,
      actor: ctx.actor,
      reason: args.reason,
      now: (ctx.clock ?? systemClock)(),
    });
    if (!result.released) {
      const earlier = await ctx.store.getRelease(args.tenant, args.decisionId);
      await ctx.out(`decision ${args.decisionId} was already released at ${earlier?.releasedAt} by ${earlier?.actor.id}\n`);
      return 0;
    }
    await ctx.out(
      `released ${args.decisionId}: ${result.undo.length ? `undoing ${result.undo.join(', ')}` : 'nothing to undo'}${result.cancelled.length ? `; cancelled ${result.cancelled.length} pending action(s)` : ''}\n`,
    );
    return 0;
  }),

  'alerts.list': op(
    z.object({
      tenant: z.string(),
      status: z.enum(['open', 'closed']).optional(),
      severity: z.enum(SEVERITIES).optional(),
      limit: z.number().int().min(1).max(1000).default(50),
      json: Json,
    }),
    async (ctx, args) => {
      configuredTenant(ctx.config, args.tenant);
      const alerts = await ctx.store.listAlerts(args.tenant, {
        limit: args.limit,
        ...(args.status ? { status: args.status } : {}),
        ...(args.severity ? { severity: args.severity } : {}),
      });
      if (args.json) await ctx.out(JSON.stringify(alerts, null, 2) + '\n');
      else if (alerts.length === 0) await ctx.out(`no alerts in tenant ${args.tenant}\n`);
      else
        for (const a of alerts)
          await ctx.out(
            `${a.id}  ${a.status.toUpperCase().padEnd(6)}  ${a.severity.padEnd(8)}  ${a.raisedAt}  ${a.key}  [${[...new Set(a.matches.map((m) => m.rule))].join(', ')}]\n    ${a.summary}\n`,
          );
      return 0;
    },
  ),

  'alerts.close': op(z.object({ tenant: z.string(), id: z.uuid(), reason: z.string().min(1).max(1000) }), async (ctx, args) => {
    configuredTenant(ctx.config, args.tenant);
    let closed;
    try {
      closed = await workflowOf(ctx).closeAlert(args.tenant, args.id, args.reason, { type: 'cli', id: ctx.actor.id });
    } catch (err) {
      if (!(err instanceof WardenError) || err.code !== 'ERR_CONFLICT') throw err;
      ctx.err(`${err.message}\n`);
      return 1;
    }
    await ctx.out(
      `closed ${args.id} (${closed.severity}, ${closed.key}); it no longer weighs on decisions. Release holds it caused with \`${wardenCommand()} holds release\`.\n`,
    );
    return 0;
  }),
} as const;

export function operationRegistry(connectors: ReadonlyArray<{ name: string; operations?: Record<string, Operation> }> = []): OperationRegistry {
  const registry = new Map<string, Operation>([
    ...(Object.entries(OPERATIONS) as Array<[string, Operation]>),
    ...Object.entries(WORKFLOW_OPERATIONS),
    ...Object.entries(NOTIFY_OPERATIONS),
  ]);
  for (const connector of connectors)
    for (const [name, operation] of Object.entries(connector.operations ?? {})) {
      const full = name.startsWith(`${connector.name}.`) ? name : `${connector.name}.${name}`;
      if (registry.has(full)) throw new WardenError('ERR_INTERNAL', `operation ${full} is defined twice`);
      registry.set(full, operation);
    }
  return registry;
}
