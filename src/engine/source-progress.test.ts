import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InboxEntry, Store } from '../store/store.js';
import { reportingRefusedCopies } from './source-progress.js';
import { pgliteTestStore, type TestStore } from '../../test/helpers/test-stores.js';

describe('reportingRefusedCopies', () => {
  let handle: TestStore;
  let store: Store;
  beforeAll(async () => {
    handle = await pgliteTestStore();
    store = handle.store;
    await store.ensureTenants(['acme']);
  });
  afterAll(() => handle.dispose());

  const entry = (eventId: string): InboxEntry => ({
    tenant: 'acme',
    source: 'okta',
    eventId,
    eventType: 'user.authentication.auth_via_mfa',
    via: 'poll',
    payload: { uuid: eventId },
    receivedAt: new Date('2026-11-25T10:00:00.000Z'),
  });

  it('tells about every copy a page refuses, in a transaction or not, as it does for one delivery', async () => {
    const refused: string[] = [];
    const wrapped = reportingRefusedCopies(store, (e) => refused.push(e.eventId));
    await wrapped.putInbox(entry('r1'));
    expect((await wrapped.putInboxMany([entry('r1'), entry('r2'), entry('r2')])).map((r) => r.inserted)).toEqual([false, true, false]);
    expect(refused).toEqual(['r1', 'r2']);
    expect((await wrapped.transaction((tx) => tx.putInboxMany([entry('r3'), entry('r1')]))).map((r) => r.inserted)).toEqual([true, false]);
    expect(await wrapped.transaction((tx) => tx.putInbox(entry('r3')))).toMatchObject({ inserted: false });
    expect(refused).toEqual(['r1', 'r2', 'r1', 'r3']);
  });
});
