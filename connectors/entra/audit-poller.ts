import type { ConnectorContext } from '../../src/connector/index.js';
import { nextWindow, overlapOf, type Poller } from '../../src/connector/index.js';
import { graphPoller, recordPollFailure, type GraphPollCursor } from './graph-poll-source.js';
import type { ConnectorStore } from '../../src/connector/index.js';
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
 * src/connector/poller.ts, runs it.
 */

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
      const stored = await store.putInbox({
        tenant: tenant.id,
        source: 'entra',
        eventId: String(record.id),
        eventType: `audit:${activity}`.slice(0, 200),
        via: 'poll',
        payload: record,
        receivedAt: input.now(),
        ...(occurred ? { occurredAt: new Date(occurred) } : {}),
      });
      if (stored.inserted) {
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

/** The background poller of one tenant, on the poller skeleton (src/connector/poller.ts). */
export class AuditPoller {
  readonly #poller: Poller;

  constructor(
    private readonly ctx: ConnectorContext,
    private readonly tenant: EntraTenant,
  ) {
    const { intervalSeconds, minGapSeconds } = tenant.config.poller;
    this.#poller = graphPoller(ctx, {
      what: 'entra directoryAudits',
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
      poll: () => this.pollOnce(),
    });
  }

  start(): void {
    this.#poller.start();
  }

  async stop(): Promise<void> {
    await this.#poller.stop();
  }

  /** A notification came in: poll soon (this replica, if it holds the lease). */
  wake(): void {
    this.#poller.wake();
  }

  /** One tick: under the lease, poll when the interval has passed or an early poll was asked for. Returns 0 (the loop then idles). */
  async step(): Promise<number> {
    return this.#poller.step();
  }

  /**
   * Reads the audit log since the previous poll (minus the overlap) and
   * records the watermark. A throttled poll records `notBefore` instead.
   */
  async pollOnce(): Promise<PollStats | undefined> {
    const { store, clock, log } = this.ctx;
    const metrics = entraMetricsOf(this.ctx.metrics.registry);
    const started = clock();
    const cursor = ((await store.getCursor(this.tenant.id, AUDIT_CURSOR)) ?? {}) as AuditCursor;
    const { initialLookbackMinutes } = this.tenant.config.poller;
    const { from } = nextWindow(
      cursor.lastPollStartedAt ? new Date(cursor.lastPollStartedAt) : undefined,
      started,
      overlapOf(this.tenant.config.poller),
      initialLookbackMinutes * 60_000,
    );
    try {
      const stats = await readDirectoryAudits(this.tenant, store, { from, now: clock, metrics });
      await store.setCursor(
        this.tenant.id,
        AUDIT_CURSOR,
        { lastPollStartedAt: started.toISOString(), lastPollFinishedAt: clock().toISOString(), lastRead: stats.read, lastNew: stats.new } satisfies AuditCursor,
        clock(),
      );
      if (stats.userChangeAt) {
        const seen = (await store.getCursor(this.tenant.id, USER_CHANGE_CURSOR)) as { lastAt?: string } | undefined;
        if (!seen?.lastAt || stats.userChangeAt > seen.lastAt)
          await store.setCursor(this.tenant.id, USER_CHANGE_CURSOR, { lastAt: stats.userChangeAt }, clock());
      }
      metrics.polls.inc({ tenant: this.tenant.id, source: 'directory_audits', result: 'ok' });
      if (stats.new > 0) {
        this.ctx.wakeInbox();
        log.info({ tenant: this.tenant.id, read: stats.read, new: stats.new, from: from.toISOString() }, 'entra audit records stored');
      }
      return stats;
    } catch (err) {
      await recordPollFailure(
        this.ctx,
        { tenant: this.tenant.id, cursorName: AUDIT_CURSOR, cursor, source: 'directory_audits', what: 'entra audit poll' },
        err,
      );
      return undefined;
    }
  }
}
