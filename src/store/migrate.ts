import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { WardenError } from '../core/errors.js';
import { packageRoot } from '../package-root.js';
import type { SqlExecutor } from './sql-executor.js';

/** A numbered SQL file from src/store/migrations. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

/** Arbitrary constant: the advisory lock replicas take while migrating, so only one migrates. */
const MIGRATION_LOCK = 8_145_001;

/** The migrations that ship with this Warden, oldest first. */
export function bundledMigrations(dir = path.join(packageRoot(), 'src', 'store', 'migrations')): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((file) => {
      const sql = readFileSync(path.join(dir, file), 'utf8');
      return {
        version: Number(file.slice(0, 4)),
        name: file.slice(5, -4),
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    });
}

/**
 * Applies missing migrations in one transaction, under an advisory lock so
 * several replicas starting at once migrate once. Refuses to run when an
 * applied migration was edited or the store is newer than this Warden.
 *
 * @returns the versions applied now
 */
export async function migrate(db: SqlExecutor, migrations: Migration[] = bundledMigrations()): Promise<number[]> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const applied = await tx.query<{ version: number; name: string; checksum: string }>(
      'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
    );
    const known = new Map(migrations.map((m) => [m.version, m]));
    for (const row of applied) {
      const m = known.get(Number(row.version));
      if (!m)
        throw new WardenError(
          'ERR_MIGRATION',
          `the store has migration ${row.version} (${row.name}), which this Warden does not know: it was written by a newer version`,
        );
      if (m.checksum !== row.checksum)
        throw new WardenError(
          'ERR_MIGRATION',
          `migration ${m.version} (${m.name}) was changed after it was applied; add a new migration instead of editing an applied one`,
        );
    }
    const done = new Set(applied.map((r) => Number(r.version)));
    const now: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      try {
        await tx.exec(m.sql);
      } catch (err) {
        throw new WardenError('ERR_MIGRATION', `migration ${m.version} (${m.name}) failed: ${(err as Error).message}`, { cause: err });
      }
      await tx.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [m.version, m.name, m.checksum]);
      now.push(m.version);
    }
    return now;
  });
}
