import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { InboxEntry } from '../../src/store/capabilities/inbox-store.js';
import type { Store } from '../../src/store/store.js';
import { postgresTestStore, postgresUrl, rawSql, type TestStore } from '../helpers/test-stores.js';

// Two replicas receive the same event (Okta retries to whichever answers): one stores it while the
// other's page statement is running. That statement's snapshot does not show the row it was refused
// by, yet the page must still answer that copy with the stored row's id.
describe.skipIf(!postgresUrl)('putInboxMany beside another transaction storing the same key (PostgreSQL)', () => {
  let ts: TestStore;
  let store: Store;
  beforeAll(async () => {
    ts = await postgresTestStore();
    store = ts.store;
    await store.ensureTenants(['acme']);
  });
  afterAll(() => ts.dispose());

  const entry = (eventId: string): InboxEntry => ({
    tenant: 'acme',
    source: 'okta',
    eventId,
    eventType: 'user.mfa.factor.reset_all',
    via: 'hook',
    payload: { uuid: eventId },
    receivedAt: new Date('2026-11-25T10:00:00.000Z'),
  });

  it('answers the copy refused by the other transaction with that row id', async () => {
    let commit!: () => void;
    let stored!: (id: number) => void;
    const storedId = new Promise<number>((resolve) => (stored = resolve));
    const other = store.transaction(async (tx) => {
      stored((await tx.putInbox(entry('c-1'))).id);
      await new Promise<void>((resolve) => (commit = resolve));
    });
    const otherId = await storedId;
    const page = store.putInboxMany([entry('c-1'), entry('c-2')]);
    // The page's INSERT waits for the other transaction's row lock before it knows the key is taken.
    await vi.waitFor(
      async () => {
        const waiting = await rawSql(store).query<{ n: unknown }>(
          `SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%jsonb_to_recordset%'`,
        );
        expect(Number(waiting[0]!.n)).toBeGreaterThan(0);
      },
      { timeout: 30_000, interval: 20 },
    );
    commit();
    await other;
    const answers = await page;
    expect(answers[0]).toEqual({ inserted: false, id: otherId });
    expect(answers[1]!.inserted).toBe(true);
    expect(typeof answers[1]!.id).toBe('number');
  });
});
