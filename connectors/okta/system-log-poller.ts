import type { ConnectorContext, ReadPause } from '../../src/connector/index.js';
import { createPoller, nextWindow, overlapOf, type Poller, type PollSource } from '../../src/connector/index.js';
import type { InboxEntry, ConnectorStore } from '../../src/connector/index.js';
import { systemLogFilter } from './event-types.js';
import { publishedIso } from './log-event.js';
import { httpStatusOf, rateLimitWaitMs } from './okta-errors.js';
import { oktaMetrics } from './okta-metrics.js';
import type { OktaTenant, OktaTenants } from './okta-tenant.js';
import { WardenError } from '../../src/core/errors.js';

/**
 * The System Log poller (`GET /api/v1/logs`, through the SDK's authenticated
 * HTTP client so the raw LogEvents are stored exactly as Okta sent them): it
 * catches what event hooks missed (Warden down, Okta's best-effort delivery)
 * and the events Okta never delivers by hook. Per tenant, on the poller
 * skeleton (src/connector/poller.ts: a store lease so one replica polls), from a watermark — the newest `published` seen — minus
 * an overlap, paginated by the `Link: rel="next"` header, pausing when
 * `X-Rate-Limit-Remaining` runs low until `X-Rate-Limit-Reset`. Events go to
 * the same inbox as the hook's, keyed by `uuid`, so nothing is processed twice.
 * After an outage longer than {@link SYSTEM_LOG_REACH} the skeleton
 * back-fills the gap from the cursor, as far as Okta keeps the log
 * ({@link SYSTEM_LOG_RETENTION}).
 *
 * https://developer.okta.com/docs/reference/system-log-query/
 */

export const CURSOR = 'okta.syslog';

/** How long Okta keeps the System Log: 90 days (shared/research/okta.md §4, developer.okta.com/docs/reference/system-log-query/). */
export const SYSTEM_LOG_RETENTION = 90 * 24 * 3_600_000;
/**
 * The longest gap a regular poll closes: the cap of the overlap setting
 * (`overlapSeconds` ≤ 86 400, 24 h). A cursor older than this is an outage the
 * skeleton back-fills window by window (src/connector/poller.ts).
 */
export const SYSTEM_LOG_REACH = 24 * 3_600_000;

/** The poller's stored position per tenant (cursor `okta.syslog`). */
export interface SyslogCursor {
  /** Newest `published` stored (ISO). */
  watermark: string;
  /** When the last complete read started (a poll, or the end of a back-fill window): everything before it was read. */
  polledAt?: string;
}

/** What one page of the System Log held. */
export interface PollPage {
  events: number;
  stored: number;
  /** `published` of the newest event on the page. */
  newest?: string;
}

/** What one read of the System Log did. */
export interface PollResult {
  pages: number;
  events: number;
  stored: number;
  watermark?: string;
  /** Set when Okta asked Warden to slow down: wait this long before the next poll. */
  waitMs?: number;
  /** The read stopped at `maxPages` (or a rate limit) before the end of its window. */
  partial?: boolean;
}

/** Where and how far to read. */
export interface PollOptions {
  since: Date;
  until?: Date;
  maxPages: number;
  onPage?: (page: PollPage) => void | Promise<void>;
  now: () => Date;
  /** A bounded read (`until`) waits out a rate limit in place (`inline`, default) or returns `waitMs` (`return`). */
  pause?: ReadPause;
}

/** The `rel="next"` URL of a `Link` header. */
export function nextLink(link: string | null | undefined): string | undefined {
  for (const part of (link ?? '').split(',')) {
    const m = /<([^>]+)>\s*;\s*rel="?next"?/i.exec(part.trim());
    if (m) return m[1];
  }
  return undefined;
}

/** How many times one page is asked for again after its connection was reset. */
const MAX_RESETS = 3;

/** Whether a request failed because its connection was reset or closed under it (nothing was answered: a GET can be sent again). */
export function connectionReset(err: unknown): boolean {
  const e = err as { code?: unknown; errno?: unknown; message?: unknown } | undefined;
  const code = typeof e?.code === 'string' ? e.code : typeof e?.errno === 'string' ? e.errno : undefined;
  return code === 'ECONNRESET' || code === 'EPIPE' || /socket hang up/.test(String(e?.message ?? ''));
}

/**
 * Reads the System Log from `since` (to `until`, or caught up), writing every
 * event to the inbox. Returns what it read; `waitMs` when rate-limited.
 */
