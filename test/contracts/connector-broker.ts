import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isWardenError } from '../../src/core/errors.js';
import { rawSql } from '../helpers/test-stores.js';
import { brokerRequest, type ConnectorWorld } from './connector-worlds.js';

/**
 * The Broker contract, for every IdP: it performs the kinds it names, once
 * per request (one broker-run record, src/connector/own-changes.ts), keeps
 * no secret, and refuses a kind it does not perform with a typed error.
 */
export function brokerSuite(idp: string, start: () => Promise<ConnectorWorld>): void {
  describe(`Broker: ${idp}`, () => {
    let w: ConnectorWorld;
    beforeAll(async () => {
      w = await start();
    });
    afterAll(async () => {
      await w?.close();
    });

    it('performs a kind it names, and records the run once, without any secret', async () => {
      expect(w.connector.broker!.kinds).toContain(w.broker.kind);
      const user = await w.newUser();
      const request = brokerRequest(w, user);
      const result = await w.connector.broker!.execute(request, w.ctx);
      expect(result.reference.length).toBeGreaterThan(0);
      expect(w.brokerCalls(user)).toBe(1);
      expect(await w.store.getBrokerRun('acme', request.requestId)).toMatchObject({ state: 'done', connector: w.idp, reference: result.reference });
      if (result.secret) {
        const rows = await rawSql(w.store).query<{ row: string }>('SELECT row_to_json(o)::text AS row FROM own_changes o');
        expect(JSON.stringify(rows)).not.toContain(result.secret);
      }
    });

    it('never performs one request twice, one after the other', async () => {
      const user = await w.newUser();
      const request = brokerRequest(w, user);
      await w.connector.broker!.execute(request, w.ctx);
      w.advance(5 * 60_000);
      await w.connector.broker!.execute(request, w.ctx).catch((err: unknown) => expect(isWardenError(err, 'ERR_CONFLICT')).toBe(true));
      expect(w.brokerCalls(user)).toBe(1);
    });

    it('refuses a kind it does not perform, with a typed error, and does nothing', async () => {
      const user = await w.newUser();
      const err = await w.connector.broker!.execute({ ...brokerRequest(w, user), kind: 'account.unlock' }, w.ctx).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isWardenError(err, 'ERR_VALIDATION')).toBe(true);
      expect(w.brokerCalls(user)).toBe(0);
    });
  });
}
