import type { ConnectorContext } from '../../src/connector/index.js';
import { Poller, type PollSource } from '../../src/connector/index.js';
import { entraMetricsOf } from './entra-metrics.js';
import { GraphCallError } from './graph-session.js';

/**
 * What Entra's two pollers (directoryAudits, Management Activity) share on
 * top of the poller skeleton (src/connector/poller.ts): their schedule lives
 * in their stored cursor (when the last poll started; `notBefore` when Graph
 * asked to wait), so every replica sees it, and a failed poll is recorded in
 * that cursor the same way.
 */

/** The part of an Entra poller's cursor the schedule reads. */
export interface GraphPollCursor {
  lastPollStartedAt?: string;
  notBefore?: string;
  lastError?: string;
}

/** The Graph side of a poller: the skeleton's source, its schedule read from `cursorName`. */
export function graphPoller(
  ctx: ConnectorContext,
  input: Omit<PollSource, 'schedule' | 'poll'> & { cursorName: string; poll(): Promise<unknown>; earlyRequested?(last: Date): Promise<boolean> },
): Poller {
  const { cursorName, poll, earlyRequested, ...source } = input;
  return new Poller(ctx, {
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
