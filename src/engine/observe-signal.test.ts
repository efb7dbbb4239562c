import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Alert } from '../core/alert.js';
import type { IdentityChange } from '../core/identity-change.js';
import type { Store, StoreTx } from '../store/store.js';
import { observeSignalBatch, observeSignals, type SignalDetection, type SignalResult } from './observe-signal.js';
import { makeChange } from '../../test/helpers/changes.js';
import { pgliteTestStore, postgresTestStore, postgresUrl, rawSql, type TestStore } from '../../test/helpers/test-stores.js';
import { Registry } from 'prom-client';
import type { ResolvedDetection } from '../config/load-config.js';
import { DetectionRegistry } from '../detect/detection-registry.js';
import { StoreDetector } from '../detect/store-detector.js';

let handle: TestStore;
let store: Store;

beforeAll(async () => {
  handle = await pgliteTestStore();
  store = handle.store;
  await store.ensureTenants(['acme']);
});
afterAll(() => handle.dispose());

const signal = (eventId: string, kind: 'mfa.denied' | 'mfa.verified' = 'mfa.denied') =>
  makeChange({
    kind,
    channel: 'self_service',
    factor: { type: 'push' },
    target: { id: '00ukim', login: 'kim@acme.example' },
    actor: { id: '00ukim', login: 'kim@acme.example' },
    source: { idp: 'okta', eventIds: [eventId], rawType: 'user.authentication.auth_via_mfa', via: 'hook' },
  });

/** A detection that records what it saw and raises `alert` on a verified signal. */
function recordingDetection(options: { watches?: (kind: string) => boolean; alert?: Alert } = {}) {
  const seen: Array<{ change: IdentityChange; tier: unknown }> = [];
  const detection: SignalDetection = {
    async observe(_tx: StoreTx, change, facts) {
      seen.push({ change, tier: facts.tier });
      return change.kind === 'mfa.verified' && options.alert ? [options.alert] : [];
    },
    alertsFor: () => Promise.reject(new Error('a signal is not decided: no open alerts are looked up')),
    ...(options.watches ? { watches: (_t: string, kind: string) => options.watches!(kind) } : {}),
  };
  return { detection, seen };
}

