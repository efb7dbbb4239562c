import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { OPERATIONS } from '../admin/operations.js';
import type { OpContext } from '../connector/operation.js';
import type { WardenConfig } from '../config/load-config.js';
import { ActionError, type InboxHandler, type ConnectorContext } from '../connector/contract.js';
import { createLogger } from '../runtime/logger.js';
import type { InboxRow, Store, StoreTx } from '../store/store.js';
import { keyedChange } from '../core/keyed-change.js';
import { overlay } from '../store/overlay.js';
import { InboxWorker, inboxBackoffMs, type InboxWorkerOptions } from './inbox-worker.js';
import type { SignalDetection } from './observe-signal.js';
import { outboxBackoffMs } from './outbox-worker.js';
import { makeChange } from '../../test/helpers/changes.js';
import { examplePolicy } from '../../test/helpers/policies.js';
import { pgliteTestStore, type TestStore } from '../../test/helpers/test-stores.js';

/** An inbox worker with one Okta handler, the example policy and the test's clock; `more` adds options (or replaces them). */
function oktaWorker(
  store: Store,
  handler: InboxHandler,
  now: () => Date,
  more: Partial<InboxWorkerOptions> & { detection?: SignalDetection } = {},
): InboxWorker {
  const { detection, ...rest } = more;
  return new InboxWorker({
    store,
    decide: { policies: { get: examplePolicy }, clock: now, ...(detection ? { detection } : {}) },
    handlers: new Map([['okta', handler]]),
    context: () => ({}) as ConnectorContext,
    log: createLogger('silent'),
    clock: now,
    ...rest,
  });
}

/** Okta hook deliveries waiting in the inbox, one per event id (an empty payload: the tests' handlers read only the entry). */
async function putEntries(store: Store, tenant: string, eventIds: readonly string[], eventType: string, receivedAt: Date): Promise<void> {
  for (const eventId of eventIds) await store.putInbox({ tenant, source: 'okta', eventId, eventType, via: 'hook', payload: {}, receivedAt });
}

describe('keyedChange', () => {
  it('keys a single change by the delivery event id', () => {
    const c = makeChange({ source: { idp: 'okta', eventIds: [], rawType: 'x', via: 'hook' } });
    expect(keyedChange(c, 'evt', 0, 1).source.eventIds).toEqual(['evt']);
    const already = makeChange({ source: { idp: 'okta', eventIds: ['evt'], rawType: 'x', via: 'hook' } });
    expect(keyedChange(already, 'evt', 0, 1)).toBe(already);
  });

  it('gives each of several changes from one event a key of its own', () => {
    const c = makeChange({ source: { idp: 'okta', eventIds: ['evt', 'other'], rawType: 'x', via: 'hook' } });
    expect([0, 1].map((i) => keyedChange(c, 'evt', i, 2).source.eventIds)).toEqual([
      ['evt#0', 'other'],
      ['evt#1', 'other'],
    ]);
  });
});

describe('retry backoff', () => {
  it('doubles for the inbox up to five minutes', () => {
    expect([1, 2, 3, 10, 20].map(inboxBackoffMs)).toEqual([2000, 4000, 8000, 300_000, 300_000]);
  });
  it('doubles for actions up to ten minutes, with ±20 % jitter', () => {
    expect(outboxBackoffMs(1, () => 0.5)).toBe(2000);
    expect(outboxBackoffMs(3, () => 0)).toBe(6400);
    expect(outboxBackoffMs(3, () => 1)).toBe(9600);
    expect(outboxBackoffMs(30, () => 0.5)).toBe(600_000);
  });
});

