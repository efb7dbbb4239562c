import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Registry } from 'prom-client';
import type { ConnectorWorld } from './connector-worlds.js';

/** The value of a metric's series whose labels include `labels` (0 when absent). */
async function metricValue(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const values = (await metric.get()).values.filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want));
  return values.reduce((sum, v) => sum + v.value, 0);
}

/**
 * The Poller contract, for every IdP (each runs on src/connector/poller.ts):
 * a poll stores what the IdP logged in the inbox, once each however often
 * the overlap reads it again, only one replica polls a tenant, and after an
 * outage longer than the overlap cap the poller back-fills the gap by itself.
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

    it('back-fills by itself the gap an outage longer than the overlap cap (24 h) left, every record once, and moves the cursor on', async () => {
      w.advance(10 * 60_000);
      await w.pollOnce();
      const before = await w.cursorAt();
      expect(before).toBeDefined();
      // Warden is down for three days; the IdP logs changes all along.
      const users: string[] = [];
      const logged = new Map<string, string[]>();
      let at = 0;
      for (const hours of [2, 20, 30, 50, 70]) {
        w.advance((hours - at) * 3_600_000);
        at = hours;
        const user = await w.newUser();
        await w.changeByOther(user);
        users.push(user);
        logged.set(
          user,
          (await w.reported(user)).map((r) => r.eventId),
        );
      }
      w.advance(2 * 3_600_000 + 60_000);

      const replica = w.replica('replica:gap');
      const poller = w.pollerOn(replica);
      let steps = 0;
      while ((await poller.step()) === 1) expect(++steps).toBeLessThan(50); // a window per step, then the regular poll
      await poller.stop();
      expect(steps).toBeGreaterThanOrEqual(4); // 74 h in windows of at most 24 h

      for (const user of users) {
        const stored = (await inboxOf(user)).map((r) => r.eventId);
        expect(logged.get(user)!.length).toBeGreaterThan(0);
        expect(stored).toEqual(expect.arrayContaining(logged.get(user)!)); // nothing lost
        expect(new Set(stored).size).toBe(stored.length); // nothing twice
      }
      const after = await w.cursorAt();
      expect(after!.getTime()).toBeGreaterThan(before!.getTime() + 70 * 3_600_000);

      const registry = replica.metrics.registry;
      const labels = { tenant: 'acme', trigger: 'gap' };
      expect(await metricValue(registry, 'warden_poller_backfills_total', { ...labels, result: 'started' })).toBe(1);
      expect(await metricValue(registry, 'warden_poller_backfills_total', { ...labels, result: 'done' })).toBe(1);
      expect(await metricValue(registry, 'warden_poller_backfill_records_total', { ...labels, result: 'new' })).toBeGreaterThanOrEqual(
        [...logged.values()].flat().length,
      );
      expect(await metricValue(registry, 'warden_poller_backfill_progress_ratio', labels)).toBe(1);
      expect(await metricValue(registry, 'warden_poller_backfill_active', { tenant: 'acme' })).toBe(0);
      expect(await metricValue(registry, 'warden_poller_backfill_behind_seconds', { tenant: 'acme' })).toBe(0);

      // Caught up: the next poll is a regular one.
      w.advance(2 * 60_000);
      const again = w.pollerOn(replica);
      await again.step();
      await again.stop();
      expect(await metricValue(registry, 'warden_poller_backfills_total', { ...labels, result: 'started' })).toBe(1);
    });
  });
}
