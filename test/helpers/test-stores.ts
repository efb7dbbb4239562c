import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { openPgliteStore } from '../../src/store/pglite-store.js';
import { openPostgresStore } from '../../src/store/postgres-store.js';
import type { SqlExecutor } from '../../src/store/sql-executor.js';
import type { Store } from '../../src/store/store.js';
import { pgliteTemplateDump } from './pglite-template.js';

/** A store for one test file, and how to dispose of it. */
export interface TestStore {
  store: Store;
  dispose(): Promise<void>;
}

/** The PostgreSQL URL the global setup chose ('' when none: those tests are skipped, loudly). */
export const postgresUrl: string = inject('postgresUrl');

/** A fresh in-memory PGlite store, loaded from the run's migrated template (no initdb). */
export async function pgliteTestStore(): Promise<TestStore> {
  const store = await openPgliteStore({ loadDataDir: pgliteTemplateDump() });
  return { store, dispose: () => store.close() };
}

/** A PostgreSQL store in a schema of its own, dropped afterwards. */
export async function postgresTestStore(): Promise<TestStore> {
  const schema = `warden_test_${randomBytes(6).toString('hex')}`;
  const store = await openPostgresStore({ url: postgresUrl, schema, poolSize: 5 });
  return {
    store,
    async dispose() {
      await store.close();
      const client = new pg.Client({ connectionString: postgresUrl });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    },
  };
}

/**
 * Raw SQL on a store, for tests that play an attacker with database access
 * (tampering with the audit log). Reaches into the driver on purpose; product
 * code has no such door.
 */
export function rawSql(store: Store): SqlExecutor {
  return (store as unknown as { db: SqlExecutor }).db;
}