describe('observeSignals', () => {
  it('refuses a change that is not a signal: changes are decided', async () => {
    await expect(observeSignals({ store }, { signals: [makeChange()] })).rejects.toThrow(/factor.reset_all is a change, not a signal/);
  });

  it('drops signals no rule reads, or all of them without detection, without a transaction', async () => {
    const transaction = vi.spyOn(store, 'transaction');
    try {
      expect(await observeSignals({ store }, { signals: [signal('e1')] })).toMatchObject({
        observed: [],
        dropped: [expect.objectContaining({ kind: 'mfa.denied' })],
        duplicate: false,
      });
      const { detection, seen } = recordingDetection({ watches: (k) => k === 'mfa.verified' });
      expect((await observeSignals({ store, detection }, { signals: [signal('e2')] })).dropped).toHaveLength(1);
      expect(seen).toEqual([]);
      expect(transaction).not.toHaveBeenCalled();
    } finally {
      transaction.mockRestore();
    }
  });

  it('observes the signals without tier or request, publishes and reports the alerts raised once, in one transaction', async () => {
    const alert = { id: 'a1' } as Alert;
    const { detection, seen } = recordingDetection({ alert });
    const published: Alert[][] = [];
    const told: Alert[][] = [];
    const result = await observeSignals(
      { store, detection, publishAlerts: async (_tx, alerts) => void published.push([...alerts]), onAlerts: (alerts) => void told.push([...alerts]) },
      { signals: [signal('e3'), signal('e4', 'mfa.verified'), signal('e5', 'mfa.verified')] },
    );
    expect(seen.map((s) => [s.change.source.eventIds[0], s.tier])).toEqual([
      ['e3', undefined],
      ['e4', undefined],
      ['e5', undefined],
    ]);
    expect(result).toMatchObject({ duplicate: false, alerts: [alert] });
    expect(published).toEqual([[alert]]);
    expect(told).toEqual([[alert]]);
  });

  it('settles the inbox entry with the observation, and observes nothing for an entry settled before', async () => {
    await store.putInbox({ tenant: 'acme', source: 'okta', eventId: 'e6', via: 'hook', payload: {}, receivedAt: new Date() });
    const [entry] = (await store.claimInbox(10, new Date(), 60)).filter((e) => e.eventId === 'e6');
    const { detection, seen } = recordingDetection();
    expect((await observeSignals({ store, detection }, { signals: [signal('e6')], inboxId: entry!.id })).duplicate).toBe(false);
    expect(await observeSignals({ store, detection }, { signals: [signal('e6')], inboxId: entry!.id })).toMatchObject({ duplicate: true, observed: [] });
    expect(seen).toHaveLength(1);
  });

  it('rolls the settlement back when detection fails, so the entry is retried', async () => {
    await store.putInbox({ tenant: 'acme', source: 'okta', eventId: 'e7', via: 'hook', payload: {}, receivedAt: new Date() });
    const [entry] = (await store.claimInbox(10, new Date(), 60)).filter((e) => e.eventId === 'e7');
    const failing: SignalDetection = {
      observe: () => Promise.reject(new Error('state row locked too long')),
      alertsFor: () => Promise.reject(new Error('unused')),
    };
    await expect(observeSignals({ store, detection: failing }, { signals: [signal('e7')], inboxId: entry!.id })).rejects.toThrow('state row locked too long');
    const { detection, seen } = recordingDetection();
    expect((await observeSignals({ store, detection }, { signals: [signal('e7')], inboxId: entry!.id })).duplicate).toBe(false);
    expect(seen).toHaveLength(1);
  });

  it('observes the signals of several entries in one transaction, in order: settles each, skips an entry settled before, publishes each alert once in its latest version', async () => {
    const ids: number[] = [];
    for (const e of ['b1', 'b2', 'b3'])
      ids.push((await store.putInbox({ tenant: 'acme', source: 'okta', eventId: e, via: 'hook', payload: {}, receivedAt: new Date() })).id);
    await store.settleInbox(ids[1]!, new Date());
    // Every verified push extends alert a1: the version the last one made is the one that goes out.
    let version = 0;
    const seen: string[] = [];
    const detection: SignalDetection = {
      async observe(_tx, change) {
        seen.push(change.source.eventIds[0]!);
        return change.kind === 'mfa.verified' ? [{ id: 'a1', version: ++version } as unknown as Alert] : [];
      },
      alertsFor: () => Promise.reject(new Error('unused')),
    };
    const published: unknown[][] = [];
    const told: unknown[][] = [];
    const transaction = vi.spyOn(store, 'transaction');
    let results;
    try {
      results = await observeSignalBatch(
        { store, detection, publishAlerts: async (_tx, alerts) => void published.push([...alerts]), onAlerts: (alerts) => void told.push([...alerts]) },
        [
          { signals: [signal('b1', 'mfa.verified')], inboxId: ids[0]! },
          { signals: [signal('b2', 'mfa.verified')], inboxId: ids[1]! },
          { signals: [signal('b3', 'mfa.denied'), signal('b3b', 'mfa.verified')], inboxId: ids[2]! },
        ],
      );
      expect(transaction).toHaveBeenCalledTimes(1);
    } finally {
      transaction.mockRestore();
    }
    expect(seen).toEqual(['b1', 'b3', 'b3b']);
    expect(results.map((r) => [r.duplicate, r.observed.length, r.alerts.map((a) => (a as unknown as { version: number }).version)])).toEqual([
      [false, 1, [2]],
      [true, 0, []],
      [false, 2, [2]],
    ]);
    expect(published).toEqual([[{ id: 'a1', version: 2 }]]);
    expect(told).toEqual([[{ id: 'a1', version: 2 }]]);
    const states = await Promise.all(ids.map(async (id) => (await store.listInbox('acme', 'processed', 1000)).some((e) => e.id === id)));
    expect(states).toEqual([true, true, true]);
  });
});

const MIN = 60_000;
const DETECTION: ResolvedDetection = {
  enabled: true,
  allowedLatenessMs: 30 * MIN,
  sourceIdleAfterMs: 180 * MIN,
  groupForMs: 24 * 60 * MIN,
  inPolicyForMs: 7 * 24 * 60 * MIN,
  identities: { domains: {}, aliases: {} },
};
const T0 = Date.parse('2026-03-02T09:00:00Z');

/** A push outcome for person `p` at `minutes` after T0, from the System Log poller. */
const push = (tenant: string, p: number, minutes: number, kind: 'mfa.denied' | 'mfa.verified', id: string) => {
  const occurredAt = new Date(T0 + minutes * MIN).toISOString();
  return makeChange({
    tenant,
    kind,
    channel: 'self_service',
    factor: { type: 'push' },
    occurredAt,
    observedAt: occurredAt,
    target: { id: `00p${p}`, login: `push${p}@acme.example` },
    actor: { id: `00p${p}`, login: `push${p}@acme.example` },
    source: { idp: 'okta', eventIds: [id], rawType: 'user.authentication.auth_via_mfa', via: 'poll' },
  });
};

