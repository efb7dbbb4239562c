import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActionError } from '../../src/connector/contract.js';
import { actionRow, type ConnectorWorld } from './connector-worlds.js';

/**
 * The Enforcer contract (src/connector/contract.ts), for every IdP: each
 * containment action and its undo changes the IdP, running an action again
 * changes nothing more and fails nothing (the outbox may repeat it), and what
 * cannot be done is a permanent `ActionError`.
 */
export function enforcerSuite(idp: string, start: () => Promise<ConnectorWorld>): void {
  describe(`Enforcer: ${idp}`, () => {
    let w: ConnectorWorld;
    beforeAll(async () => {
      w = await start();
    });
    afterAll(async () => {
      await w?.close();
    });
    const run = (kind: string, userId: string, tenant = 'acme') => w.connector.enforcer!.execute(actionRow(tenant, w.idp, kind, userId, w.ctx.clock()), w.ctx);

    it('puts a user in the hold group and takes them out, each twice without harm', async () => {
      const user = await w.newUser();
      await run('hold_group', user);
      await run('hold_group', user);
      expect(w.state(user).held).toBe(true);
      await run('release_hold_group', user);
      await run('release_hold_group', user);
      expect(w.state(user).held).toBe(false);
    });

    it('suspends a user and lets them back in, each twice without harm', async () => {
      const user = await w.newUser();
      await run('suspend', user);
      await run('suspend', user);
      expect(w.state(user).suspended).toBe(true);
      await run('unsuspend', user);
      await run('unsuspend', user);
      expect(w.state(user).suspended).toBe(false);
    });

    it('revokes sessions and resets factors, again without harm', async () => {
      const user = await w.newUser();
      for (const kind of ['revoke_sessions', 'revoke_sessions', 'reset_factors', 'reset_factors']) await run(kind, user);
    });

    it('records each action as its own change before acting', async () => {
      const user = await w.newUser();
      const action = actionRow('acme', w.idp, 'hold_group', user, w.ctx.clock());
      await w.connector.enforcer!.execute(action, w.ctx);
      expect(await w.ctx.store.getOwnChange('acme', w.idp, `action:${action.id}`)).toMatchObject({ targetId: user });
    });

    it('refuses for good an action it does not know and a tenant it does not serve', async () => {
      const user = await w.newUser();
      for (const attempt of [run('no_such_action', user), run('hold_group', user, 'nobody')]) {
        const err = await attempt.then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(ActionError);
        expect((err as ActionError).permanent).toBe(true);
      }
    });
  });
}
