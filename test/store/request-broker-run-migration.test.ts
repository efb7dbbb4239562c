import { PGlite } from '@electric-sql/pglite';
import { afterAll, describe, expect, it } from 'vitest';
import { bundledMigrations, migrate } from '../../src/store/migrate.js';
import type { SqlExecutor } from '../../src/store/sql-executor.js';
import { SqlOwnChangeStore } from '../../src/store/sql/sql-own-change-store.js';

/**
 * Migration 0090 (a brokered request's run has one record): the copy a
 * request kept in its body (`brokered`) leaves the body; a run only the copy
 * knew moves to own_changes, one own_changes already has stays as it is.
 */
describe('migration 0090: the request keeps no copy of its broker run', () => {
  const pg = new PGlite();
  afterAll(async () => {
    await pg.close();
  });
  const db: SqlExecutor = {
    query: async <R>(sql: string, params?: readonly unknown[]) => (await pg.query<R>(sql, params as unknown[])).rows,
    exec: async (sql: string) => void (await pg.exec(sql)),
    transaction: (fn) => fn(db),
  };
  const ids = {
    recorded: '00000000-0000-4000-8000-000000000001',
    copyOnly: '00000000-0000-4000-8000-000000000002',
    failed: '00000000-0000-4000-8000-000000000003',
    tap: '00000000-0000-4000-8000-000000000004',
    none: '00000000-0000-4000-8000-000000000005',
  };
  const request = async (id: string, kind: string, brokered?: Record<string, unknown>) =>
    db.query(
      `INSERT INTO requests (id, tenant, state, kind, target_id, requester_id, executor_id, break_glass, created_at, updated_at, expires_at, body)
       VALUES ($1, 'acme', 'approved', $2, 'u-1', 'u-2', 'u-3', false, '2026-11-25T09:00:00Z', '2026-11-25T09:00:00Z', '2026-11-26T09:00:00Z', $3::jsonb)`,
      [id, kind, JSON.stringify({ id, kind, broker: true, ...(brokered ? { brokered } : {}) })],
    );

  // PGlite starts and applies every migration: slow on a busy machine.
  it('moves the copies a run record lacks, keeps the records there are, and drops every copy', { timeout: 180_000 }, async () => {
    const all = bundledMigrations();
    await migrate(
      db,
      all.filter((m) => m.version < 90),
    );
    await db.query("INSERT INTO tenants (id) VALUES ('acme')");
    const by = { type: 'user', id: 'sam' };
    await request(ids.recorded, 'factor.reset_all', { state: 'done', at: '2026-11-25T10:00:05.000Z', by, reference: 'copy-ref' });
    await request(ids.copyOnly, 'password.reset', { state: 'done', at: '2026-11-25T10:01:00.000Z', by, reference: 'okta:reset_password:u-1:x' });
    await request(ids.failed, 'factor.reset_all', { state: 'failed', at: '2026-11-25T10:02:00.000Z', by, error: 'E0000001' });
    await request(ids.tap, 'tap.issue', { state: 'done', at: '2026-11-25T10:03:00.000Z', by, reference: 'tap-9', expiresAt: '2026-11-25T11:03:00.000Z' });
    await request(ids.none, 'factor.reset_all');
    const store = new SqlOwnChangeStore(db);
    await store.claimBrokerRun({
      tenant: 'acme',
      requestId: ids.recorded,
      connector: 'okta',
      kind: 'factor.reset_all',
      startedAt: new Date('2026-11-25T10:00:00Z'),
      targetId: 'u-1',
    });
    await store.finishBrokerRun('acme', ids.recorded, { reference: 'record-ref' }, new Date('2026-11-25T10:00:05Z'));

    expect(await migrate(db, all)).toContain(90);

    expect(await db.query("SELECT id FROM requests WHERE body ? 'brokered'")).toEqual([]);
    expect(await store.getBrokerRun('acme', ids.recorded)).toMatchObject({ state: 'done', reference: 'record-ref' });
    expect(await store.getBrokerRun('acme', ids.copyOnly)).toMatchObject({
      connector: 'okta',
      kind: 'password.reset',
      state: 'done',
      finishedAt: new Date('2026-11-25T10:01:00Z'),
      reference: 'okta:reset_password:u-1:x',
    });
    expect(await store.getBrokerRun('acme', ids.tap)).toMatchObject({
      connector: 'entra',
      kind: 'tap.issue',
      state: 'done',
      reference: 'tap-9',
      expiresAt: new Date('2026-11-25T11:03:00Z'),
    });
    expect(await store.getBrokerRun('acme', ids.failed)).toBeUndefined();
    expect(await store.getBrokerRun('acme', ids.none)).toBeUndefined();
    // A moved run is recognised when the IdP reports it, as a recorded one is.
    expect(
      (await store.findOwnChangesOverlapping('acme', 'okta', 'u-1', new Date('2026-11-25T09:55:00Z'), new Date('2026-11-25T10:05:00Z'))).map((c) => c.ref),
    ).toEqual([`broker:${ids.recorded}`, `broker:${ids.copyOnly}`]);
  });
});
