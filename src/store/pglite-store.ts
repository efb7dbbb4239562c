import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { WardenError } from '../core/errors.js';
import { acquireDataDirLock } from './data-dir-lock.js';
import { migrate } from './migrate.js';
import { isFreshDataDir, PGLITE_SUBDIR, type PgliteDurability, pgliteDbExecutor, startPglite } from './pglite-cluster.js';
import { initDataDirInChild } from './pglite-init.js';
import type { SqlExecutor } from './sql-executor.js';
import { SqlStore } from './sql-store.js';
import type { Store, StoreTx } from './store.js';

export type { PgliteDurability } from './pglite-cluster.js';

export interface PgliteStoreOptions {
  /** Data directory; omit for an in-memory store (tests). */
  dataDir?: string;
  /**
   * `full` (default): every commit is fsync'ed, so committed data survives a
   * power loss. `relaxed`: PGlite's own default (fsync off): committed data
   * survives a crash of the process but not of the machine.
   */
  durability?: PgliteDurability;
  /** Recorded in the data-directory lock, for the message another process sees. */
  command?: string;
  /**
   * In-memory store only: start from this dump of a data directory (PGlite's `dumpDataDir()` tarball) instead of
   * running initdb. Tests open dozens of in-memory stores from one migrated dump; migrations still run (none pending).
   */
  loadDataDir?: Blob;
  /**
   * With a data directory that holds no cluster yet: create it (initdb, every migration) in a short-lived
   * child process (pglite-init.ts), then open it as an existing one, so this process never carries
   * initdb's memory (~850 MB resident against ~370 MB). `openStore` (serve, the CLI) sets it; tests and
   * benchmarks that open many short-lived stores leave it off.
   */
  initInChild?: boolean;
}

/**
 * Opens the embedded PostgreSQL (PGlite) store, applying migrations. With a
 * data directory, the directory is locked to this process.
 */
export async function openPgliteStore(options: PgliteStoreOptions = {}): Promise<Store> {
  const durability: PgliteDurability = options.dataDir ? (options.durability ?? 'full') : 'relaxed';
  let lock: ReturnType<typeof acquireDataDirLock> | undefined;
  let db: PGlite;
  let fsyncProbe: { calls: () => number } | undefined;
  if (options.dataDir) {
    if (options.initInChild && isFreshDataDir(options.dataDir)) await initDataDirInChild(options.dataDir, durability, options.command ?? 'warden');
    try {
      fs.mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new WardenError('ERR_STORE', `cannot open the embedded store in ${options.dataDir}: ${(err as Error).message}`, { cause: err });
    }
    lock = acquireDataDirLock(options.dataDir, options.command ?? 'warden');
    try {
      ({ db, fsyncProbe } = await startPglite(path.join(options.dataDir, PGLITE_SUBDIR), durability));
    } catch (err) {
      lock.release();
      throw new WardenError('ERR_STORE', `cannot open the embedded store in ${options.dataDir}: ${(err as Error).message}`, { cause: err });
    }
  } else {
    db = await PGlite.create(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {});
  }

  const exec = pgliteDbExecutor(db);

  let fsyncVerified = false;
  try {
    await migrate(exec);
    if (fsyncProbe) {
      await db.exec('CHECKPOINT');
      fsyncVerified = fsyncProbe.calls() > 0;
    }
  } catch (err) {
    await db.close().catch(() => undefined);
    lock?.release();
    throw err;
  }

  const durabilityText = !options.dataDir
    ? 'in memory: nothing survives the process'
    : durability === 'full' && fsyncVerified
      ? "full: commits are fsync'ed and survive a crash or power loss"
      : durability === 'full'
        ? 'DEGRADED: fsync could not be enabled in this PGlite build; committed data survives a crash of the process but NOT a power loss. Use PostgreSQL (DATABASE_URL) in production'
        : 'relaxed: committed data survives a crash of the process but NOT a power loss (fsync off). Use PostgreSQL (DATABASE_URL) in production';

  return new PgliteStore(exec, db, options.dataDir ? path.resolve(options.dataDir) : 'memory', durabilityText, lock);
}

class PgliteStore extends SqlStore implements Store {
  readonly driver = 'pglite' as const;

  constructor(
    exec: SqlExecutor,
    private readonly pg: PGlite,
    readonly location: string,
    readonly durability: string,
    readonly lock: ReturnType<typeof acquireDataDirLock> | undefined,
  ) {
    super(exec);
  }

  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.db.transaction((tx) => fn(new SqlStore(tx)));
  }

  async migrations(): Promise<number[]> {
    return (await this.db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')).map((r) => Number(r.version));
  }

  async ping(): Promise<void> {
    await this.db.query('SELECT 1');
  }

  announceAdminSocket(path: string): void {
    this.lock?.update({ adminSocket: path });
  }

  async close(): Promise<void> {
    if (this.pg.closed) return;
    await this.pg.close();
    this.lock?.release();
  }
}
