import { PGlite } from '@electric-sql/pglite';
import { afterAll, describe, expect, it } from 'vitest';
import { bundledMigrations, migrate } from '../../src/store/migrate.js';
import type { SqlExecutor } from '../../src/store/sql-executor.js';
import { SqlOwnChangeStore } from '../../src/store/sql/sql-own-change-store.js';

/**
 * Migration 0080 (one own-change record for every connector): a database
 * written before it keeps Okta's own changes and broker runs and Entra's
 * broker runs, and they behave as the new record's after the upgrade.
 */
describe('migration 0080: own changes and broker runs in one record', () => {
  const pg = new PGlite();
  afterAll(async () => {
    await pg.close();
  });
  const db: SqlExecutor = {
    query: async <R>(sql: string, params?: readonly unknown[]) => (await pg.query<R>(sql, params as unknown[])).rows,
    exec: async (sql: string) => void (await pg.exec(sql)),
    transaction: (fn) => fn(db), // one connection; migrate's own transaction is enough here
  };

  it('moves every row forward', async () => {
    const all = bundledMigrations();
    await migrate(
      db,
      all.filter((m) => m.version < 80),
    );
    await db.query("INSERT INTO tenants (id) VALUES ('acme')");
    const q = (sql: string) => db.query(sql);
    await q(`INSERT INTO own_changes (tenant, connector, ref, target_id, event_types, at, result) VALUES
      ('acme', 'okta', 'action:a1', '00u1', '["user.session.clear"]', '2026-11-25T10:00:00Z', '{"revoked": true}'),
      ('acme', 'okta', 'action:a2', '00u1', '["user.lifecycle.suspend"]', '2026-11-25T10:01:00Z', NULL),
      ('acme', 'okta', 'broker:r1', '00u2', '["user.account.reset_password"]', '2026-11-25T10:02:00Z', '{"reference": "okta:reset_password:00u2:r1", "details": {"userId": "00u2"}}')`);
    await q(`INSERT INTO broker_runs (tenant, request_id, connector, kind, state, started_at, finished_at, reference, expires_at, details) VALUES
      ('acme', 'r2', 'entra', 'tap.issue', 'done', '2026-11-25T10:03:00Z', '2026-11-25T10:03:05Z', 'tap-1', '2026-11-25T11:03:00Z', '{"targetId": "u-2", "lifetimeMinutes": 60}'),
      ('acme', 'r3', 'entra', 'tap.issue', 'started', '2026-11-25T10:04:00Z', NULL, NULL, NULL, '{}')`);

    expect(await migrate(db, all)).toContain(80);
    expect(await q("SELECT 1 FROM information_schema.tables WHERE table_name = 'broker_runs'")).toEqual([]);

    const store = new SqlOwnChangeStore(db);
    expect(await store.getOwnChange('acme', 'okta', 'action:a1')).toEqual({
      tenant: 'acme',
      connector: 'okta',
      ref: 'action:a1',
      targetId: '00u1',
      eventTypes: ['user.session.clear'],
      at: new Date('2026-11-25T10:00:00Z'),
      result: { revoked: true },
    });
    expect(await store.getBrokerRun('acme', 'r1')).toMatchObject({
      connector: 'okta',
      kind: 'password.reset',
      state: 'done',
      reference: 'okta:reset_password:00u2:r1',
      details: { userId: '00u2' },
    });
    expect(await store.getBrokerRun('acme', 'r2')).toEqual({
      tenant: 'acme',
      requestId: 'r2',
      connector: 'entra',
      kind: 'tap.issue',
      state: 'done',
      startedAt: new Date('2026-11-25T10:03:00Z'),
      finishedAt: new Date('2026-11-25T10:03:05Z'),
      reference: 'tap-1',
      expiresAt: new Date('2026-11-25T11:03:00Z'),
      details: { targetId: 'u-2', lifetimeMinutes: 60 },
    });
    expect(await store.getBrokerRun('acme', 'r3')).toMatchObject({ state: 'started', startedAt: new Date('2026-11-25T10:04:00Z') });
    // The Entra run is recognisable by its target, as new runs are.
    expect(
      (await store.findOwnChangesOverlapping('acme', 'entra', 'u-2', new Date('2026-11-25T09:55:00Z'), new Date('2026-11-25T10:05:00Z'))).map((c) => c.ref),
    ).toEqual(['broker:r2']);
    // Still one run per request, and the action that never finished is a started one.
    expect(await store.claimBrokerRun({ tenant: 'acme', requestId: 'r2', connector: 'entra', kind: 'tap.issue', startedAt: new Date() })).toMatchObject({
      claimed: false,
    });
    expect(await store.claimBrokerRun({ tenant: 'acme', requestId: 'r1', connector: 'entra', kind: 'tap.issue', startedAt: new Date() })).toMatchObject({
      claimed: false,
    });
    expect(await q("SELECT state FROM own_changes WHERE ref = 'action:a2'")).toEqual([{ state: 'started' }]);
  });
});
