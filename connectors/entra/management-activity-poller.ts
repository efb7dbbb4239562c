import type { BackfillSource, ConnectorContext } from '../../src/connector/index.js';
import { nextWindow, overlapOf } from '../../src/connector/index.js';
import { advanceGraphCursor, graphBackfillRead, graphPoller, recordPollFailure, GRAPH_POLL_REACH, type GraphPollCursor } from './graph-poll-source.js';
import type { ConnectorStore } from '../../src/connector/index.js';
import type { EntraTenant } from './entra-tenant.js';
import { type EntraMetrics, entraMetricsOf } from './entra-metrics.js';
import { GraphCallError } from './graph-session.js';
import { field, text, vendorTime } from './vendor-record.js';

/**
 * The Office 365 Management Activity API poller (`Audit.Exchange`): inbox
 * rules and mailbox forwarding (`New-InboxRule`, `Set-InboxRule`,
 * `UpdateInboxRules`, `Set-Mailbox` forwarding) reach Warden as
 * `mailbox.rule` changes, so detection can see "new factor → password reset →
 * forwarding rule" (shared/research/entra.md §7). It starts the subscription
 * once (`POST subscriptions/start`), then lists content blobs by their
 * creation time (`GET subscriptions/content`, windows of at most 24 hours,
 * `NextPageUri` paging) with an overlap, reads each blob and keeps the
 * records of the configured operations in the inbox under their `Id`:
 * records seen twice are absorbed there. Other records are counted and
 * skipped. One replica polls a tenant (a store lease): the poller skeleton,
 * src/connector/poller.ts, runs it, and back-fills from the cursor after an
 * outage longer than the overlap cap ({@link GRAPH_POLL_REACH}), as far as
 * the API lists content ({@link ACTIVITY_RETENTION}).
 */

export const ACTIVITY_CURSOR = 'entra.managementActivity';
/** The Management Activity API lists content blobs created at most 7 days back (shared/research/entra.md §7). */
export const ACTIVITY_RETENTION = 7 * 24 * 3_600_000;
const CONTENT_TYPE = 'Audit.Exchange';

export interface ActivityCursor extends GraphPollCursor {
  subscriptionStarted?: boolean;
  lastPollStartedAt?: string;
  lastPollFinishedAt?: string;
  notBefore?: string;
  lastError?: string;
}

interface ContentBlob {
  contentType: string;
  contentId: string;
  contentUri: string;
  contentCreated: string;
}

const apiTime = (d: Date) => d.toISOString().slice(0, 19);

/** Reads the Exchange records of the blobs created in `[from, to)` into the inbox. */
export async function readManagementActivity(
  tenant: EntraTenant,
  store: ConnectorStore,
  input: { from: Date; to: Date; now: () => Date; metrics?: EntraMetrics },
): Promise<{ blobs: number; read: number; new: number; duplicate: number; skipped: number }> {
  const { managementActivity: config, tenantId } = tenant.config;
  const operations = new Set(config.operations.map((o) => o.toLowerCase()));
  const stats = { blobs: 0, read: 0, new: 0, duplicate: 0, skipped: 0 };
  const count = (result: 'new' | 'duplicate' | 'skipped') => input.metrics?.auditRecords.inc({ tenant: tenant.id, source: 'management_activity', result });
  const publisher = config.publisherId ?? tenantId;
  // The API lists at most 24 hours per request, starting at most 7 days back.
  const earliest = input.now().getTime() - 7 * 24 * 3600_000 + 60_000;
  for (let start = Math.max(input.from.getTime(), earliest); start < input.to.getTime(); start += 24 * 3600_000) {
    const end = Math.min(start + 24 * 3600_000, input.to.getTime());
    let listing = await tenant.session.management<ContentBlob[]>(
      'listActivityContent',
      { tenant: tenantId },
      { contentType: CONTENT_TYPE, startTime: apiTime(new Date(start)), endTime: apiTime(new Date(end)), PublisherIdentifier: publisher },
    );
    for (;;) {
      for (const blob of listing.body ?? []) {
        stats.blobs++;
        const content = await tenant.session.management<unknown[]>(
          'getActivityContent',
          { tenant: tenantId, content: blob.contentId },
          {},
          { url: blob.contentUri },
        );
        for (const record of content.body ?? []) {
          stats.read++;
          const operation = text(record, 'Operation') ?? '';
          const id = text(record, 'Id');
          if (!id || !operations.has(operation.toLowerCase())) {
            stats.skipped++;
            count('skipped');
            continue;
          }
          const occurred = vendorTime(field(record, 'CreationTime'));
          const stored = await store.putInbox({
            tenant: tenant.id,
            source: 'entra',
            eventId: `o365:${id}`,
            eventType: `o365:${operation}`.slice(0, 200),
            via: 'poll',
            payload: record,
            receivedAt: input.now(),
            ...(occurred ? { occurredAt: new Date(occurred) } : {}),
          });
          stats[stored.inserted ? 'new' : 'duplicate']++;
          count(stored.inserted ? 'new' : 'duplicate');
        }
      }
      if (!listing.nextPage) break;
      listing = await tenant.session.management<ContentBlob[]>('listActivityContent', { tenant: tenantId }, {}, { url: listing.nextPage });
    }
  }
  return stats;
}

