import { WardenError } from '../core/errors.js';
import { parseDuration } from '../core/policy/duration.js';
import { BackgroundLoop } from '../runtime/background-loop.js';
import type { ConnectorContext } from './contract.js';

/**
 * The one poller skeleton of every connector (Okta System Log, Entra
 * directoryAudits, Microsoft 365 Management Activity): what is the same for
 * all of them lives here, what is the vendor's is a {@link PollSource}.
 *
 * - **Lease**: one replica polls a tenant's source (a store lease, renewed
 *   each step, given up on stop).
 * - **Cursor**: the source keeps its position in the store (`getCursor`/
 *   `setCursor`) and reads a {@link PollWindow} from it: from the cursor
 *   minus the **overlap**, a {@link Duration} (re-read records are absorbed
 *   by the inbox, keyed by the vendor's record id), or `initialLookback` back
 *   on the first poll.
 * - **Schedule**: a poll when `interval` has passed since the last one,
 *   earlier when woken (a notification) but never within `minGap`, later
 *   when the vendor asked to wait (`waitMs`), at once while a backlog remains.
 * - **Back-fill**: the same read over a window given by hand (`warden okta
 *   backfill`, `warden entra backfill`), cursor untouched.
 * - **Progress**: each read reports pages as it goes (`onProgress`).
 */

/** A length of time, in milliseconds: the one unit of pollers' overlaps, intervals and waits. */
export type Duration = number;

/** Milliseconds of a duration setting: `5m`, `90s`, `1h` (src/core/policy/duration.ts). */
export function durationOf(text: string): Duration {
  try {
    return parseDuration(text) * 1000;
  } catch (cause) {
    throw new WardenError('ERR_CONFIG_INVALID', `not a duration: ${JSON.stringify(text)} (use e.g. 90s, 5m, 1h)`, { cause });
  }
}

/**
 * The overlap a poller's settings ask for, as a Duration: `overlap` (`5m`)
 * when set, else the older per-connector settings, converted (`overlapSeconds`
 * of Okta, `overlapMinutes` of Entra), else `fallback`.
 */
export function overlapOf(
  settings: { overlap?: string | undefined; overlapSeconds?: number | undefined; overlapMinutes?: number | undefined },
  fallback: Duration = 0,
): Duration {
  if (settings.overlap !== undefined) return durationOf(settings.overlap);
  if (settings.overlapSeconds !== undefined) return settings.overlapSeconds * 1000;
  if (settings.overlapMinutes !== undefined) return settings.overlapMinutes * 60_000;
  return fallback;
}

/** What a poll reads: `[from, to]`, `to` open (up to now) when absent. */
export interface PollWindow {
  from: Date;
  to?: Date;
}

/**
 * The window of the next poll: from `position` (where the previous poll got
 * to: the newest record seen, or when it started) minus `overlap`; on the
 * first poll, `initialLookback` before `now`.
 */
export function nextWindow(position: Date | undefined, now: Date, overlap: Duration, initialLookback: Duration): PollWindow {
  return { from: new Date(position ? position.getTime() - overlap : now.getTime() - initialLookback) };
}

/** What one poll did. */
export interface PollOutcome {
  /** The vendor asked to wait this long before the next poll (rate limit, throttling). */
  waitMs?: Duration;
  /** More is waiting than one poll reads: poll again at once. */
  backlog?: boolean;
}

/** The vendor side of a poller. */
export interface PollSource {
  /** For logs: `okta System Log`, `entra directoryAudits`, … */
  readonly what: string;
  /** Warden's tenant id. */
  readonly tenant: string;
  /** The store lease name; one replica holds it. */
  readonly lease: string;
  readonly leaseTtlSeconds: number;
  /** Time between polls. */
  readonly interval: Duration;
  /** Least time between an early poll (after `wake`) and the previous poll. Default: `interval`. */
  readonly minGap?: Duration;
  /** Longest the loop sleeps between checks (a replica that is not the lease holder checks again after it). Default: `interval`, at most 5 s. */
  readonly tick?: Duration;
  /** When the source last polled and whether it may poll before (from its stored cursor, so every replica sees it). */
  schedule?(now: Date): Promise<{ lastPollAt?: Date; notBefore?: Date; earlyRequested?: boolean }>;
  /** Reads from the cursor, stores what it read and moves the cursor on. Handles and records its own vendor errors, or throws. */
  poll(): Promise<PollOutcome | undefined>;
}

/**
 * Runs a {@link PollSource} in the background: lease, schedule, errors.
 *
 * @example
 * ```ts
 * const poller = new Poller(ctx, source);
 * poller.start(); // … poller.wake() on a notification … await poller.stop();
 * ```
 */
export class Poller {
  readonly #loop: BackgroundLoop;
  #wakeRequested = false;
  /** In-process schedule, for sources that keep none in their cursor. */
  #lastPollAt: number | undefined;
  #notBefore = 0;
  #again = false;

  constructor(
    private readonly ctx: ConnectorContext,
    readonly source: PollSource,
  ) {
    this.#loop = new BackgroundLoop(
      () => this.step(),
      source.tick ?? Math.min(source.interval, 5_000),
      (err) => ctx.log.error({ err, tenant: source.tenant }, `${source.what} poll failed`),
    );
  }

  start(): void {
    this.#loop.start();
  }

  /** Stops polling (waits for a poll under way) and gives the lease up. */
  async stop(): Promise<void> {
    await this.#loop.stop();
    await this.ctx.store.releaseLease(this.source.lease, this.ctx.instanceId).catch(() => undefined);
  }

  /** Something changed at the vendor: poll soon (this replica, if it holds the lease), not within `minGap` of the last poll. */
  wake(): void {
    this.#wakeRequested = true;
    this.#loop.wake();
  }

  /** One check: under the lease, polls when due. Returns 1 when a backlog waits (the loop goes on at once), else 0. */
  async step(): Promise<number> {
    const { store, clock, instanceId } = this.ctx;
    const now = clock();
    if (!(await store.acquireLease(this.source.lease, instanceId, now, this.source.leaseTtlSeconds))) return 0;
    const stored = (await this.source.schedule?.(now)) ?? {};
    const t = now.getTime();
    const notBefore = Math.max(this.#notBefore, stored.notBefore?.getTime() ?? 0);
    if (notBefore > t) return 0;
    const last = stored.lastPollAt?.getTime() ?? this.#lastPollAt;
    const due = this.#again || last === undefined || t - last >= this.source.interval;
    const early = !due && t - last! >= (this.source.minGap ?? this.source.interval) && (this.#wakeRequested || stored.earlyRequested === true);
    if (!due && !early) return 0;
    this.#wakeRequested = false;
    this.#again = false;
    this.#lastPollAt = t;
    const outcome = await this.source.poll();
    if (outcome?.waitMs) this.#notBefore = clock().getTime() + outcome.waitMs;
    else if (outcome?.backlog) this.#again = true;
    return this.#again ? 1 : 0;
  }
}
