import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isWardenError } from '../../src/core/errors.js';
import type { IdentityChange } from '../../src/core/identity-change.js';
import { actionRow, brokerRequest, type ConnectorWorld } from './connector-worlds.js';

/**
 * Warden's own changes, the same for every IdP (src/connector/own-changes.ts):
 * what Warden does is recorded before the IdP call and recognised when the
 * IdP reports it back — by target, event type, time and Warden's identity —
 * and nothing else is; a brokered request runs once, even when executed
 * concurrently. Run against each IdP's simulator through its connector.
 */
export function ownChangeSuite(idp: string, start: () => Promise<ConnectorWorld>): void {
  describe(`Warden's own changes: ${idp}`, () => {
    let w: ConnectorWorld;
    beforeAll(async () => {
      w = await start();
    });
    afterAll(async () => {
      await w?.close();
    });

    /** The reported changes the inbox handler decides, and the reasons it ignores the rest. */
    const handled = async (userId: string) => {
      const decided: IdentityChange[] = [];
      const ignored: string[] = [];
      for (const row of await w.reported(userId)) {
        const out = await w.connector.inbox!.toChanges(row, w.ctx);
        if ('ignored' in out) ignored.push(out.ignored);
        else decided.push(...out.changes);
      }
      return { decided, ignored };
    };
    const onTarget = (changes: IdentityChange[], userId: string) => changes.filter((c) => c.target.id === userId && c.kind.startsWith('factor.'));

    it('recognises its own enforcement when the IdP reports it back, and does not judge it', async () => {
      const user = await w.newUser();
      await w.connector.enforcer!.execute(actionRow('acme', w.idp, w.ownAction, user, w.ctx.clock()), w.ctx);
      w.advance(30_000);
      const { decided, ignored } = await handled(user);
      expect(onTarget(decided, user)).toEqual([]);
      expect(ignored.some((r) => /^Warden's own change \(action:/.test(r))).toBe(true);
    });

    it('judges the same change made by someone else, right after its own', async () => {
      const user = await w.newUser();
      await w.connector.enforcer!.execute(actionRow('acme', w.idp, w.ownAction, user, w.ctx.clock()), w.ctx);
      await handled(user);
      const second = await w.newUser();
      await w.connector.enforcer!.execute(actionRow('acme', w.idp, w.ownAction, second, w.ctx.clock()), w.ctx);
      // The other user's record does not cover this one: same event type and time, another target, another actor.
      const other = await w.newUser();
      await w.changeByOther(other);
      w.advance(10_000);
      expect(onTarget((await handled(other)).decided, other)).toHaveLength(1);
    });

    it('judges a change made with its identity that it did not record, or long after its record', async () => {
      const unrecorded = await w.newUser();
      await w.changeByWardenUnrecorded(unrecorded);
      expect(onTarget((await handled(unrecorded)).decided, unrecorded)).toHaveLength(1);

      const user = await w.newUser();
      await w.connector.enforcer!.execute(actionRow('acme', w.idp, w.ownAction, user, w.ctx.clock()), w.ctx);
      expect(onTarget((await handled(user)).decided, user)).toEqual([]);
      w.advance(30 * 60_000); // far outside the window
      await w.addFactor(user);
      await w.changeByWardenUnrecorded(user);
      expect(onTarget((await handled(user)).decided, user)).toHaveLength(1);
    });

    it('runs a brokered request once, even when it is executed concurrently', async () => {
      const user = await w.newUser();
      const request = brokerRequest(w, user);
      const outcomes = await Promise.allSettled(Array.from({ length: 4 }, () => w.connector.broker!.execute(request, w.ctx)));
      expect(w.brokerCalls(user)).toBe(1);
      expect(outcomes.filter((o) => o.status === 'fulfilled').length).toBeGreaterThanOrEqual(1);
      for (const o of outcomes) if (o.status === 'rejected') expect(isWardenError(o.reason, 'ERR_CONFLICT'), String(o.reason)).toBe(true);
      const run = await w.store.getBrokerRun('acme', request.requestId);
      expect(run).toMatchObject({ state: 'done', connector: w.idp, kind: w.broker.kind });
      // And once more, later: still once.
      w.advance(10 * 60_000);
      await w.connector.broker!.execute(request, w.ctx).catch((err: unknown) => expect(isWardenError(err, 'ERR_CONFLICT')).toBe(true));
      expect(w.brokerCalls(user)).toBe(1);
    });

    it('recognises the change its broker made as that run, so it matches the request', async () => {
      const user = await w.newUser();
      const request = brokerRequest(w, user);
      await w.connector.broker!.execute(request, w.ctx);
      w.advance(30_000);
      const { decided } = await handled(user);
      const ofRun = decided.filter((c) => c.target.id === user && c.kind === w.broker.kind);
      expect(ofRun).toHaveLength(1);
      expect(ofRun[0]!.context.wardenBroker).toBe(`broker:${request.requestId}`);
    });
  });
}
