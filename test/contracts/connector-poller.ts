import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectorWorld } from './connector-worlds.js';

/**
 * The Poller contract, for every IdP (each runs on src/connector/poller.ts):
 * a poll stores what the IdP logged in the inbox, once each however often
 * the overlap reads it again, and only one replica polls a tenant.
 */
export function pollerSuite(idp: string, start: () => Promise<ConnectorWorld>): void {
  describe(`Poller: ${idp}`, () => {
    let w: ConnectorWorld;
    beforeAll(async () => {
      w = await start();
    });
    afterAll(async () => {
      await w?.close();
    });
    const inboxOf = async (userId: string) => (await w.store.listInbox('acme', 'pending', 10_000)).filter((r) => JSON.stringify(r.payload).includes(userId));

    it('stores a logged change in the inbox once, however often the overlap reads it again', async () => {
      await w.pollOnce(); // sets the cursor
      const user = await w.newUser();
      w.advance(60_000);
      await w.changeByOther(user);
      w.advance(60_000);
      await w.pollOnce();
      const first = await inboxOf(user);
      expect(first.length).toBeGreaterThan(0);
      w.advance(60_000);
      await w.pollOnce();
      w.advance(60_000);
      await w.pollOnce();
      expect((await inboxOf(user)).map((r) => r.id).sort()).toEqual(first.map((r) => r.id).sort());
    });

    it('polls a tenant from one replica at a time (the lease)', async () => {
      w.advance(10 * 60_000);
      const a = w.pollerOn(w.replica('replica:a'));
      const b = w.pollerOn(w.replica('replica:b'));
      const user = await w.newUser();
      await w.changeByOther(user);
      w.advance(60_000);
      await a.step();
      const afterA = (await inboxOf(user)).length;
      expect(afterA).toBeGreaterThan(0);
      const other = await w.newUser();
      await w.changeByOther(other);
      w.advance(2 * 60_000);
      await b.step(); // a holds the lease: b reads nothing
      expect(await inboxOf(other)).toEqual([]);
      await a.stop();
      await b.step();
      expect((await inboxOf(other)).length).toBeGreaterThan(0);
      await b.stop();
    });
  });
}
