import type { BackfillSource, ConnectorContext, ReadProgress } from '../../src/connector/index.js';
import { nextWindow, overlapOf } from '../../src/connector/index.js';
import { advanceGraphCursor, graphBackfillRead, graphPoller, recordPollFailure, GRAPH_POLL_REACH, type GraphPollCursor } from './graph-poll-source.js';
import type { ConnectorStore, InboxEntry } from '../../src/connector/index.js';
import type { EntraTenant } from './entra-tenant.js';
import { type EntraMetrics, entraMetricsOf } from './entra-metrics.js';
import { vendorTime } from './vendor-record.js';

/**
 * The directoryAudits poller: the primary signal for authentication-method
 * and password operations, since Graph sends no change notification for
 * them (shared/research/entra.md §0, §3.3). Each poll reads
 * `GET /auditLogs/directoryAudits?$filter=activityDateTime ge <from>` oldest
 * first, page by page, where `from` is the previous poll's start minus an
 * overlap of at least 5 minutes (audit latency: 99th percentile 5 minutes),
 * and writes every record to the inbox under its record id: records read
 * twice are absorbed there, so a late record is processed once. Throttling
 * (`429`/`503` with `Retry-After`) defers the next poll. A change
 * notification, or a `missed` lifecycle event, asks for an early poll.
 * One replica polls a tenant (a store lease): the poller skeleton,
 * src/connector/poller.ts, runs it, and back-fills from the cursor after an
 * outage longer than the overlap cap ({@link GRAPH_POLL_REACH}), as far as
 * Entra keeps audit logs ({@link AUDIT_RETENTION}).
 */

/** How long Entra keeps audit logs: 30 days with Entra ID P1/P2 (7 days on Free; shared/research/entra.md §3). */
export const AUDIT_RETENTION = 30 * 24 * 3_600_000;

/** Cursor names in the store (per tenant). */
export const AUDIT_CURSOR = 'entra.audit';
export const POLL_REQUEST_CURSOR = 'entra.pollRequest';
export const USER_CHANGE_CURSOR = 'entra.userChangeSeen';

export interface AuditCursor extends GraphPollCursor {
  /** When the last complete poll started (Warden's clock): the next reads from here minus the overlap. */
  lastPollStartedAt?: string;
  lastPollFinishedAt?: string;
  /** No poll before this (the service asked to wait). */
  notBefore?: string;
  lastError?: string;
  lastRead?: number;
  lastNew?: number;
}

export interface PollStats {
  read: number;
  new: number;
  duplicate: number;
  skipped: number;
  /** activityDateTime of the newest record read. */
  newest?: string;
}

/** Core Directory activities that change the user object, so a `/users` subscription should notify (the self-test's evidence). */
const USER_OBJECT_CHANGES = new Set(['update user', 'disable account', 'enable account']);

interface AuditPage {
  value: Array<Record<string, unknown> & { id?: string; activityDateTime?: string; loggedByService?: string; activityDisplayName?: string }>;
  '@odata.nextLink'?: string;
}

