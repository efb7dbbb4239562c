import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgliteTestStore, type TestStore } from '../../test/helpers/test-stores.js';
import { retentionSweep } from './retention-sweep.js';

const DAY = 86_400_000;
const T0 = new Date('2026-10-01T00:00:00.000Z');
const day = (n: number) => new Date(T0.getTime() + n * DAY);

describe('retention sweep', () => {
  let handle: TestStore;
  beforeAll(async () => {
    handle = await pgliteTestStore();
    await handle.store.ensureTenants(['acme']);
  });
  afterAll(() => handle.dispose());

  it('deletes what outlived its retention as the clock moves on, and counts it by kind', async () => {
    const { store } = handle;
    for (const [eventId, finished] of [
      ['e1', 0],
      ['e2', 10],
    ] as const) {
      await store.putInbox({ tenant: 'acme', source: 'okta', eventId, via: 'hook', payload: { uuid: eventId }, receivedAt: day(finished) });
      const [row] = await store.claimInbox(10, day(finished), 30);
      await store.finishInbox(row!.id, 'processed', day(finished));
    }
    await store.putOwnChange({ tenant: 'acme', connector: 'okta', ref: 'action:a1', targetId: '00u1', eventTypes: ['user.session.clear'], at: day(0) });

    let now = day(20);
    const registry = new Registry();
    await store.putNotMeLink({ id: 'l1', tenant: 'acme', personId: '00u1', subject: { kind: 'change', id: 'c1' }, createdAt: day(0), expiresAt: day(0) });
    await store.rememberSsfJti('acme', 'https://idp.example', 'j1', day(0));
    const retention = { inboxMs: 15 * DAY, ownChangesMs: 30 * DAY, eventsMs: 30 * DAY, notMeLinksMs: 15 * DAY, ssfSetsMs: 30 * DAY, ssfReceivedMs: 30 * DAY };
    const step = retentionSweep(store, retention, () => now, registry);
    expect(await step()).toBe(0);
    expect((await store.putInbox({ tenant: 'acme', source: 'okta', eventId: 'e1', via: 'poll', payload: {}, receivedAt: now })).inserted).toBe(true);
    expect((await store.putInbox({ tenant: 'acme', source: 'okta', eventId: 'e2', via: 'poll', payload: {}, receivedAt: now })).inserted).toBe(false);
    expect(await store.getOwnChange('acme', 'okta', 'action:a1')).toBeDefined();
    expect(await store.getNotMeLink('acme', 'l1')).toBeUndefined();
    expect(await store.rememberSsfJti('acme', 'https://idp.example', 'j1', now)).toBe(false);

    now = day(31);
    await step();
    expect(await store.getOwnChange('acme', 'okta', 'action:a1')).toBeUndefined();
    const metric = await registry.getSingleMetricAsString('warden_retention_deleted_total');
    expect(metric).toContain('warden_retention_deleted_total{kind="inbox"} 2');
    expect(metric).toContain('warden_retention_deleted_total{kind="own_changes"} 1');
    expect(metric).toContain('warden_retention_deleted_total{kind="not_me_links"} 1');
    expect(metric).toContain('warden_retention_deleted_total{kind="ssf_received"} 1');
  });
});