describe('InboxWorker give-up and retry time', () => {
  let handle: TestStore;
  let store: Store;
  beforeAll(async () => {
    handle = await pgliteTestStore();
    store = handle.store;
    await store.ensureTenants(['acme', 'later']);
  });
  afterAll(() => handle.dispose());

  it('ends a record whose normalizer keeps throwing failed after maxAttempts: audited, counted, listed, and never in the way of the next entries', async () => {
    const clock = { now: new Date('2026-11-25T10:00:00.000Z') };
    const entry = (eventId: string) => ({
      tenant: 'acme',
      source: 'okta',
      eventId,
      eventType: 'user.mfa.factor.reset_all',
      via: 'hook' as const,
      payload: { uuid: eventId },
      receivedAt: clock.now,
    });
    const poison = await store.putInbox(entry('evt-poison'));
    await store.putInbox(entry('evt-after-1'));
    const seen: string[] = [];
    const handler: InboxHandler = {
      toChanges: async (e: InboxRow) => {
        seen.push(e.eventId);
        if (e.eventId === 'evt-poison') throw new Error('normalizer exploded');
        return { ignored: 'not governed' };
      },
    };
    const registry = new Registry();
    const worker = oktaWorker(store, handler, () => clock.now, { registry, maxAttempts: 3 });

    expect(await worker.runOnce()).toBe(2);
    expect((await store.listInbox('acme', 'ignored', 10)).map((e) => e.eventId)).toEqual(['evt-after-1']); // not held up
    const waiting = await store.listInbox('acme', 'pending', 10);
    expect(waiting.map((e) => [e.eventId, e.attempts, e.error])).toEqual([['evt-poison', 1, 'normalizer exploded']]);

    await store.putInbox(entry('evt-after-2'));
    expect(await worker.runOnce()).toBe(1); // the new entry; the poison one waits for its back-off
    for (const attempt of [1, 2]) {
      clock.now = new Date(clock.now.getTime() + inboxBackoffMs(attempt));
      expect(await worker.runOnce()).toBe(1);
    }
    const failed = await store.listInbox('acme', 'failed', 10);
    expect(failed.map((e) => [e.id, e.eventId, e.attempts, e.error])).toEqual([[poison.id, 'evt-poison', 3, 'normalizer exploded']]);
    expect(await store.listInbox('acme', 'pending', 10)).toEqual([]);
    clock.now = new Date(clock.now.getTime() + 86_400_000);
    expect(await worker.runOnce()).toBe(0); // given up for good
    expect(seen.filter((id) => id === 'evt-poison')).toHaveLength(3);
    expect(seen.filter((id) => id !== 'evt-poison')).toEqual(['evt-after-1', 'evt-after-2']);

    const audit = (await store.readAudit('acme', 0, 100)).map(
      (r) => JSON.parse(r.record) as { type: string; subject: Record<string, string>; data: Record<string, unknown> },
    );
    expect(audit.filter((r) => r.type === 'inbox.failed')).toEqual([
      expect.objectContaining({
        subject: { inboxId: String(poison.id), eventId: 'evt-poison' },
        data: { source: 'okta', eventType: 'user.mfa.factor.reset_all', attempts: 3, error: 'normalizer exploded' },
      }),
    ]);
    const counted = (await registry.getMetricsAsJSON()).find((m) => m.name === 'warden_inbox_entries_total')!.values;
    expect(counted.map((v) => [v.labels.result, v.value]).sort()).toEqual([
      ['failed', 1],
      ['ignored', 2],
      ['retried', 2],
    ]);

    let out = '';
    const ctx: OpContext = {
      store,
      config: { tenants: [{ id: 'acme' }] } as unknown as WardenConfig,
      actor: { type: 'cli', id: 'ops@host' },
      out: (t) => void (out += t),
      err: () => undefined,
    };
    expect(await OPERATIONS['inbox.list'].run(ctx, { tenant: 'acme', state: 'failed', limit: 50, json: false })).toBe(0);
    expect(out).toBe(`${poison.id}  FAILED  2026-11-25T10:00:00.000Z  okta  user.mfa.factor.reset_all  evt-poison  attempts 3: normalizer exploded\n`);
  });

  it("tries an entry again no sooner than the connector's retryAfterMs (an IdP's rate-limit reset), and after the back-off otherwise", async () => {
    const clock = { now: new Date('2026-11-25T10:00:00.000Z') };
    await putEntries(store, 'later', ['limited', 'down'], 'user.mfa.factor.reset_all', clock.now);
    const handler: InboxHandler = {
      toChanges: async (e: InboxRow) => {
        if (e.eventId === 'limited') throw new ActionError('Okta enrichment: HTTP 429', { retryAfterMs: 46_000 });
        if (e.attempts === 1) throw new Error('socket hang up');
        return { ignored: 'answered the second time' };
      },
    };
    const worker = new InboxWorker({
      store,
      decide: { policies: { get: examplePolicy }, clock: () => clock.now },
      handlers: new Map([['okta', handler]]),
      context: () => ({}) as ConnectorContext,
      log: createLogger('silent'),
      clock: () => clock.now,
    });
    expect(await worker.runOnce()).toBe(2);
    const claimedAt = async (ms: number) => {
      clock.now = new Date(Date.parse('2026-11-25T10:00:00.000Z') + ms);
      return (await worker.runOnce()) > 0;
    };
    expect(await claimedAt(inboxBackoffMs(1))).toBe(true); // 'down', 2 s later
    expect((await store.listInbox('later', 'pending', 10)).find((e) => e.eventId === 'limited')?.attempts).toBe(1);
    expect(await claimedAt(45_999)).toBe(false);
    expect(await claimedAt(46_000)).toBe(true);
    expect((await store.listInbox('later', 'pending', 10)).find((e) => e.eventId === 'limited')?.attempts).toBe(2);
  });
});

