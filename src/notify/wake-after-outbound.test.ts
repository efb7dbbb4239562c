import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from '../core/ids.js';
import type { Store } from '../store/store.js';
import { pgliteTestStore, type TestStore } from '../../test/helpers/test-stores.js';
import { wakingAfterOutbound } from './wake-after-outbound.js';

describe('wakingAfterOutbound', () => {
  let handle: TestStore;
  let store: Store;
  beforeAll(async () => {
    handle = await pgliteTestStore();
    store = handle.store;
    await store.ensureTenants(['acme']);
  });
  afterAll(() => handle.dispose());

  const event = () => ({ id: uuidv7(), tenant: 'acme', type: 'hold.placed', body: '{}', createdAt: new Date('2026-12-01T00:00:00Z') });

  it('wakes once after a transaction that queued events commits, not before', async () => {
    const woken: string[] = [];
    const waking = wakingAfterOutbound(store, () => woken.push('wake'));
    await waking.transaction(async (tx) => {
      await tx.putNotifyEvent(event(), ['soar']);
      await tx.putNotifyEvent(event(), ['soar']);
      woken.push('before commit');
    });
    expect(woken).toEqual(['before commit', 'wake']);
  });

  it('does not wake for a transaction that queued nothing, or that rolled back', async () => {
    let woken = 0;
    const waking = wakingAfterOutbound(store, () => woken++);
    await waking.transaction(async (tx) => tx.ensureTenants(['acme']));
    await expect(
      waking.transaction(async (tx) => {
        await tx.putNotifyEvent(event(), ['soar']);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(woken).toBe(0);
  });

  it('wakes after an event stored outside a transaction, and leaves every other call to the store', async () => {
    let woken = 0;
    const waking = wakingAfterOutbound(store, () => woken++);
    const e = event();
    await waking.putNotifyEvent(e, ['soar', 'mail']);
    expect(woken).toBe(1);
    expect(waking.driver).toBe(store.driver);
    const claimed = (await waking.claimDeliveries(100, new Date('2026-12-01T00:00:01Z'), 30)).filter((d) => d.eventId === e.id);
    expect(claimed.map((d) => d.endpoint).sort()).toEqual(['mail', 'soar']);
  });
});
