import { WardenError } from '../core/errors.js';
import { parseDuration } from '../core/policy/duration.js';
import { Counter, Gauge, type Registry } from 'prom-client';
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
 *   backfill`, `warden entra backfill`: {@link runBackfill}), cursor
 *   untouched, with progress and an ETA ({@link backfillProgress}).
 * - **Back-fill reach**: when the stored position is older than the source's
 *   `reach` (the overlap cap: after an outage), the poller notices the gap
 *   and back-fills from the position by itself, one window (`chunk`) per
 *   step, moving the cursor on after each window it read entirely, before it
 *   polls as usual; progress in the log and in the `warden_poller_backfill_*`
 *   metrics. Records read twice are absorbed by the inbox (vendor record id).
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

/** How far a read of a window has got, counted from its start. */
export interface ReadProgress {
  pages: number;
  /** Records read (duplicates and skipped ones included). */
  records: number;
  /** Records new to the inbox. */
  stored: number;
  /** The vendor time of the newest record read so far. */
  newest?: Date;
}

/** What a read of a window did; `partial` when it stopped before the window's end (a page cap, or `waitMs`: the vendor asked to wait). */
export interface ReadOutcome extends ReadProgress {
  waitMs?: Duration;
  partial?: boolean;
}

/** How a read waits when the vendor asks it to (rate limit): in place (a command), or not at all, returning `waitMs` (the poller). */
export type ReadPause = 'inline' | 'return';

/** The back-fill side of a source: a read of a closed window, and the stored position the gap is measured from. */
export interface BackfillSource {
  /** Reads the records of `[from, to]` into the inbox; the cursor is untouched. */
  read(window: { from: Date; to: Date }, options: { pause: ReadPause; onPage?: (progress: ReadProgress) => void | Promise<void> }): Promise<ReadOutcome>;
  /** Up to when the stored cursor says everything was read (the start of the last complete poll); undefined before the first poll. */
  position(): Promise<Date | undefined>;
  /** Moves the stored position on to `to`, after a back-fill window up to `to` was read entirely. */
  advance(to: Date): Promise<void>;
  /** Each read starts this far before the position. */
  readonly overlap: Duration;
  /** The longest gap the regular poll closes (the overlap cap): a position older than `now - reach` is a gap to back-fill. */
  readonly reach: Duration;
  /** How long the vendor keeps records: what is older cannot be read. */
  readonly retention: Duration;
  /** The window of one back-fill step. Default: `reach`. */
  readonly chunk?: Duration;
}

/** The vendor side of a poller. */
export interface PollSource {
  /** For logs: `okta System Log`, `entra directoryAudits`, … */
  readonly what: string;
  /** The `source` label of metrics: `okta_system_log`, `entra_directory_audits`, … */
  readonly name: string;
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
  /** Back-fill (by hand, and of a gap the poller notices); absent: the source has none. */
  readonly backfill?: BackfillSource;
}

/** What a poller needs of Warden. */
export type PollerContext = Pick<ConnectorContext, 'store' | 'clock' | 'instanceId' | 'log' | 'metrics'>;

/** A {@link PollSource} running in the background. */
export interface Poller {
  readonly source: PollSource;
  start(): void;
  /** Stops polling (waits for a poll under way) and gives the lease up. */
  stop(): Promise<void>;
  /** Something changed at the vendor: poll soon (this replica, if it holds the lease), not within `minGap` of the last poll. */
  wake(): void;
  /** One check: under the lease, back-fills a gap or polls when due. Returns 1 when more waits (the loop goes on at once), else 0. */
  step(): Promise<number>;
}

/** The skeleton's back-fill metrics, one set per registry. */
export interface PollerMetrics {
  /** 1 while a poller back-fills a gap. */
  active: Gauge<'tenant' | 'source'>;
  /** How far the back-filled position is behind now. */
  behind: Gauge<'tenant' | 'source'>;
  /** Share of the back-fill window covered (0–1). */
  progress: Gauge<'tenant' | 'source' | 'trigger'>;
  /** Estimated seconds to the end of the back-fill. */
  eta: Gauge<'tenant' | 'source' | 'trigger'>;
  records: Counter<'tenant' | 'source' | 'trigger' | 'result'>;
  pages: Counter<'tenant' | 'source' | 'trigger'>;
  runs: Counter<'tenant' | 'source' | 'trigger' | 'result'>;
  /** Seconds of a gap that were past the vendor's retention when it was noticed. */
  unreadable: Counter<'tenant' | 'source'>;
}

const metricsByRegistry = new WeakMap<Registry, PollerMetrics>();

/** The back-fill metrics on `registry` (created on first use). */
export function pollerMetrics(registry: Registry): PollerMetrics {
  let m = metricsByRegistry.get(registry);
  if (m) return m;
  const registers = [registry];
  m = {
    active: new Gauge({
      name: 'warden_poller_backfill_active',
      help: '1 while the poller back-fills a gap it noticed (the stored cursor older than the overlap cap)',
      labelNames: ['tenant', 'source'] as const,
      registers,
    }),
    behind: new Gauge({
      name: 'warden_poller_backfill_behind_seconds',
      help: 'How far the back-filled position is behind now (0 when caught up)',
      labelNames: ['tenant', 'source'] as const,
      registers,
    }),
    progress: new Gauge({
      name: 'warden_poller_backfill_progress_ratio',
      help: 'Share of the back-fill window read so far (trigger: gap, the poller; command, warden <idp> backfill)',
      labelNames: ['tenant', 'source', 'trigger'] as const,
      registers,
    }),
    eta: new Gauge({
      name: 'warden_poller_backfill_eta_seconds',
      help: 'Estimated seconds until the back-fill window is read (from the window covered so far and the time it took)',
      labelNames: ['tenant', 'source', 'trigger'] as const,
      registers,
    }),
    records: new Counter({
      name: 'warden_poller_backfill_records_total',
      help: 'Records read by back-fills, by result (new to the inbox, or already there)',
      labelNames: ['tenant', 'source', 'trigger', 'result'] as const,
      registers,
    }),
    pages: new Counter({
      name: 'warden_poller_backfill_pages_total',
      help: 'Pages read by back-fills',
      labelNames: ['tenant', 'source', 'trigger'] as const,
      registers,
    }),
    runs: new Counter({
      name: 'warden_poller_backfills_total',
      help: 'Back-fills by trigger and result (started, done)',
      labelNames: ['tenant', 'source', 'trigger', 'result'] as const,
      registers,
    }),
    unreadable: new Counter({
      name: 'warden_poller_backfill_unreadable_seconds_total',
      help: "Seconds of a gap that were past the vendor's retention when the poller noticed it (records there cannot be read)",
      labelNames: ['tenant', 'source'] as const,
      registers,
    }),
  };
  metricsByRegistry.set(registry, m);
  return m;
}

/** Where a back-fill is: the window, how far it got, how fast. */
export interface BackfillProgress extends ReadProgress {
  /** Share of the window covered (0–1): up to the newest record read, or the end of the window once read. */
  fraction: number;
  /** Records per second so far. */
  rate: number;
  /** Milliseconds since the back-fill started. */
  elapsedMs: number;
  /** Estimated milliseconds to the end; undefined until some of the window is covered. */
  etaMs?: number;
  /** The window is read (the last report of a back-fill). */
  done?: boolean;
}

/**
 * Progress of a back-fill of `[from, to]` that started at `startedAt`: the
 * share of the window covered (`reached`, the newest record's time), the rate
 * and the ETA: the time taken so far, scaled to the part of the window still
 * to read.
 *
 * @example backfillProgress({ from: 0h, to: 10h, reached: 2h, startedAt, now: startedAt + 60 s, … }) // fraction 0.2, ETA 240 s
 */
export function backfillProgress(input: {
  from: Date;
  to: Date;
  reached?: Date | undefined;
  startedAt: Date;
  now: Date;
  pages: number;
  records: number;
  stored: number;
}): BackfillProgress {
  const span = input.to.getTime() - input.from.getTime();
  const covered = input.reached ? input.reached.getTime() - input.from.getTime() : 0;
  const fraction = span <= 0 ? 1 : Math.max(0, Math.min(1, covered / span));
  const elapsedMs = Math.max(0, input.now.getTime() - input.startedAt.getTime());
  const rate = elapsedMs > 0 ? input.records / (elapsedMs / 1000) : 0;
  const progress: BackfillProgress = {
    pages: input.pages,
    records: input.records,
    stored: input.stored,
    ...(input.reached ? { newest: input.reached } : {}),
    fraction,
    rate,
    elapsedMs,
  };
  if (fraction >= 1) progress.etaMs = 0;
  else if (fraction > 0) progress.etaMs = Math.round((elapsedMs * (1 - fraction)) / fraction);
  return progress;
}

/** `1h 02m`, `3m 20s`, `45s`: a duration for people. */
export function shortDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

/** One progress line: `backfill acme okta System Log: 42% up to 2026-…, 12000 records (3000 new), 12 pages, 850 records/s, ETA 1m 20s`. */
export function backfillProgressLine(tenant: string, what: string, p: BackfillProgress): string {
  return (
    `backfill ${tenant} ${what}: ${Math.round(p.fraction * 100)}%${p.newest ? ` up to ${p.newest.toISOString()}` : ''}, ` +
    `${p.records} records (${p.stored} new), ${p.pages} pages, ${p.rate.toFixed(p.rate < 10 ? 1 : 0)} records/s, ` +
    `ETA ${p.etaMs === undefined ? '?' : shortDuration(p.etaMs)}`
  );
}

/**
 * Prints back-fill progress for a command, to stderr: on a terminal (`bar`)
 * one line rewritten in place; otherwise (`lines`) a line at the start, at
 * most one every `everyMs`, and the last one.
 */
export function backfillPrinter(input: {
  tenant: string;
  what: string;
  write: (text: string) => void;
  style: 'bar' | 'lines' | 'none';
  clock: () => Date;
  everyMs?: number;
}): (progress: BackfillProgress) => void {
  let last: number | undefined;
  return (p) => {
    if (input.style === 'none') return;
    const line = backfillProgressLine(input.tenant, input.what, p);
    if (input.style === 'bar') {
      input.write(`\r${line}${p.done ? '\n' : ''}`);
      return;
    }
    const at = input.clock().getTime();
    if (!p.done && last !== undefined && at - last < (input.everyMs ?? 2_000)) return;
    last = at;
    input.write(`${line}\n`);
  };
}

/** What a back-fill by hand did. */
export interface BackfillResult extends ReadOutcome {
  from: Date;
  to: Date;
  elapsedMs: number;
}

/**
 * Back-fills `[from, to]` of a source by hand (`warden okta backfill`,
 * `warden entra backfill`, `bench:catchup`): one read over the window,
 * waiting in place when the vendor asks to, the cursor untouched; records
 * already in the inbox stay as they are. `onProgress` gets the progress
 * (with the ETA) after each page; `metrics`, when given, counts it under
 * trigger `command`.
 *
 * @example
 * ```ts
 * const result = await runBackfill(systemLogSource(tenant, deps), { from, to }, { clock, onProgress: (p) => io.err(backfillProgressLine('acme', 'okta System Log', p)) });
 * ```
 */
export async function runBackfill(
  source: Pick<PollSource, 'what' | 'name' | 'tenant' | 'backfill'>,
  window: { from: Date; to: Date },
  options: { clock: () => Date; onProgress?: (progress: BackfillProgress) => void | Promise<void>; metrics?: Registry },
): Promise<BackfillResult> {
  if (!source.backfill) throw new WardenError('ERR_VALIDATION', `${source.what} has no back-fill`);
  if (window.from >= window.to) throw new WardenError('ERR_VALIDATION', 'the back-fill window must start before it ends');
  const startedAt = options.clock();
  const labels = { tenant: source.tenant, source: source.name, trigger: 'command' };
  const m = options.metrics ? pollerMetrics(options.metrics) : undefined;
  m?.runs.inc({ ...labels, result: 'started' });
  const progressOf = (p: ReadProgress, done: boolean) =>
    backfillProgress({
      ...window,
      reached: done ? window.to : p.newest,
      startedAt,
      now: options.clock(),
      pages: p.pages,
      records: p.records,
      stored: p.stored,
    });
  let last: ReadProgress = { pages: 0, records: 0, stored: 0 };
  const total: ReadProgress = { pages: 0, records: 0, stored: 0 };
  const backfill = source.backfill;
  let from = window.from;
  let outcome: ReadOutcome;
  for (;;) {
    const base = { ...total };
    outcome = await backfill.read(
      { from, to: window.to },
      {
        pause: 'inline',
        onPage: async (page) => {
          const p: ReadProgress = {
            pages: base.pages + page.pages,
            records: base.records + page.records,
            stored: base.stored + page.stored,
            ...(page.newest ? { newest: page.newest } : {}),
          };
          m?.pages.inc(labels, p.pages - last.pages);
          m?.records.inc({ ...labels, result: 'new' }, p.stored - last.stored);
          m?.records.inc({ ...labels, result: 'duplicate' }, p.records - p.stored - (last.records - last.stored));
          last = p;
          const progress = progressOf(p, false);
          m?.progress.set(labels, progress.fraction);
          if (progress.etaMs !== undefined) m?.eta.set(labels, progress.etaMs / 1000);
          await options.onProgress?.(progress);
        },
      },
    );
    total.pages += outcome.pages;
    total.records += outcome.records;
    total.stored += outcome.stored;
    if (outcome.newest) total.newest = outcome.newest;
    if (!outcome.partial && !outcome.waitMs) break;
    // Cut short (the vendor asked to wait): go on from the newest record read, the overlap before it.
    if (outcome.waitMs) await new Promise((resolve) => setTimeout(resolve, Math.min(outcome.waitMs!, 120_000)));
    if (outcome.newest) from = new Date(Math.max(from.getTime(), outcome.newest.getTime() - backfill.overlap));
  }
  outcome = { ...total };
  const done = { ...progressOf(outcome, true), done: true };
  m?.progress.set(labels, 1);
  m?.eta.set(labels, 0);
  m?.runs.inc({ ...labels, result: 'done' });
  await options.onProgress?.(done);
  return { ...outcome, ...window, elapsedMs: done.elapsedMs };
}

/**
 * Runs a {@link PollSource} in the background: lease, schedule, errors, and
 * the back-fill of a gap the stored cursor shows.
 *
 * @example
 * ```ts
 * const poller = createPoller(ctx, source);
 * poller.start(); // … poller.wake() on a notification … await poller.stop();
 * ```
 */
export function createPoller(ctx: PollerContext, source: PollSource): Poller {
  const { store, clock, instanceId, log } = ctx;
  let wakeRequested = false;
  /** In-process schedule, for sources that keep none in their cursor. */
  let lastPollAt: number | undefined;
  let notBeforeAt = 0;
  let again = false;
  /** The gap being back-filled: its start, when it was noticed (its end), and what was read of it. */
  let gap: { from: Date; startedAt: Date; pages: number; records: number; stored: number } | undefined;
  const labels = { tenant: source.tenant, source: source.name };
  const metrics = () => pollerMetrics(ctx.metrics.registry);

  /** One back-fill window of a gap, when the stored position shows one. Returns undefined when there is none. */
  const backfillGap = async (now: Date): Promise<number | undefined> => {
    const b = source.backfill;
    if (!b) return undefined;
    const position = await b.position();
    const t = now.getTime();
    // A gap opens when the position is older than the reach, and closes when the back-fill has read up to when it was noticed.
    const open = position !== undefined && (gap ? position < gap.startedAt : t - position.getTime() > b.reach);
    if (!open) {
      if (gap) {
        log.info({ tenant: source.tenant, source: source.name, records: gap.records, stored: gap.stored, pages: gap.pages }, `${source.what}: gap back-filled`);
        const m = metrics();
        m.active.set(labels, 0);
        m.behind.set(labels, 0);
        m.progress.set({ ...labels, trigger: 'gap' }, 1);
        m.eta.set({ ...labels, trigger: 'gap' }, 0);
        m.runs.inc({ ...labels, trigger: 'gap', result: 'done' });
        gap = undefined;
      }
      return undefined;
    }
    const m = metrics();
    const floor = t - b.retention;
    if (!position) return undefined;
    const from = new Date(Math.max(position.getTime() - b.overlap, floor));
    if (!gap) {
      gap = { from, startedAt: now, pages: 0, records: 0, stored: 0 };
      const unreadable = Math.max(0, floor - (position.getTime() - b.overlap));
      if (unreadable > 0) {
        m.unreadable.inc(labels, unreadable / 1000);
        log.error(
          { tenant: source.tenant, source: source.name, position: position.toISOString(), retainedFrom: new Date(floor).toISOString() },
          `${source.what}: the gap reaches past the vendor's retention; records before ${new Date(floor).toISOString()} cannot be read`,
        );
      }
      log.warn(
        { tenant: source.tenant, source: source.name, position: position.toISOString(), behindSeconds: Math.round((t - position.getTime()) / 1000) },
        `${source.what}: the cursor is older than the overlap cap (${shortDuration(b.reach)}): back-filling from ${from.toISOString()}`,
      );
      m.active.set(labels, 1);
      m.runs.inc({ ...labels, trigger: 'gap', result: 'started' });
    }
    const to = new Date(Math.min(Math.max(position.getTime(), from.getTime()) + (b.chunk ?? b.reach), gap.startedAt.getTime()));
    let read: ReadOutcome;
    try {
      read = await b.read({ from, to }, { pause: 'return' });
    } catch (err) {
      // The same window again after an interval, not at every tick.
      notBeforeAt = clock().getTime() + source.interval;
      throw err;
    }
    gap.pages += read.pages;
    gap.records += read.records;
    gap.stored += read.stored;
    m.pages.inc({ ...labels, trigger: 'gap' }, read.pages);
    m.records.inc({ ...labels, trigger: 'gap', result: 'new' }, read.stored);
    m.records.inc({ ...labels, trigger: 'gap', result: 'duplicate' }, read.records - read.stored);
    if (read.partial || read.waitMs) {
      // Cut short: move on to the newest record read (the next window starts the overlap before it; what is read again is absorbed by the inbox).
      const moved = read.newest !== undefined && read.newest > position;
      if (moved) await b.advance(read.newest!);
      if (read.waitMs || !moved) {
        // Without progress (a page cap filled by records the overlap reads again) the same window is read after an interval.
        const waitMs = read.waitMs ?? source.interval;
        notBeforeAt = clock().getTime() + waitMs;
        log.warn(
          { tenant: source.tenant, source: source.name, waitMs },
          `${source.what}: back-fill paused${read.waitMs ? ' as the vendor asked' : ': a window cut short without progress'}`,
        );
        return 0;
      }
      again = true;
      return 1;
    }
    await b.advance(to);
    const later = clock();
    const progress = backfillProgress({ ...gap, to: gap.startedAt, reached: to, now: later });
    m.behind.set(labels, Math.max(0, (later.getTime() - to.getTime()) / 1000));
    m.progress.set({ ...labels, trigger: 'gap' }, progress.fraction);
    if (progress.etaMs !== undefined) m.eta.set({ ...labels, trigger: 'gap' }, progress.etaMs / 1000);
    log.info(
      { tenant: source.tenant, source: source.name, window: { from: from.toISOString(), to: to.toISOString() }, read: read.records, new: read.stored },
      backfillProgressLine(source.tenant, source.what, progress),
    );
    // Go on at once: the next window, or (the gap closed) the regular poll.
    again = true;
    return 1;
  };

  const step = async (): Promise<number> => {
    const now = clock();
    if (!(await store.acquireLease(source.lease, instanceId, now, source.leaseTtlSeconds))) return 0;
    const stored = (await source.schedule?.(now)) ?? {};
    const t = now.getTime();
    const notBefore = Math.max(notBeforeAt, stored.notBefore?.getTime() ?? 0);
    if (notBefore > t) return 0;
    const last = stored.lastPollAt?.getTime() ?? lastPollAt;
    const due = again || gap !== undefined || last === undefined || t - last >= source.interval;
    const asked = wakeRequested || stored.earlyRequested === true;
    const gapEnd = last === undefined ? t : last + (source.minGap ?? source.interval);
    const early = !due && t >= gapEnd && asked;
    if (!due && !early) {
      // Asked inside the least gap: poll when the gap ends, not at the next check (a tick later) or the next notification.
      if (asked) checkAt(gapEnd - t);
      return 0;
    }
    wakeRequested = false;
    again = false;
    const backfilled = await backfillGap(now);
    if (backfilled !== undefined) return backfilled;
    lastPollAt = t;
    const outcome = await source.poll();
    if (outcome?.waitMs) notBeforeAt = clock().getTime() + outcome.waitMs;
    else if (outcome?.backlog) again = true;
    return again ? 1 : 0;
  };

  const loop = new BackgroundLoop(step, source.tick ?? Math.min(source.interval, 5_000), (err) =>
    log.error({ err, tenant: source.tenant }, `${source.what} poll failed`),
  );
  /** One extra check `ms` from now (the end of the least gap); the loop's own tick goes on as well. */
  let gapTimer: NodeJS.Timeout | undefined;
  function checkAt(ms: number): void {
    clearTimeout(gapTimer);
    gapTimer = setTimeout(() => loop.wake(), Math.max(0, ms));
    gapTimer.unref?.();
  }

  return {
    source,
    start: () => loop.start(),
    async stop() {
      clearTimeout(gapTimer);
      await loop.stop();
      clearTimeout(gapTimer);
      await store.releaseLease(source.lease, instanceId).catch(() => undefined);
    },
    wake() {
      wakeRequested = true;
      loop.wake();
    },
    step,
  };
}
