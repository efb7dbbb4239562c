import { WardenError } from '../../src/core/errors.js';
import type { IdentityChange, Principal } from '../../src/core/identity-change.js';
import { mayRetryInbox, type ConnectorContext, type InboxHandler, type InboxRow } from '../../src/connector/index.js';
import { AUDIT_CURSOR, type AuditCursor } from './audit-poller.js';
import type { EntraRuntime } from './entra-runtime.js';
import type { EntraTenant } from './entra-tenant.js';
import { GraphCallError } from './graph-session.js';
import { normalizeDirectoryAudit } from './normalize-directory-audit.js';
import { normalizeManagementActivity } from './normalize-management-activity.js';
import { ENTRA_OWN_CHANGES } from './own-changes.js';
import { noteNotification } from './subscription-manager.js';
import { ENTRA_BROKERED_KINDS } from './tap-broker.js';
import { applyEntraDirectory, entraLookups, withSignal } from './enrich-change.js';

/**
 * Turns the Entra connector's inbox entries into identity changes:
 * directoryAudit records (the poller) and Office 365 Management Activity
 * records are normalized, then the target and actor are enriched from the
 * directory (groups, roles, employee type, account flags) and an
 * administrator holding a help-desk role becomes channel `helpdesk`. Change
 * notifications ask for an early audit poll; lifecycle notifications go to
 * the subscription manager. Both are kept in the inbox as `ignored` with what
 * was done.
 */

/** Enrichment is retried this many times before a change is decided without it (and says so in its context). */
const ENRICH_ATTEMPTS = 4;

const lastPollRequest = new WeakMap<EntraRuntime, Map<string, number>>();

/**
 * Adds directory facts about target and actor; refines `admin` to `helpdesk` by the actor's roles.
 * When Graph does not answer, throws while `mayRetry` (the inbox tries again), else decides without them.
 */
export async function enrichChange(change: IdentityChange, tenant: EntraTenant, mayRetry: boolean): Promise<IdentityChange> {
  try {
    // By object id first (a UPN may have changed since the record was written), then by login.
    const lookup = async (p: Principal) =>
      (await tenant.directory.principal(p.id)) ?? (p.login && p.login !== p.id ? await tenant.directory.principal(p.login) : undefined);
    const ids = entraLookups(change);
    const target = ids.target ? await lookup(ids.target) : undefined;
    const actor = ids.actor ? await lookup(ids.actor) : undefined;
    return applyEntraDirectory(change, target, actor, tenant.helpdeskRoles);
  } catch (err) {
    if (err instanceof GraphCallError && mayRetry) throw err;
    // Deciding late on what the record says beats never deciding: the change carries the failure.
    return { ...change, context: withSignal(change.context, 'enrichmentFailed', true) };
  }
}

export function entraInboxHandler(runtime: EntraRuntime): InboxHandler {
  const requestPoll = async (ctx: ConnectorContext, tenant: string, reason: string) => {
    let byTenant = lastPollRequest.get(runtime);
    if (!byTenant) lastPollRequest.set(runtime, (byTenant = new Map()));
    const now = ctx.clock().getTime();
    const asked = byTenant.get(tenant);
    // A burst of notifications asks once while that request is still waiting for its poll: the poll reads
    // everything up to when it starts. Once a poll has started since, a change after it needs a new request,
    // however soon (else it waited for the next notification or the interval).
    if (reason !== 'missed' && asked !== undefined && now - asked < 2_000 && now >= asked) {
      const audit = (await ctx.store.getCursor(tenant, AUDIT_CURSOR)) as AuditCursor | undefined;
      const polledSince = audit?.lastPollStartedAt !== undefined && Date.parse(audit.lastPollStartedAt) >= asked;
      if (!polledSince) return;
    }
    byTenant.set(tenant, now);
    await runtime.requestPoll(ctx, tenant, reason);
  };

  return {
    async toChanges(entry: InboxRow, ctx: ConnectorContext) {
      const tenant = runtime.tenant(ctx.config, entry.tenant, ctx.clock);
      if (!tenant) throw new WardenError('ERR_TENANT_UNKNOWN', `tenant ${entry.tenant} has no entra section`);
      const type = entry.eventType ?? '';
      const payload = entry.payload as { kind?: string; notification?: { subscriptionId?: string; lifecycleEvent?: string; resource?: string } };

      if (type === 'graph.notification') {
        await noteNotification(ctx.store, entry.tenant, entry.receivedAt);
        await requestPoll(ctx, entry.tenant, 'change notification');
        return { ignored: `change notification for ${payload.notification?.resource ?? 'a user'}: asked for an early audit-log poll` };
      }
      if (type.startsWith('graph.lifecycle.')) {
        const event = payload.notification?.lifecycleEvent ?? type.slice('graph.lifecycle.'.length);
        await noteNotification(ctx.store, entry.tenant, entry.receivedAt);
        const outcome = await runtime.manager(ctx, tenant).onLifecycle(event, payload.notification?.subscriptionId ?? '');
        if (event === 'missed') await requestPoll(ctx, entry.tenant, 'missed');
        return { ignored: `lifecycle notification handled: ${outcome}` };
      }

      const options = { tenant: entry.tenant, via: entry.via, observedAt: entry.receivedAt };
      const result = type.startsWith('o365:')
        ? normalizeManagementActivity(entry.payload, options)
        : normalizeDirectoryAudit(entry.payload, { ...options, helpdeskRoles: tenant.helpdeskRoles });
      if ('ignored' in result) return result;
      const changes: IdentityChange[] = [];
      const ignored: string[] = [];
      for (const change of result.changes) {
        // Warden's own work coming back is not judged; the TAP its broker issued for a request is, so it matches that request.
        const recognised = await ENTRA_OWN_CHANGES.recognise(ctx.store, change, { identities: tenant.identities, brokerKinds: ENTRA_BROKERED_KINDS });
        if ('ignored' in recognised) ignored.push(recognised.ignored);
        else changes.push(await enrichChange(recognised.change, tenant, mayRetryInbox(entry, ctx.config, ENRICH_ATTEMPTS)));
      }
      if (changes.length === 0 && ignored.length > 0) return { ignored: ignored.join('; ') };
      return { changes };
    },
  };
}