describe('InboxWorker look-ahead', () => {
  let handle: TestStore;
  let store: Store;
  beforeAll(async () => {
    handle = await pgliteTestStore();
    store = handle.store;
    await store.ensureTenants(['ahead']);
  });
  afterAll(() => handle.dispose());

  const ticks = async (n: number) => {
    for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
  };

  it('normalizes the next entries while one is handled, and still decides them one at a time in claim order', async () => {
    const at = new Date('2026-11-25T10:00:00.000Z');
    await putEntries(
      store,
      'ahead',
      ['a', 'b', 'c'].map((id) => `evt-${id}`),
      'user.mfa.factor.reset_all',
      at,
    );
    const log: string[] = [];
    // b is normalized fastest, a slowest: the order of decisions must still be a, b, c.
    const work: Record<string, number> = { 'evt-a': 6, 'evt-b': 1, 'evt-c': 3 };
    const handler: InboxHandler = {
      toChanges: async (e: InboxRow) => {
        log.push(`start ${e.eventId}`);
        await ticks(work[e.eventId]!);
        log.push(`end ${e.eventId}`);
        return {
          changes: [
            makeChange({
              tenant: 'ahead',
              target: { id: `00u-${e.eventId}` },
              source: { idp: 'okta', eventIds: [e.eventId], rawType: e.eventType!, via: 'hook' },
            }),
          ],
        };
      },
    };
    const decided: string[] = [];
    const worker = oktaWorker(store, handler, () => at, { onDecided: (r) => decided.push(r.decision.changeId) });
    expect(await worker.runOnce()).toBe(3);
    // All three were under way before the first was done (one at a time: start a, end a, start b, …).
    expect(log.slice(0, 3)).toEqual(['start evt-a', 'start evt-b', 'start evt-c']);
    const targets = await Promise.all(decided.map(async (id) => (await store.getChange('ahead', id))?.target.id));
    expect(targets).toEqual(['00u-evt-a', '00u-evt-b', '00u-evt-c']);
    const audit = (await store.readAudit('ahead', 0, 10)).map((r) => JSON.parse(r.record) as { type: string; data: { change?: { targetId?: string } } });
    expect(audit.filter((r) => r.type === 'decision.recorded').map((r) => r.data.change?.targetId)).toEqual(['00u-evt-a', '00u-evt-b', '00u-evt-c']);
    expect((await store.listInbox('ahead', 'processed', 10)).map((e) => e.eventId).sort()).toEqual(['evt-a', 'evt-b', 'evt-c']);
  });

  it("settles an entry of changes in its last decision's transaction, and an entry that yields no change at all on its own", async () => {
    const at = new Date('2026-11-25T12:00:00.000Z');
    await putEntries(store, 'ahead', ['evt-f', 'evt-g'], 'user.mfa.factor.reset_all', at);
    const handler: InboxHandler = {
      toChanges: async (e: InboxRow) =>
        e.eventId === 'evt-g'
          ? { changes: [] }
          : {
              changes: [0, 1].map((n) =>
                makeChange({
                  tenant: 'ahead',
                  target: { id: `00u-f${n}` },
                  source: { idp: 'okta', eventIds: [e.eventId], rawType: e.eventType!, via: 'hook' },
                }),
              ),
            },
    };
    const stateOf = async (eventId: string) =>
      (await Promise.all((['pending', 'processed'] as const).map((st) => store.listInbox('ahead', st, 50)))).flat().find((e) => e.eventId === eventId)?.state;
    // The entry's state right after each transaction commits: settled with the second decision, not after it.
    const afterCommit: Array<string | undefined> = [];
    const watched = overlay(store, {
      transaction: async <T>(fn: (tx: StoreTx) => Promise<T>) => {
        const r = await store.transaction(fn);
        afterCommit.push(await stateOf('evt-f'));
        return r;
      },
    });
    const worker = oktaWorker(watched, handler, () => at);
    expect(await worker.runOnce()).toBe(2);
    expect(afterCommit).toEqual(['pending', 'processed']);
    expect(await stateOf('evt-g')).toBe('processed');
  });

  it('with prepareAhead 1 handles one entry at a time', async () => {
    const at = new Date('2026-11-25T11:00:00.000Z');
    await putEntries(store, 'ahead', ['evt-d', 'evt-e'], 'user.session.start', at);
    const log: string[] = [];
    const handler: InboxHandler = {
      toChanges: async (e: InboxRow) => {
        log.push(`start ${e.eventId}`);
        await ticks(2);
        log.push(`end ${e.eventId}`);
        return { ignored: 'not governed' };
      },
    };
    const worker = oktaWorker(store, handler, () => at, { prepareAhead: 1 });
    expect(await worker.runOnce()).toBe(2);
    expect(log).toEqual(['start evt-d', 'end evt-d', 'start evt-e', 'end evt-e']);
  });
});