export async function readSystemLog(tenant: OktaTenant, store: ConnectorStore, options: PollOptions): Promise<PollResult> {
  const client = await tenant.client();
  const { poller } = tenant.config;
  const params = new URLSearchParams({ since: options.since.toISOString(), sortOrder: 'ASCENDING', limit: String(poller.pageSize), filter: systemLogFilter() });
  if (options.until) params.set('until', options.until.toISOString());
  let url: string | undefined = `${client.baseUrl}/api/v1/logs?${params.toString()}`;
  const result: PollResult = { pages: 0, events: 0, stored: 0 };
  while (url && result.pages < options.maxPages) {
    let response: { status: number; headers: { get(name: string): string | null }; json(): Promise<unknown> } | undefined;
    for (let resets = 0; !response; ) {
      try {
        response = await client.http.http(url, { headers: { Accept: 'application/json' } } as Parameters<typeof client.http.http>[1]);
      } catch (err) {
        if (httpStatusOf(err) === 429) {
          const headers = (err as { headers?: { get(n: string): string | null } }).headers;
          result.waitMs = rateLimitWaitMs(headers?.get('x-rate-limit-reset'), headers?.get('date'), options.now()) ?? 60_000;
          result.partial = true;
          return result;
        }
        // A read is sent again on a reset connection (a kept-alive socket the server closed as it was reused), a few times.
        if (connectionReset(err) && resets++ < MAX_RESETS) continue;
        throw err;
      }
    }
    const events = (await response.json()) as unknown[];
    if (!Array.isArray(events)) throw new WardenError('ERR_UPSTREAM', `GET /api/v1/logs answered ${typeof events}, not a list`);
    const receivedAt = options.now();
    const entries: InboxEntry[] = [];
    let newest: string | undefined;
    for (const raw of events) {
      const e = raw as { uuid?: unknown; eventType?: unknown; published?: unknown };
      if (typeof e?.uuid !== 'string' || typeof e.eventType !== 'string') continue;
      const published = publishedIso(e.published);
      if (published && (!newest || published > newest)) newest = published;
      entries.push({
        tenant: tenant.id,
        source: 'okta',
        eventId: e.uuid,
        eventType: e.eventType,
        via: 'poll',
        payload: raw,
        receivedAt,
        ...(published ? { occurredAt: new Date(published) } : {}),
      });
    }
    let stored = 0;
    // The page in one statement: a back-fill stores hundreds of thousands.
    if (entries.length) stored = (await store.putInboxMany(entries)).filter((r) => r.inserted).length;
    result.pages++;
    result.events += entries.length;
    result.stored += stored;
    if (newest && (!result.watermark || newest > result.watermark)) result.watermark = newest;
    await options.onPage?.({ events: entries.length, stored, ...(newest ? { newest } : {}) });

    // Polling without `until` gets a `next` link forever: a short page means caught up.
    if (events.length === 0 || (!options.until && events.length < poller.pageSize)) break;
    url = nextLink(response.headers.get('link'));
    const remaining = Number(response.headers.get('x-rate-limit-remaining'));
    if (url && response.headers.get('x-rate-limit-remaining') !== null && remaining <= poller.minRemaining) {
      result.waitMs = rateLimitWaitMs(response.headers.get('x-rate-limit-reset'), response.headers.get('date'), options.now()) ?? 60_000;
      if (!options.until || options.pause === 'return') {
        result.partial = true;
        return result;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(result.waitMs!, 120_000)));
      delete result.waitMs;
    }
  }
  if (url && result.pages >= options.maxPages) result.partial = true;
  return result;
}

/**
 * One poll of one tenant: from the stored watermark minus the overlap (the
 * first poll starts `overlapSeconds` ago; `warden okta backfill` reaches
 * further back), then moves the watermark forward.
 */
export async function pollTenant(tenant: OktaTenant, ctx: SystemLogDeps): Promise<PollResult> {
  const cursor = (await ctx.store.getCursor(tenant.id, CURSOR)) as SyslogCursor | undefined;
  const overlap = overlapOf(tenant.config.poller);
  const now = ctx.clock();
  const from = cursor?.watermark ? new Date(cursor.watermark).getTime() : now.getTime();
  const window = nextWindow(cursor?.watermark ? new Date(cursor.watermark) : undefined, now, overlap, overlap);
  const result = await readSystemLog(tenant, ctx.store, { since: window.from, maxPages: tenant.config.poller.maxPagesPerPoll, now: ctx.clock });
  countPolled(tenant, ctx, result);
  const watermark =
    result.watermark && (!cursor?.watermark || result.watermark > cursor.watermark) ? result.watermark : (cursor?.watermark ?? new Date(from).toISOString());
  // A poll that read to the end read everything before its start; one cut short keeps the earlier mark.
  const polledAt = result.partial ? cursor?.polledAt : now.toISOString();
  await ctx.store.setCursor(tenant.id, CURSOR, { watermark, ...(polledAt ? { polledAt } : {}) } satisfies SyslogCursor, ctx.clock());
  if (result.stored) ctx.wakeInbox?.();
  return result;
}

