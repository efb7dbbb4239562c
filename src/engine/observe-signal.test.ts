import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Alert } from '../core/alert.js';
import type { IdentityChange } from '../core/identity-change.js';
import type { Store, StoreTx } from '../store/store.js';
import { observeSignalBatch, observeSignals, type SignalDetection } from './observe-signal.js';
import { makeChange } from '../../test/helpers/changes.js';
import { pgliteTestStore, type TestStore } from '../../test/helpers/test-stores.js';

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