let entryCount = 0;

/** Inbox entries to settle, one per group of signals. */
async function entries(on: Store, tenant: string, groups: readonly IdentityChange[][]): Promise<Array<{ signals: IdentityChange[]; inboxId: number }>> {
  const out: Array<{ signals: IdentityChange[]; inboxId: number }> = [];
  for (const signals of groups) {
    const eventId = `entry-${++entryCount}`;
    const { id } = await on.putInbox({ tenant, source: 'okta', eventId, via: 'poll', payload: {}, receivedAt: new Date(T0) });
    out.push({ signals, inboxId: id });
  }
  return out;
}

describe('observeSignalBatch with the store-backed detector', () => {
  it('raises, groups and keeps the same alerts and state as the entries observed one at a time, in one transaction', async () => {
    await store.ensureTenants(['one', 'run']);
    const detector = new StoreDetector(new DetectionRegistry(['one', 'run'].map((id) => ({ id, detection: DETECTION }))), { registry: new Registry() });
    // Push bombing on four people, interleaved: five denials then an approval, twice (the second match is grouped).
    const groups = (tenant: string) => {
      const out: IdentityChange[][] = [];
      for (const round of [0, 1])
        for (let i = 0; i < 6; i++)
          for (let p = 0; p < 4; p++)
            out.push([push(tenant, p, round * 4 + i * 0.5 + p * 0.1, i < 5 ? 'mfa.denied' : 'mfa.verified', `${tenant}-${p}-${round}-${i}`)]);
      // One entry with two signals, and a signal delivered again.
      out.push([push(tenant, 0, 9, 'mfa.denied', `${tenant}-x1`), push(tenant, 1, 9, 'mfa.denied', `${tenant}-x2`)]);
      out.push([push(tenant, 2, 9.5, 'mfa.denied', `${tenant}-2-1-0`)]);
      return out;
    };
    const clock = () => new Date(T0 + 60 * MIN);
    const one: SignalResult[] = [];
    for (const e of await entries(store, 'one', groups('one'))) one.push(await observeSignals({ store, detection: detector, clock }, e));
    const locks = vi.spyOn(store, 'transaction');
    let run: SignalResult[];
    try {
      run = await observeSignalBatch({ store, detection: detector, clock }, await entries(store, 'run', groups('run')));
      expect(locks).toHaveBeenCalledTimes(1);
    } finally {
      locks.mockRestore();
    }
    // Each entry names the alerts its signals raised or extended (a batch reports each in its latest version).
    const shape = (results: SignalResult[]) => results.map((r) => [r.duplicate, r.observed.length, r.alerts.map((a) => [a.rule, a.key])]);
    expect(shape(run)).toEqual(shape(one));
    const alert = (a: Alert) => [a.rule, a.key, a.severity, a.matches.length, a.changes.map((c) => c.eventIds[0]!.slice(4)), a.summary];
    const stored = async (tenant: string) => (await store.listAlerts(tenant, { limit: 100 })).map(alert).sort();
    expect(await stored('run')).toEqual(await stored('one'));
    const last = new Map(one.flatMap((r) => r.alerts.map((a) => [a.id, a] as const)));
    expect([...last.values()].map(alert).sort()).toEqual(await stored('one'));
    // The batch reports each alert in its latest version, the one stored: four versions in all.
    expect(new Set(run.flatMap((r) => r.alerts.map((a) => JSON.stringify(alert(a))))).size).toBe(4);
    expect(new Set(one.flatMap((r) => r.alerts.map((a) => a.id))).size).toBe(4);
    const state = async (tenant: string) =>
      (
        await rawSql(store).query<{ key: string; events: Array<{ uid: string }> }>(
          'SELECT key, events, expires_at FROM detection_state WHERE tenant = $1 ORDER BY rule, key',
          [tenant],
        )
      ).map((r) => ({ ...r, events: r.events.map((e) => e.uid.replace(`${tenant}-`, '')) }));
    expect(await state('run')).toEqual(await state('one'));
    expect((await state('one')).length).toBeGreaterThan(0);
  });
});