describe('InboxWorker signal batches', () => {
  let handle: TestStore;
  let store: Store;
  beforeAll(async () => {
    handle = await pgliteTestStore();
    store = handle.store;
    await store.ensureTenants(['batch']);
  });
  afterAll(() => handle.dispose());

  const at = new Date('2026-11-25T10:00:00.000Z');
  const put = (eventId: string, eventType = 'user.authentication.auth_via_mfa') =>
    store.putInbox({ tenant: 'batch', source: 'okta', eventId, eventType, via: 'poll', payload: { uuid: eventId }, receivedAt: at, occurredAt: at });
  /** A denied push for signal entries, a help-desk factor reset for the others. */
  const handler: InboxHandler = {
    toChanges: async (e: InboxRow) =>
      e.eventType === 'user.session.start'
        ? { ignored: `not governed: ${e.eventId}` }
        : {
            changes: [
              e.eventType === 'user.authentication.auth_via_mfa'
                ? makeChange({
                    tenant: 'batch',
                    kind: 'mfa.denied',
                    channel: 'self_service',
                    factor: { type: 'push' },
                    target: { id: '00ukim', login: 'kim@acme.example' },
                    actor: { id: '00ukim', login: 'kim@acme.example' },
                    source: { idp: 'okta', eventIds: [e.eventId], rawType: 'user.authentication.auth_via_mfa', via: 'poll' },
                  })
                : makeChange({ tenant: 'batch', source: { idp: 'okta', eventIds: [e.eventId], rawType: e.eventType!, via: 'poll' } }),
            ],
          },
  };
  /** Detection that records the order it saw changes in, and fails on the event ids in `failOn`. */
  const detection = (failOn: ReadonlySet<string>) => {
    const seen: string[] = [];
    const d: SignalDetection = {
      async observe(_tx, change) {
        const id = change.source.eventIds[0]!;
        seen.push(id);
        if (failOn.has(id)) throw new Error(`detection refused ${id}`);
        return [];
      },
      alertsFor: async () => ({ alerts: [], identities: [] }),
    };
    return { d, seen };
  };
  const worker = (d: SignalDetection, registry = new Registry()) => oktaWorker(store, handler, () => at, { detection: d, registry });
  const states = async () =>
    Object.fromEntries(
      (await Promise.all((['pending', 'processed', 'failed'] as const).map((s) => store.listInbox('batch', s, 100)))).flat().map((e) => [e.eventId, e.state]),
    );

  it('observes consecutive signal entries in one transaction, and settles a change entry between two runs in order', async () => {
    for (const id of ['s1', 's2', 's3']) await put(id);
    await put('c1', 'user.mfa.factor.reset_all');
    for (const id of ['s4', 's5']) await put(id);
    const { d, seen } = detection(new Set());
    const transactions = vi.spyOn(store, 'transaction');
    try {
      expect(await worker(d).runOnce()).toBe(6);
      // One transaction for s1–s3, one for the decision of c1, one for s4–s5.
      expect(transactions).toHaveBeenCalledTimes(3);
    } finally {
      transactions.mockRestore();
    }
    expect(seen).toEqual(['s1', 's2', 's3', 'c1', 's4', 's5']);
    expect(await states()).toEqual({ s1: 'processed', s2: 'processed', s3: 'processed', c1: 'processed', s4: 'processed', s5: 'processed' });
  });

  it('settles entries that are not changes together when the batch ends, without breaking the run of signals around them', async () => {
    await put('s6');
    await put('i1', 'user.session.start');
    await put('s7');
    await put('i2', 'user.session.start');
    const { d, seen } = detection(new Set());
    const transactions = vi.spyOn(store, 'transaction');
    const ignore = vi.spyOn(store, 'ignoreInboxes');
    try {
      expect(await worker(d).runOnce()).toBe(4);
      expect(transactions).toHaveBeenCalledTimes(1); // s6 and s7 in one run
      expect(ignore).toHaveBeenCalledTimes(1);
    } finally {
      transactions.mockRestore();
      ignore.mockRestore();
    }
    expect(seen).toEqual(['s6', 's7']);
    const ignored = await store.listInbox('batch', 'ignored', 100);
    expect(ignored.map((e) => [e.eventId, e.error])).toEqual([
      ['i1', 'not governed: i1'],
      ['i2', 'not governed: i2'],
    ]);
    expect((await store.listInbox('batch', 'processed', 100)).map((e) => e.eventId)).toEqual(expect.arrayContaining(['s6', 's7']));
  });

  it('handles the entries of a failed batch one by one: only the failing entry is retried, the others are observed once and settled', async () => {
    for (const id of ['f1', 'f2', 'f-bad', 'f4']) await put(id);
    const { d, seen } = detection(new Set(['f-bad']));
    const registry = new Registry();
    expect(await worker(d, registry).runOnce()).toBe(4);
    // The batch got as far as f-bad and was rolled back; then each alone.
    expect(seen).toEqual(['f1', 'f2', 'f-bad', 'f1', 'f2', 'f-bad', 'f4']);
    const pending = await store.listInbox('batch', 'pending', 100);
    expect(pending.map((e) => [e.eventId, e.attempts, e.error])).toEqual([['f-bad', 1, 'detection refused f-bad']]);
    expect((await store.listInbox('batch', 'processed', 100)).map((e) => e.eventId)).toEqual(expect.arrayContaining(['f1', 'f2', 'f4']));
    const counted = (await registry.getMetricsAsJSON()).find((m) => m.name === 'warden_inbox_entries_total')!.values;
    expect(counted.map((v) => [v.labels.result, v.value]).sort()).toEqual([
      ['processed', 3],
      ['retried', 1],
    ]);
  });

  it('observes nothing twice for an entry another worker settled while it waited in the run', async () => {
    const a = await put('d1');
    await put('d2');
    const { d, seen } = detection(new Set());
    const registry = new Registry();
    const w = worker(d, registry);
    // The other worker settles d1 between this worker's claim and its batch transaction.
    const claim = store.claimInbox.bind(store);
    const spy = vi.spyOn(store, 'claimInbox').mockImplementation(async (...args) => {
      const rows = await claim(...args);
      await store.settleInbox(a.id, at);
      return rows;
    });
    try {
      expect(await w.runOnce()).toBe(2);
    } finally {
      spy.mockRestore();
    }
    expect(seen).toEqual(['d2']);
    const signals = (await registry.getMetricsAsJSON()).find((m) => m.name === 'warden_signals_total')!.values;
    expect(signals.map((v) => [v.labels.result, v.value]).sort()).toEqual([
      ['duplicate', 1],
      ['observed', 1],
    ]);
  });
});