/** Starts the `Audit.Exchange` subscription; "already enabled" (AF20024) is success. */
export async function startActivitySubscription(tenant: EntraTenant): Promise<'started' | 'already'> {
  try {
    await tenant.session.management(
      'startActivitySubscription',
      { tenant: tenant.config.tenantId },
      { contentType: CONTENT_TYPE, PublisherIdentifier: tenant.config.managementActivity.publisherId ?? tenant.config.tenantId },
    );
    return 'started';
  } catch (err) {
    if (err instanceof GraphCallError && err.graphCode === 'AF20024') return 'already';
    throw err;
  }
}

/** The Management Activity poller of one tenant: the skeleton's poller, and one poll by hand (tests). */
export interface ManagementActivityPoller {
  start(): void;
  stop(): Promise<void>;
  step(): Promise<number>;
  pollOnce(): Promise<Awaited<ReturnType<typeof readManagementActivity>> | undefined>;
}

/** The back-fill side of the Management Activity source: a closed window of content blobs, and the position the poller's gap is measured from. */
export function managementActivityBackfill(
  tenant: EntraTenant,
  deps: Pick<ConnectorContext, 'store' | 'clock'> & Partial<Pick<ConnectorContext, 'metrics' | 'wakeInbox'>>,
): BackfillSource {
  const metrics = deps.metrics ? entraMetricsOf(deps.metrics.registry) : undefined;
  return {
    overlap: overlapOf(tenant.config.managementActivity),
    reach: GRAPH_POLL_REACH,
    retention: ACTIVITY_RETENTION,
    async position() {
      const cursor = (await deps.store.getCursor(tenant.id, ACTIVITY_CURSOR)) as ActivityCursor | undefined;
      // Before the subscription is on there is nothing to back-fill.
      return cursor?.subscriptionStarted && cursor.lastPollStartedAt ? new Date(cursor.lastPollStartedAt) : undefined;
    },
    advance: (to) => advanceGraphCursor(deps, tenant.id, ACTIVITY_CURSOR, to),
    read: (window, options) =>
      graphBackfillRead(options.pause, async () => {
        const stats = await readManagementActivity(tenant, deps.store, { ...window, now: deps.clock, ...(metrics ? { metrics } : {}) });
        if (stats.new > 0) deps.wakeInbox?.();
        // Records inside blobs are not in order: the window counts as covered only once read.
        const progress = { pages: stats.blobs, records: stats.read, stored: stats.new };
        await options.onPage?.(progress);
        return progress;
      }),
  };
}

/** The background poller of one tenant, on the poller skeleton (src/connector/poller.ts). */
export function createManagementActivityPoller(ctx: ConnectorContext, tenant: EntraTenant): ManagementActivityPoller {
  const pollOnce = async (): Promise<Awaited<ReturnType<typeof readManagementActivity>> | undefined> => {
    const { store, clock, log } = ctx;
    const metrics = entraMetricsOf(ctx.metrics.registry);
    const started = clock();
    const cursor = ((await store.getCursor(tenant.id, ACTIVITY_CURSOR)) ?? {}) as ActivityCursor;
    const overlap = overlapOf(tenant.config.managementActivity);
    try {
      if (!cursor.subscriptionStarted) {
        const result = await startActivitySubscription(tenant);
        log.info({ tenant: tenant.id, result }, 'Management Activity API subscription (Audit.Exchange) is on');
        cursor.subscriptionStarted = true;
      }
      // The first poll also reaches back the overlap before the initial look-back.
      const { from } = nextWindow(
        cursor.lastPollStartedAt ? new Date(cursor.lastPollStartedAt) : undefined,
        started,
        overlap,
        tenant.config.poller.initialLookbackMinutes * 60_000 + overlap,
      );
      const stats = await readManagementActivity(tenant, store, { from, to: started, now: clock, metrics });
      await store.setCursor(
        tenant.id,
        ACTIVITY_CURSOR,
        { subscriptionStarted: true, lastPollStartedAt: started.toISOString(), lastPollFinishedAt: clock().toISOString() } satisfies ActivityCursor,
        clock(),
      );
      metrics.polls.inc({ tenant: tenant.id, source: 'management_activity', result: 'ok' });
      if (stats.new > 0) ctx.wakeInbox();
      return stats;
    } catch (err) {
      await recordPollFailure(
        ctx,
        { tenant: tenant.id, cursorName: ACTIVITY_CURSOR, cursor, source: 'management_activity', what: 'entra management activity poll' },
        err,
      );
      return undefined;
    }
  };
  const { intervalSeconds } = tenant.config.managementActivity;
  const poller = graphPoller(ctx, {
    what: 'entra management activity',
    name: 'entra_management_activity',
    tenant: tenant.id,
    lease: `entra:${tenant.id}:activity-poller`,
    leaseTtlSeconds: Math.max(90, intervalSeconds * 3),
    interval: intervalSeconds * 1000,
    tick: Math.min(intervalSeconds, 30) * 1000,
    cursorName: ACTIVITY_CURSOR,
    poll: pollOnce,
    backfill: managementActivityBackfill(tenant, ctx),
  });
  return { start: poller.start, stop: poller.stop, step: poller.step, pollOnce };
}