describe.skipIf(!postgresUrl)('observeSignalBatch on PostgreSQL', () => {
  let pgHandle: TestStore;
  let pgStore: Store;
  beforeAll(async () => {
    pgHandle = await postgresTestStore();
    pgStore = pgHandle.store;
    await pgStore.ensureTenants(['acme']);
  });
  afterAll(() => pgHandle?.dispose());

  it("two replicas observing runs over the same people in opposite orders both finish, and neither loses the other's signals", async () => {
    const people = Array.from({ length: 40 }, (_, p) => p);
    // Two replicas (a detector each) on one database; every person already has state (the rows exist, so they are locked).
    const replica = () => new StoreDetector(new DetectionRegistry([{ id: 'acme', detection: DETECTION }]), { registry: new Registry() });
    const [a, b] = [replica(), replica()];
    const clock = () => new Date(T0 + 60 * MIN);
    await observeSignalBatch(
      { store: pgStore, detection: a, clock },
      await entries(
        pgStore,
        'acme',
        people.map((p) => [push('acme', p, 0, 'mfa.denied', `first-${p}`)]),
      ),
    );
    const runA = await entries(
      pgStore,
      'acme',
      people.map((p) => [push('acme', p, 1, 'mfa.denied', `a-${p}`)]),
    );
    const runB = await entries(
      pgStore,
      'acme',
      [...people].reverse().map((p) => [push('acme', p, 1.5, 'mfa.denied', `b-${p}`)]),
    );
    // Both replicas' connections open before the runs start (a new connection would let the first run finish alone).
    await Promise.all([1, 2, 3].map(() => pgStore.transaction((tx) => tx.getSourceWatermarks('acme'))));
    const results = await Promise.allSettled([
      observeSignalBatch({ store: pgStore, detection: a, clock }, runA),
      observeSignalBatch({ store: pgStore, detection: b, clock }, runB),
    ]);
    expect(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'finished'))).toEqual(['finished', 'finished']);
    const rows = await rawSql(pgStore).query<{ key: string; events: Array<{ uid: string }> }>(
      "SELECT key, events FROM detection_state WHERE tenant = 'acme' AND rule = 'mfa-push-fatigue' ORDER BY key",
    );
    expect(rows.map((r) => [r.key, r.events.map((e) => e.uid.split(':')[1]!.split('-')[0]).sort()])).toEqual(
      people
        .map((p) => `push${p}@acme.example`)
        .sort()
        .map((key) => [key, ['a', 'b', 'first']]),
    );
  });

  it('a state two replicas create at once is not lost: the second waits for the first to commit, then adds to its row', async () => {
    const replica = () => new StoreDetector(new DetectionRegistry([{ id: 'acme', detection: DETECTION }]), { registry: new Registry() });
    const [a, b] = [replica(), replica()];
    const facts = { now: new Date(T0 + 60 * MIN) };
    // Nobody has state for person 99 yet: no row lock can hold it.
    const [first, second] = [push('acme', 99, 0, 'mfa.denied', 'race-a'), push('acme', 99, 0.5, 'mfa.denied', 'race-b')];
    let aWrote!: () => void;
    const wroteA = new Promise<void>((r) => (aWrote = r));
    /** Resolves once another transaction waits for a lock this one holds (seen from a third connection). */
    const someoneWaits = async () => {
      for (;;) {
        const [w] = await rawSql(pgStore).query<{ n: string }>('SELECT count(*) AS n FROM pg_locks WHERE NOT granted');
        if (Number(w!.n) > 0) return;
        await new Promise((r) => setImmediate(r));
      }
    };
    const runA = pgStore.transaction(async (tx) => {
      await a.observeMany(tx, [{ change: first, facts }]);
      aWrote();
      // A commits only once B is waiting for the person's lock (before, B found no row and wrote over A's).
      await someoneWaits();
    });
    const runB = pgStore.transaction(async (tx) => {
      await wroteA;
      await b.observeMany(tx, [{ change: second, facts }]);
    });
    const results = await Promise.allSettled([runA, runB]);
    expect(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'finished'))).toEqual(['finished', 'finished']);
    const [row] = await rawSql(pgStore).query<{ events: Array<{ uid: string }> }>(
      "SELECT events FROM detection_state WHERE tenant = 'acme' AND rule = 'mfa-push-fatigue' AND key = 'push99@acme.example'",
    );
    expect(row!.events.map((e) => e.uid)).toEqual(['okta:race-a', 'okta:race-b']);
  });
});
