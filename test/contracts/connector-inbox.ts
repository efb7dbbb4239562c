import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentityChange } from '../../src/core/identity-change.js';
import type { InboxRow } from '../../src/store/store.js';
import type { ConnectorWorld } from './connector-worlds.js';

/**
 * The InboxHandler (and record normalizer) contract, for every IdP: a
 * vendor record of a governed change becomes one identity change of the
 * tenant, naming the IdP, the target, the actor and when it happened;
 * anything else is ignored with a reason, never thrown; the record
 * normalizer (replays, backtests) agrees with the inbox handler.
 */
export function inboxSuite(idp: string, start: () => Promise<ConnectorWorld>): void {
  describe(`InboxHandler and normalizer: ${idp}`, () => {
    let w: ConnectorWorld;
    beforeAll(async () => {
      w = await start();
    });
    afterAll(async () => {
      await w?.close();
    });

    it('turns a governed change into an identity change of the tenant, naming IdP, target, actor and time', async () => {
      const user = await w.newUser();
      await w.changeByOther(user);
      const rows = await w.reported(user);
      const changes: IdentityChange[] = [];
      for (const row of rows) {
        const out = await w.connector.inbox!.toChanges(row, w.ctx);
        if ('changes' in out) changes.push(...out.changes);
      }
      const change = changes.find((c) => c.target.id === user && c.kind.startsWith('factor.'));
      expect(change).toBeDefined();
      expect(change).toMatchObject({ tenant: 'acme', source: { idp: w.idp, via: 'poll' } });
      expect(change!.actor.id).not.toBe(user);
      expect(Number.isFinite(Date.parse(change!.occurredAt))).toBe(true);
      expect(change!.source.rawType.length).toBeGreaterThan(0);
    });

    it('ignores, with a reason, what is not a record of its IdP', async () => {
      const row: InboxRow = {
        id: 1,
        tenant: 'acme',
        source: w.idp,
        eventId: 'not-a-record',
        eventType: 'unknown',
        via: 'poll',
        payload: { hello: 'world' },
        receivedAt: w.ctx.clock(),
        state: 'pending',
        attempts: 1,
      };
      const out = await w.connector.inbox!.toChanges(row, w.ctx);
      expect(out).toEqual({ ignored: expect.any(String) });
    });

    it('normalizes records for replays as the inbox handler does, without calling the IdP', async () => {
      const user = await w.newUser();
      await w.changeByOther(user);
      const rows = await w.reported(user);
      const records = w.connector.records!;
      const kinds = rows
        .filter((r) => records.recognizes(r.payload))
        .flatMap((r) => {
          const out = records.normalize(r.payload, 'acme', w.ctx.clock());
          return 'changes' in out ? out.changes.filter((c) => c.target.id === user).map((c) => c.kind) : [];
        });
      expect(kinds.some((k) => k.startsWith('factor.'))).toBe(true);
    });
  });
}