/** An OData DateTimeOffset literal (whole seconds; `ceil` for upper bounds so nothing inside the window is cut off). */
export function odataTime(date: Date, round: 'floor' | 'ceil' = 'floor'): string {
  const ms = round === 'ceil' ? Math.ceil(date.getTime() / 1000) * 1000 : Math.floor(date.getTime() / 1000) * 1000;
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Reads the audit records of `[from, to]` into the inbox (source `entra`,
 * via `poll`). Used by the poller and by `warden entra backfill`.
 */
export async function readDirectoryAudits(
  tenant: EntraTenant,
  store: ConnectorStore,
  input: { from: Date; to?: Date; now: () => Date; metrics?: EntraMetrics; onPage?: (stats: PollStats) => void | Promise<void> },
): Promise<PollStats & { userChangeAt?: string }> {
  const { poller } = tenant.config;
  const services = new Set(poller.services);
  const filter = `activityDateTime ge ${odataTime(input.from)}${input.to ? ` and activityDateTime le ${odataTime(input.to, 'ceil')}` : ''}`;
  const stats: PollStats & { userChangeAt?: string } = { read: 0, new: 0, duplicate: 0, skipped: 0 };
  const count = (result: 'new' | 'duplicate' | 'skipped') => input.metrics?.auditRecords.inc({ tenant: tenant.id, source: 'directory_audits', result });
  let page = await tenant.session.call(
    'listDirectoryAudits',
    {},
    (r) => r.filter(filter).orderby('activityDateTime asc').top(poller.pageSize).get() as Promise<AuditPage>,
  );
  for (;;) {
    // The page's records go to the inbox in one statement (a back-fill reads 100,000).
    const entries: InboxEntry[] = [];
    for (const record of page.value) {
      stats.read++;
      const occurred = vendorTime(record.activityDateTime);
      if (occurred && (!stats.newest || occurred > stats.newest)) stats.newest = occurred;
      const service = String(record.loggedByService ?? '');
      const activity = String(record.activityDisplayName ?? '');
      if (service === 'Core Directory' && USER_OBJECT_CHANGES.has(activity.toLowerCase()) && occurred && (!stats.userChangeAt || occurred > stats.userChangeAt))
        stats.userChangeAt = occurred;
      if (!record.id || (services.size > 0 && !services.has(service))) {
        stats.skipped++;
        count('skipped');
        continue;
      }
      entries.push({
        tenant: tenant.id,
        source: 'entra',
        eventId: String(record.id),
        eventType: `audit:${activity}`.slice(0, 200),
        via: 'poll',
        payload: record,
        receivedAt: input.now(),
        ...(occurred ? { occurredAt: new Date(occurred) } : {}),
      });
    }
    for (const { inserted } of await store.putInboxMany(entries)) {
      if (inserted) {
        stats.new++;
        count('new');
      } else {
        stats.duplicate++;
        count('duplicate');
      }
    }
    await input.onPage?.(stats);
    const next = page['@odata.nextLink'];
    if (!next) break;
    page = await tenant.session.next<AuditPage>('listDirectoryAudits', next);
  }
  return stats;
}

/** The directoryAudits poller of one tenant: the skeleton's poller, and one poll by hand (tests, the contract suites). */
export interface AuditPoller {
  start(): void;
  stop(): Promise<void>;
  /** A notification came in: poll soon (this replica, if it holds the lease). */
  wake(): void;
  /** One tick: under the lease, back-fill a gap, or poll when the interval has passed or an early poll was asked for. */
  step(): Promise<number>;
  /** Reads the audit log since the previous poll (minus the overlap) and records the watermark; a throttled poll records `notBefore` instead. */
  pollOnce(): Promise<PollStats | undefined>;
}

/** What reading directoryAudits needs of Warden: the store and the clock (a CLI back-fill has no more); metrics when a server runs it. */
export type AuditReadDeps = Pick<ConnectorContext, 'store' | 'clock'> & Partial<Pick<ConnectorContext, 'metrics' | 'wakeInbox'>>;

/**
 * The back-fill side of the directoryAudits source (src/connector/poller.ts):
 * reads a closed window, and the position the poller's gap is measured from
 * (when the last complete poll started). `warden entra backfill` and the
 * poller after an outage use it.
 */
export function directoryAuditsBackfill(tenant: EntraTenant, deps: AuditReadDeps): BackfillSource {
  const metrics = deps.metrics ? entraMetricsOf(deps.metrics.registry) : undefined;
  return {
    overlap: overlapOf(tenant.config.poller),
    reach: GRAPH_POLL_REACH,
    retention: AUDIT_RETENTION,
    async position() {
      const cursor = (await deps.store.getCursor(tenant.id, AUDIT_CURSOR)) as AuditCursor | undefined;
      return cursor?.lastPollStartedAt ? new Date(cursor.lastPollStartedAt) : undefined;
    },
    advance: (to) => advanceGraphCursor(deps, tenant.id, AUDIT_CURSOR, to),
    read: (window, options) =>
      graphBackfillRead(options.pause, async (onProgress: (p: ReadProgress) => void) => {
        let pages = 0;
        const progressOf = (stats: PollStats): ReadProgress => ({
          pages,
          records: stats.read,
          stored: stats.new,
          ...(stats.newest ? { newest: new Date(stats.newest) } : {}),
        });
        const stats = await readDirectoryAudits(tenant, deps.store, {
          from: window.from,
          to: window.to,
          now: deps.clock,
          ...(metrics ? { metrics } : {}),
          onPage: async (s) => {
            pages++;
            onProgress(progressOf(s));
            await options.onPage?.(progressOf(s));
          },
        });
        if (stats.new > 0) deps.wakeInbox?.();
        return progressOf(stats);
      }),
  };
}

/** The background poller of one tenant, on the poller skeleton (src/connector/poller.ts). */
export function createAuditPoller(ctx: ConnectorContext, tenant: EntraTenant): AuditPoller {
  const pollOnce = async (): Promise<PollStats | undefined> => {
    const { store, clock, log } = ctx;
    const metrics = entraMetricsOf(ctx.metrics.registry);
    const started = clock();
    const cursor = ((await store.getCursor(tenant.id, AUDIT_CURSOR)) ?? {}) as AuditCursor;
    const { initialLookbackMinutes } = tenant.config.poller;
    const { from } = nextWindow(
      cursor.lastPollStartedAt ? new Date(cursor.lastPollStartedAt) : undefined,
      started,
      overlapOf(tenant.config.poller),
      initialLookbackMinutes * 60_000,
    );
    try {
      const stats = await readDirectoryAudits(tenant, store, { from, now: clock, metrics });
      await store.setCursor(
        tenant.id,
        AUDIT_CURSOR,
        { lastPollStartedAt: started.toISOString(), lastPollFinishedAt: clock().toISOString(), lastRead: stats.read, lastNew: stats.new } satisfies AuditCursor,
        clock(),
      );
      if (stats.userChangeAt) {
        const seen = (await store.getCursor(tenant.id, USER_CHANGE_CURSOR)) as { lastAt?: string } | undefined;
        if (!seen?.lastAt || stats.userChangeAt > seen.lastAt) await store.setCursor(tenant.id, USER_CHANGE_CURSOR, { lastAt: stats.userChangeAt }, clock());
      }
      metrics.polls.inc({ tenant: tenant.id, source: 'directory_audits', result: 'ok' });
      if (stats.new > 0) {
        ctx.wakeInbox();
        log.info({ tenant: tenant.id, read: stats.read, new: stats.new, from: from.toISOString() }, 'entra audit records stored');
      }
      return stats;
    } catch (err) {
      await recordPollFailure(ctx, { tenant: tenant.id, cursorName: AUDIT_CURSOR, cursor, source: 'directory_audits', what: 'entra audit poll' }, err);
      return undefined;
    }
  };
  const { intervalSeconds, minGapSeconds } = tenant.config.poller;
  const poller = graphPoller(ctx, {
    what: 'entra directoryAudits',
    name: 'entra_directory_audits',
    tenant: tenant.id,
    lease: `entra:${tenant.id}:audit-poller`,
    leaseTtlSeconds: Math.max(30, intervalSeconds * 3),
    interval: intervalSeconds * 1000,
    minGap: minGapSeconds * 1000,
    tick: Math.min(intervalSeconds, 5) * 1000,
    cursorName: AUDIT_CURSOR,
    // A notification seen by any replica asks for an early poll through the store.
    earlyRequested: async (last) => {
      const request = (await ctx.store.getCursor(tenant.id, POLL_REQUEST_CURSOR)) as { at?: string } | undefined;
      return request?.at !== undefined && Date.parse(request.at) > last.getTime();
    },
    poll: pollOnce,
    backfill: directoryAuditsBackfill(tenant, ctx),
  });
  return { start: poller.start, stop: poller.stop, wake: poller.wake, step: poller.step, pollOnce };
}
