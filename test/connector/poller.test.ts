import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectorContext } from '../../src/connector/contract.js';
import { createPoller, durationOf, nextWindow, overlapOf, type PollOutcome, type PollSource } from '../../src/connector/poller.js';
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
});
