import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ConnectorContext } from '../../src/connector/contract.js';
import {
  backfillPrinter,
  backfillProgress,
  createPoller,
  durationOf,
  nextWindow,
  overlapOf,
  runBackfill,
  type BackfillSource,
  type PollOutcome,
  type PollSource,
  type ReadOutcome,
} from '../../src/connector/poller.js';
import { isWardenError } from '../../src/core/errors.js';
import { createLogger } from '../../src/runtime/logger.js';
import { Metrics } from '../../src/runtime/metrics.js';
import { pgliteTestStore, type TestStore } from '../helpers/test-stores.js';

/** The poller skeleton every connector's pollers run on (src/connector/poller.ts). */
describe('poller skeleton', () => {
  let handle: TestStore;
  beforeAll(async () => {
    handle = await pgliteTestStore();
  });
  afterAll(async () => {
    await handle?.dispose();
  });

  const clock = { now: new Date('2026-11-25T10:00:00.000Z') };
  const advance = (ms: number) => (clock.now = new Date(clock.now.getTime() + ms));
  const ctx = (instanceId: string): ConnectorContext =>
    ({
      store: handle.store,
      clock: () => clock.now,
      instanceId,
      log: createLogger('silent'),
      metrics: new Metrics({ processMetrics: false }),
    }) as unknown as ConnectorContext;
  let n = 0;
  const source = (outcomes: Array<PollOutcome | undefined> = [], extra: Partial<PollSource> = {}) => {
    const polls: Date[] = [];
    const src: PollSource = {
      what: 'test log',
      name: 'test_log',
      tenant: 'acme',
      lease: `test:poller:${++n}`,
      leaseTtlSeconds: 60,
      interval: 60_000,
      minGap: 5_000,
      async poll() {
        polls.push(clock.now);
        return outcomes.shift();
      },
      ...extra,
    };
    return { src, polls };
  };

  it('takes the overlap in one unit, converting the settings each connector had', () => {
    expect(overlapOf({ overlap: '5m' })).toBe(300_000);
    expect(overlapOf({ overlapSeconds: 300 })).toBe(300_000);
    expect(overlapOf({ overlapMinutes: 10 })).toBe(600_000);
    expect(overlapOf({ overlap: '90s', overlapSeconds: 300 })).toBe(90_000);
    expect(overlapOf({}, 1000)).toBe(1000);
    expect(durationOf('1h30m')).toBe(5_400_000);
    try {
      durationOf('5 minutes');
      expect.unreachable();
    } catch (err) {
      expect(isWardenError(err, 'ERR_CONFIG_INVALID')).toBe(true);
    }
  });

  it('reads from the cursor minus the overlap, or the initial look-back on the first poll', () => {
    const now = new Date('2026-11-25T10:00:00.000Z');
    expect(nextWindow(new Date('2026-11-25T09:50:00.000Z'), now, 300_000, 3_600_000).from.toISOString()).toBe('2026-11-25T09:45:00.000Z');
    expect(nextWindow(undefined, now, 300_000, 3_600_000).from.toISOString()).toBe('2026-11-25T09:00:00.000Z');
  });

  it('polls from one replica only: the lease holder', async () => {
    const { src, polls } = source();
    const a = createPoller(ctx('replica:a'), src);
    const b = createPoller(ctx('replica:b'), src);
    await a.step();
    await b.step();
    expect(polls).toHaveLength(1);
    advance(30_000);
    await b.step(); // a still holds the lease
    expect(polls).toHaveLength(1);
    await a.stop(); // gives the lease up
    await b.step();
    expect(polls).toHaveLength(2);
    await b.stop();
  });

  it('polls when the interval has passed, early when woken (not within the least gap), later when the vendor asks to wait, at once on a backlog', async () => {
    const { src, polls } = source([undefined, undefined, { waitMs: 120_000 }, { backlog: true }, undefined]);
    const p = createPoller(ctx('replica:a'), src);
    await p.step(); // the first poll of this process is due
    advance(3_000);
    p.wake(); // the loop is not started: this only asks for an early poll
    await p.step();
    expect(polls).toHaveLength(1); // within the least gap
    advance(3_000);
    await p.step();
    expect(polls).toHaveLength(2); // early
    advance(30_000);
    await p.step();
    expect(polls).toHaveLength(2); // not due, not woken
    advance(30_000);
    await p.step(); // due: the vendor answers "wait 2 minutes"
    expect(polls).toHaveLength(3);
    advance(60_000);
    await p.step();
    expect(polls).toHaveLength(3); // still waiting
    advance(61_000);
    expect(await p.step()).toBe(1); // a backlog: go on at once
    expect(await p.step()).toBe(0);
    expect(polls).toHaveLength(5);
    await p.stop();
  });

  it('polls at the end of the least gap when woken inside it, not at its next check (a tick later) or the next wake', async () => {
    // Timers on the fake clock, the poller's clock injected; a lease store that answers at once, so settling is only promises.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const settle = async () => {
      for (let i = 0; i < 20; i++) await Promise.resolve();
    };
    const later = async (ms: number) => {
      advance(ms);
      await vi.advanceTimersByTimeAsync(ms);
      await settle();
    };
    try {
      const { src, polls } = source([], { tick: 60_000 });
      const leases = { acquireLease: async () => true, releaseLease: async () => undefined };
      const p = createPoller({ ...ctx('replica:a'), store: leases } as unknown as ConnectorContext, src);
      p.start();
      await settle();
      expect(polls).toHaveLength(1); // the first poll of this process
      await later(1_000);
      p.wake(); // a notification, 1 s into the 5 s gap
      await settle();
      expect(polls).toHaveLength(1);
      await later(3_999);
      expect(polls).toHaveLength(1); // still inside the gap
      await later(1);
      expect(polls).toHaveLength(2); // the gap's end, 55 s before the loop's next check
      expect(polls[1]!.getTime() - polls[0]!.getTime()).toBe(5_000);
      await later(10_000);
      expect(polls).toHaveLength(2); // nothing more was asked
      await p.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('takes its schedule from the stored cursor when the source keeps one, so every replica sees it', async () => {
    const last = new Date(clock.now.getTime() - 10_000);
    let early = false;
    const { src, polls } = source([], { schedule: async () => ({ lastPollAt: last, earlyRequested: early }) });
    const p = createPoller(ctx('replica:a'), src);
    await p.step();
    expect(polls).toHaveLength(0); // polled 10 s ago elsewhere
    early = true;
    await p.step();
    expect(polls).toHaveLength(1); // an early poll was asked for, and the gap has passed
    await p.stop();
  });

  const H = 3_600_000;

  /** A source whose vendor holds records at the given times; reads store them once (by time) and record the windows asked for. */
  const vendor = (times: Date[], extra: Partial<BackfillSource> & { cut?: (window: { from: Date; to: Date }) => ReadOutcome | undefined } = {}) => {
    let position: Date | undefined;
    const stored = new Set<number>();
    const windows: Array<{ from: string; to: string }> = [];
    const backfill: BackfillSource = {
      overlap: 5 * 60_000,
      reach: 24 * H,
      retention: 7 * 24 * H,
      async position() {
        return position;
      },
      async advance(to) {
        if (!position || to > position) position = to;
      },
      async read(window, options) {
        windows.push({ from: window.from.toISOString(), to: window.to.toISOString() });
        const cut = extra.cut?.(window);
        if (cut) return cut;
        const inWindow = times.filter((t) => t >= window.from && t <= window.to);
        let fresh = 0;
        for (const t of inWindow) if (!stored.has(t.getTime()) && stored.add(t.getTime())) fresh++;
        const newest = inWindow.at(-1);
        const outcome = { pages: 1, records: inWindow.length, stored: fresh, ...(newest ? { newest } : {}) };
        await options.onPage?.(outcome);
        return outcome;
      },
      ...extra,
    };
    return { backfill, stored, windows, setPosition: (d: Date) => (position = d) };
  };

  it('back-fills a gap longer than the reach window by window from the stored position, then polls as usual', async () => {
    const start = clock.now.getTime();
    const times = [1, 10, 30, 49, 70].map((h) => new Date(start - 72 * H + h * H));
    const v = vendor(times);
    v.setPosition(new Date(start - 72 * H));
    const { src, polls } = source([], { backfill: v.backfill });
    const metrics = new Metrics({ processMetrics: false });
    const p = createPoller({ ...ctx('replica:a'), metrics }, src);
    let steps = 0;
    while ((await p.step()) === 1) steps++;
    expect(v.windows.map((w) => [(Date.parse(w.from) - start) / H, (Date.parse(w.to) - start) / H])).toEqual([
      [-72 - 1 / 12, -48],
      [-48 - 1 / 12, -24],
      [-24 - 1 / 12, 0],
    ]);
    expect(v.stored.size).toBe(5);
    expect(polls).toHaveLength(1); // then the regular poll
    expect(steps).toBe(3);
    expect((await v.backfill.position())!.getTime()).toBe(start);
    const text = await metrics.registry.metrics();
    expect(text).toContain('warden_poller_backfill_records_total{tenant="acme",source="test_log",trigger="gap",result="new"} 5');
    expect(text).toContain('warden_poller_backfill_pages_total{tenant="acme",source="test_log",trigger="gap"} 3');
    expect(text).toContain('warden_poller_backfills_total{tenant="acme",source="test_log",trigger="gap",result="done"} 1');
    expect(text).toContain('warden_poller_backfill_active{tenant="acme",source="test_log"} 0');
    await p.stop();
  });

  it('does not back-fill a position within the reach, nor before the first poll', async () => {
    const v = vendor([]);
    const { src, polls } = source([], { backfill: v.backfill });
    const p = createPoller(ctx('replica:a'), src);
    await p.step(); // no position yet: the first poll
    v.setPosition(new Date(clock.now.getTime() - 23 * H));
    advance(60_000);
    await p.step();
    expect(v.windows).toEqual([]);
    expect(polls).toHaveLength(2);
    await p.stop();
  });

  it('goes on from the newest record read when a window is cut short, and waits as the vendor asks', async () => {
    const start = clock.now.getTime();
    const v = vendor([], {
      cut: (w) =>
        w.from.getTime() < start - 30 * H ? { pages: 1, records: 1, stored: 1, newest: new Date(start - 40 * H), waitMs: 60_000, partial: true } : undefined,
    });
    v.setPosition(new Date(start - 48 * H));
    const { src } = source([], { backfill: v.backfill });
    const p = createPoller(ctx('replica:a'), src);
    expect(await p.step()).toBe(0); // cut short: wait
    expect((await v.backfill.position())!.getTime()).toBe(start - 40 * H);
    expect(await p.step()).toBe(0);
    expect(v.windows).toHaveLength(1); // not before the vendor's time
    advance(61_000);
    while ((await p.step()) === 1);
    expect(Date.parse(v.windows[1]!.from)).toBe(start - 40 * H - 5 * 60_000);
    await p.stop();
  });

  it('reads a window again only after an interval when it was cut short without progress, or failed', async () => {
    const start = clock.now.getTime();
    let fail = false;
    const v = vendor([], {
      cut: (w) => {
        if (fail) throw new Error('the vendor is down');
        return w.from.getTime() < start - 40 * H ? { pages: 50, records: 50_000, stored: 0, newest: new Date(start - 48 * H), partial: true } : undefined;
      },
    });
    v.setPosition(new Date(start - 48 * H));
    const { src } = source([], { backfill: v.backfill });
    const p = createPoller(ctx('replica:a'), src);
    expect(await p.step()).toBe(0); // no progress: not again at once
    expect(await p.step()).toBe(0);
    expect(v.windows).toHaveLength(1);
    advance(61_000);
    fail = true;
    await expect(p.step()).rejects.toThrow('the vendor is down');
    expect(await p.step()).toBe(0); // after a failure, not at every tick either
    expect(v.windows).toHaveLength(2);
    await p.stop();
  });

  it('reads a gap past the retention from where the vendor still keeps records, and counts what cannot be read', async () => {
    const start = clock.now.getTime();
    const v = vendor([]);
    v.setPosition(new Date(start - 10 * 24 * H));
    const { src } = source([], { backfill: v.backfill });
    const metrics = new Metrics({ processMetrics: false });
    const p = createPoller({ ...ctx('replica:a'), metrics }, src);
    await p.step();
    expect(Date.parse(v.windows[0]!.from)).toBe(start - 7 * 24 * H);
    expect(await metrics.registry.metrics()).toContain(
      `warden_poller_backfill_unreadable_seconds_total{tenant="acme",source="test_log"} ${3 * 24 * 3600 + 5 * 60}`,
    );
    await p.stop();
  });

  it('computes the ETA from the window covered so far and the time it took', () => {
    const from = new Date('2026-11-25T00:00:00.000Z');
    const to = new Date('2026-11-25T10:00:00.000Z');
    const startedAt = new Date('2026-11-26T00:00:00.000Z');
    const at = (s: number) => new Date(startedAt.getTime() + s * 1000);
    const p = backfillProgress({ from, to, reached: new Date('2026-11-25T02:00:00.000Z'), startedAt, now: at(60), pages: 3, records: 3000, stored: 100 });
    expect(p).toMatchObject({ fraction: 0.2, elapsedMs: 60_000, etaMs: 240_000, rate: 50 });
    expect(backfillProgress({ from, to, startedAt, now: at(10), pages: 0, records: 0, stored: 0 }).etaMs).toBeUndefined();
    expect(backfillProgress({ from, to, reached: to, startedAt, now: at(90), pages: 9, records: 9000, stored: 0 })).toMatchObject({
      fraction: 1,
      etaMs: 0,
      rate: 100,
    });
    // A record past the window counts as the whole window, one before it as none.
    expect(backfillProgress({ from, to, reached: new Date('2026-11-26T00:00:00.000Z'), startedAt, now: at(1), pages: 1, records: 1, stored: 1 }).fraction).toBe(
      1,
    );
    expect(
      backfillProgress({ from, to, reached: new Date('2026-11-24T00:00:00.000Z'), startedAt, now: at(1), pages: 1, records: 1, stored: 1 }).etaMs,
    ).toBeUndefined();
  });

  it('back-fills a window by hand with progress lines (records, pages, rate, ETA), the cursor untouched', async () => {
    const start = clock.now.getTime();
    const v = vendor([2, 5, 8].map((h) => new Date(start - 10 * H + h * H)));
    v.setPosition(new Date(start));
    const lines: string[] = [];
    const result = await runBackfill(
      { what: 'test log', name: 'test_log', tenant: 'acme', backfill: v.backfill },
      { from: new Date(start - 10 * H), to: new Date(start) },
      {
        clock: () => {
          advance(1_000);
          return clock.now;
        },
        onProgress: backfillPrinter({ tenant: 'acme', what: 'test log', write: (t) => void lines.push(t), style: 'lines', clock: () => clock.now, everyMs: 0 }),
      },
    );
    expect(result).toMatchObject({ pages: 1, records: 3, stored: 3 });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^backfill acme test log: 80% up to \S+, 3 records \(3 new\), 1 pages, [\d.]+ records\/s, ETA \d+s\n$/);
    expect(lines[1]).toMatch(/^backfill acme test log: 100% .* ETA 0s\n$/);
    expect((await v.backfill.position())!.getTime()).toBe(start);
  });
});
