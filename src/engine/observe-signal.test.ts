import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Alert } from '../core/alert.js';
import type { IdentityChange } from '../core/identity-change.js';
import type { Store, StoreTx } from '../store/store.js';
import { observeSignals, type SignalDetection } from './observe-signal.js';
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
});