/** What the System Log source needs of Warden: the store and the clock; metrics and the inbox worker's wake-up when a server runs it. */
export type SystemLogDeps = Pick<ConnectorContext, 'store' | 'clock'> & Partial<Pick<ConnectorContext, 'metrics' | 'wakeInbox'>>;

function countPolled(tenant: OktaTenant, ctx: SystemLogDeps, result: PollResult): void {
  if (!ctx.metrics) return;
  const metrics = oktaMetrics(ctx.metrics.registry);
  if (result.stored) metrics.polledEvents.inc({ tenant: tenant.id, stored: 'true' }, result.stored);
  if (result.events > result.stored) metrics.polledEvents.inc({ tenant: tenant.id, stored: 'false' }, result.events - result.stored);
}

/**
 * The System Log of one tenant as a source of the poller skeleton
 * (src/connector/poller.ts): the regular poll, and the back-fill of a window
 * (by hand, or of a gap after an outage).
 */
export function systemLogSource(tenant: OktaTenant, ctx: SystemLogDeps): PollSource {
  const { poller } = tenant.config;
  return {
    what: 'okta System Log',
    name: 'okta_system_log',
    tenant: tenant.id,
    lease: `okta:syslog:${tenant.id}`,
    leaseTtlSeconds: Math.max(30, poller.intervalSeconds * 3),
    interval: poller.intervalSeconds * 1000,
    async poll() {
      const result = await pollTenant(tenant, ctx);
      // A full set of pages means more is waiting: go on at once.
      return { ...(result.waitMs ? { waitMs: result.waitMs } : {}), backlog: result.pages >= poller.maxPagesPerPoll };
    },
    backfill: {
      overlap: overlapOf(poller),
      reach: SYSTEM_LOG_REACH,
      retention: SYSTEM_LOG_RETENTION,
      async position() {
        const cursor = (await ctx.store.getCursor(tenant.id, CURSOR)) as SyslogCursor | undefined;
        const at = cursor?.polledAt ?? cursor?.watermark;
        return at ? new Date(at) : undefined;
      },
      async advance(to) {
        const cursor = (await ctx.store.getCursor(tenant.id, CURSOR)) as SyslogCursor | undefined;
        const mark = to.toISOString();
        const watermark = cursor?.watermark && cursor.watermark > mark ? cursor.watermark : mark;
        const polledAt = cursor?.polledAt && cursor.polledAt > mark ? cursor.polledAt : mark;
        await ctx.store.setCursor(tenant.id, CURSOR, { watermark, polledAt } satisfies SyslogCursor, ctx.clock());
      },
      async read(window, options) {
        const progress: { pages: number; records: number; stored: number; newest?: Date } = { pages: 0, records: 0, stored: 0 };
        const result = await readSystemLog(tenant, ctx.store, {
          since: window.from,
          until: window.to,
          // By hand: the whole window; in the poller, as many pages as a poll reads (the rest in the next step).
          maxPages: options.pause === 'inline' ? Number.MAX_SAFE_INTEGER : poller.maxPagesPerPoll,
          now: ctx.clock,
          pause: options.pause,
          onPage: async (page) => {
            progress.pages++;
            progress.records += page.events;
            progress.stored += page.stored;
            if (page.newest && (!progress.newest || page.newest > progress.newest.toISOString())) progress.newest = new Date(page.newest);
            await options.onPage?.({ ...progress });
          },
        });
        countPolled(tenant, ctx, result);
        if (result.stored) ctx.wakeInbox?.();
        return {
          pages: result.pages,
          records: result.events,
          stored: result.stored,
          ...(result.watermark ? { newest: new Date(result.watermark) } : {}),
          ...(result.waitMs ? { waitMs: result.waitMs } : {}),
          ...(result.partial ? { partial: true } : {}),
        };
      },
    },
  };
}

/** Starts one poller per Okta tenant with the poller enabled; each poll runs under the tenant's lease. */
export function startPollers(tenants: OktaTenants, ctx: ConnectorContext): { stop(): Promise<void> } {
  const pollers: Poller[] = [];
  for (const id of tenants.ids(ctx.config)) {
    const tenant = tenants.get(ctx.config, id);
    if (!tenant.config.poller.enabled) continue;
    const poller = createPoller(ctx, systemLogSource(tenant, ctx));
    poller.start();
    pollers.push(poller);
  }
  return { stop: async () => void (await Promise.all(pollers.map((p) => p.stop()))) };
}
