import type { ConnectorContext, ReadOutcome, ReadPause, ReadProgress } from '../../src/connector/index.js';
import { createPoller, type Poller, type PollSource } from '../../src/connector/index.js';
import { entraMetricsOf } from './entra-metrics.js';
import { GraphCallError } from './graph-session.js';

/**
 * What Entra's two pollers (directoryAudits, Management Activity) share on
 * top of the poller skeleton (src/connector/poller.ts): their schedule lives
 * in their stored cursor (when the last poll started; `notBefore` when Graph
 * asked to wait), so every replica sees it, and a failed poll is recorded in
 * that cursor the same way. Both back-fill a gap longer than
 * {@link GRAPH_POLL_REACH} the same way too.
 */

/**
 * The longest gap a regular Entra poll closes: the cap of the overlap
 * settings (`overlapMinutes` ≤ 1 440, 24 h; the Management Activity API also
 * lists at most 24 hours per request). A cursor older than this is an outage
 * the skeleton back-fills window by window.
 */
export const GRAPH_POLL_REACH = 24 * 3_600_000;

/** The part of an Entra poller's cursor the schedule reads. */
export interface GraphPollCursor {
  lastPollStartedAt?: string;
  notBefore?: string;
  lastError?: string;
}

/**
 * A back-fill's `advance` for a Graph poll cursor: moves `lastPollStartedAt`
 * on to `to` (never back), clearing a recorded wait and error, keeping the rest.
 */
export async function advanceGraphCursor(deps: Pick<ConnectorContext, 'store' | 'clock'>, tenant: string, cursorName: string, to: Date): Promise<void> {
  const cursor = ((await deps.store.getCursor(tenant, cursorName)) ?? {}) as GraphPollCursor;
  if (cursor.lastPollStartedAt && cursor.lastPollStartedAt >= to.toISOString()) return;
  const { notBefore: _n, lastError: _e, ...rest } = cursor;
  await deps.store.setCursor(tenant, cursorName, { ...rest, lastPollStartedAt: to.toISOString() } satisfies GraphPollCursor, deps.clock());
}

/** The Graph side of a poller: the skeleton's source, its schedule read from `cursorName`. */
export function graphPoller(
  ctx: ConnectorContext,
  input: Omit<PollSource, 'schedule' | 'poll'> & { cursorName: string; poll(): Promise<unknown>; earlyRequested?(last: Date): Promise<boolean> },
): Poller {
  const { cursorName, poll, earlyRequested, ...source } = input;
  return createPoller(ctx, {
    ...source,
    async schedule() {
      const cursor = ((await ctx.store.getCursor(source.tenant, cursorName)) ?? {}) as GraphPollCursor;
      const last = cursor.lastPollStartedAt ? new Date(cursor.lastPollStartedAt) : undefined;
      return {
        ...(last ? { lastPollAt: last } : {}),
        ...(cursor.notBefore ? { notBefore: new Date(cursor.notBefore) } : {}),
        earlyRequested: last !== undefined && earlyRequested !== undefined && (await earlyRequested(last)),
      };
    },
    async poll() {
      await poll();
      return undefined;
    },
  });
}

/**
 * Records a failed poll in its cursor: throttled (429/503 with `Retry-After`)
 * sets `notBefore`, so no replica polls sooner; the window is read again by
 * the next poll either way. Counted in `warden_entra_polls_total`.
 */
export async function recordPollFailure(
  ctx: ConnectorContext,
  input: { tenant: string; cursorName: string; cursor: GraphPollCursor; source: 'directory_audits' | 'management_activity'; what: string },
  err: unknown,
): Promise<void> {
  const { store, clock, log } = ctx;
  const throttled = err instanceof GraphCallError && (err.status === 429 || err.status === 503) && err.retryAfterMs !== undefined;
  const notBefore = throttled ? new Date(clock().getTime() + (err as GraphCallError).retryAfterMs!).toISOString() : undefined;
  await store.setCursor(
    input.tenant,
    input.cursorName,
    { ...input.cursor, ...(notBefore ? { notBefore } : {}), lastError: (err as Error).message.slice(0, 500) } satisfies GraphPollCursor,
    clock(),
  );
  entraMetricsOf(ctx.metrics.registry).polls.inc({ tenant: input.tenant, source: input.source, result: throttled ? 'throttled' : 'failed' });
  if (throttled) log.warn({ tenant: input.tenant, notBefore }, `${input.what} throttled: waiting as Graph asked`);
  else log.error({ err, tenant: input.tenant }, `${input.what} failed; the next poll reads the same window`);
}

/**
 * Runs a back-fill read of a Graph source: in the poller (`pause: 'return'`),
 * throttling (429/503 with `Retry-After`, beyond what the session waits out
 * in place) ends the read with `waitMs` and what was read so far; by hand, it
 * is an error as usual.
 */
export async function graphBackfillRead(pause: ReadPause, read: (onProgress: (p: ReadProgress) => void) => Promise<ReadProgress>): Promise<ReadOutcome> {
  let last: ReadProgress = { pages: 0, records: 0, stored: 0 };
  try {
    return await read((p) => {
      last = p;
    });
  } catch (err) {
    const throttled = err instanceof GraphCallError && (err.status === 429 || err.status === 503) && err.retryAfterMs !== undefined;
    if (pause === 'return' && throttled) return { ...last, waitMs: (err as GraphCallError).retryAfterMs!, partial: true };
    throw err;
  }
}
