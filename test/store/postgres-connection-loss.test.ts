import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WardenError } from '../../src/core/errors.js';
import { openPostgresStore } from '../../src/store/postgres-store.js';
import type { InboxEntry, Store } from '../../src/store/store.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { postgresUrl } from '../helpers/test-stores.js';

/**
 * The PostgreSQL store when the database goes away: through a TCP proxy that
 * resets (a failover, a restarted server) or black-holes (a hung network) the
 * connections. The process survives, every failure is `ERR_STORE`, bounded
 * in time, and the store works again once the database is back.
 */

const codeOf = (err: unknown) => (err as WardenError).code;
const entry = (eventId: string): InboxEntry => ({
  tenant: 'acme',
  source: 'okta',
  eventId,
  via: 'hook',
  payload: { uuid: eventId },
  receivedAt: new Date('2026-11-25T10:00:00Z'),
});

describe.skipIf(!postgresUrl)('PostgreSQL store under connection loss', () => {
  const schema = `warden_loss_${randomBytes(6).toString('hex')}`;
  let proxy: TcpProxy;
  let store: Store;

  beforeAll(async () => {
    const target = new URL(postgresUrl);
    proxy = await startTcpProxy({ target: { host: target.hostname, port: Number(target.port || 5432) } });
    const url = new URL(postgresUrl);
    url.host = proxy.address;
    store = await openPostgresStore({ url: url.toString(), schema, poolSize: 4, connectTimeoutMs: 5000, statementTimeoutMs: 5000 });
    await store.ensureTenants(['acme']);
  });
  afterAll(async () => {
    await store?.close();
    await proxy?.close();
    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  });

  it('survives a connection reset in the middle of a transaction, and the next transaction works', async () => {
    const failed = store
      .transaction(async (tx) => {
        await tx.putInbox(entry('before-cut'));
        // The connection dies while the transaction holds it and no statement is running.
        proxy.cut();
        // Another caller finds the store gone (a new connection is reset at once); by then the
        // reset of the transaction's connection has been seen too.
        await expect(store.ping()).rejects.toSatisfy((err) => codeOf(err) === 'ERR_STORE');
        await tx.putInbox(entry('after-cut'));
      })
      .then(
        () => 'committed',
        (err: unknown) => codeOf(err),
      );
    expect(await failed).toBe('ERR_STORE');
    await expect(store.putInbox(entry('during-cut'))).rejects.toSatisfy((err) => codeOf(err) === 'ERR_STORE');

    proxy.resume();
    // Recovery without a restart: the broken connections were dropped, not handed out again.
    for (let i = 0; i < 6; i++) await store.transaction(async (tx) => tx.putInbox(entry(`after-resume-${i}`)));
    expect((await store.putInbox(entry('before-cut'))).inserted).toBe(true);
    await store.ping();
  });

  it('gives up on a stalled database within its timeouts, as ERR_STORE, and recovers', async () => {
    await store.ping(); // at least one idle connection, which the stall catches mid-statement
    proxy.stall();
    await expect(store.ping()).rejects.toSatisfy((err) => codeOf(err) === 'ERR_STORE');
    await expect(store.putInbox(entry('stalled'))).rejects.toSatisfy((err) => codeOf(err) === 'ERR_STORE');
    await expect(store.transaction((tx) => tx.putInbox(entry('stalled-tx')))).rejects.toSatisfy((err) => codeOf(err) === 'ERR_STORE');
    proxy.resume();
    await store.ping();
    expect((await store.putInbox(entry('after-stall'))).inserted).toBe(true);
  });
});
