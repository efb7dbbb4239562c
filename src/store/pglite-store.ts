import fs from 'node:fs';
import path from 'node:path';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { WardenError } from '../core/errors.js';
import { acquireDataDirLock } from './data-dir-lock.js';
import { migrate } from './migrate.js';
import type { SqlExecutor } from './sql-executor.js';
import { SqlStore } from './sql-store.js';
import type { Store, StoreTx } from './store.js';

/** How hard the embedded store works to keep committed data. */
export type PgliteDurability = 'full' | 'relaxed';

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
}

type Queryable = Pick<PGlite, 'query' | 'exec'> | Transaction;

function executor(db: Queryable, transaction: SqlExecutor['transaction']): SqlExecutor {
  const self: SqlExecutor = {
    async query<R>(sql: string, params: readonly unknown[] = []) {
      return (await db.query<R>(sql, params as unknown[])).rows;
    },
    async exec(sql: string) {
      await db.exec(sql);
    },
    transaction,
  };
  return self;
}

/**
 * PGlite normally runs PostgreSQL with fsync off, and its file system layer
 * (emscripten NODEFS) has no fsync at all: writes reach the kernel at once
 * (they survive a crash of the process), but nothing asks the kernel to put
 * them on disk. For `full` durability Warden starts PostgreSQL with fsync on
 * (WAL synced with `fsync`, which PGlite routes to the file system; its
 * `fdatasync` is a no-op) and gives NODEFS an fsync that calls the real one.
 * NODEFS is internal to PGlite, so the start-up probe checks that fsync
 * really happens and reports it if not.
 */
function enableFsync(db: PGlite): { calls: () => number } {
  let calls = 0;
  const mod = (db as unknown as { Module?: { FS?: { lookupPath(p: string): { node: { stream_ops: Record<string, unknown> } } } } }).Module;
  const paths = (PGlite as unknown as { paths?: { PGDATA?: string } }).paths;
  const node = mod?.FS?.lookupPath(`${paths?.PGDATA ?? '/pglite/data'}/PG_VERSION`).node;
  if (node) {
    node.stream_ops.fsync = (stream: { nfd: number }) => {
      calls++;
      fs.fsyncSync(stream.nfd);
      return 0;
    };
  }
  return { calls: () => calls };
}

const DEFAULT_START_PARAMS = ['--single', '-F', '-O', '-j', '-c', 'search_path=public', '-c', 'exit_on_error=false', '-c', 'log_checkpoints=false'];

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
    fs.mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    lock = acquireDataDirLock(options.dataDir, options.command ?? 'warden');
    try {
      const defaults = (PGlite as unknown as { defaultStartParams?: string[] }).defaultStartParams ?? DEFAULT_START_PARAMS;
      const startParams = durability === 'full' ? [...defaults.filter((p) => p !== '-F'), '-c', 'wal_sync_method=fsync'] : defaults;
      db = await PGlite.create(path.join(options.dataDir, 'pglite'), { startParams });
      if (durability === 'full') fsyncProbe = enableFsync(db);
    } catch (err) {
      lock.release();
      throw new WardenError('ERR_STORE', `cannot open the embedded store in ${options.dataDir}: ${(err as Error).message}`, { cause: err });
    }
  } else {
    db = await PGlite.create(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {});
  }

  const transaction: SqlExecutor['transaction'] = (fn) =>
    db.transaction(async (tx) => {
      const inner: SqlExecutor = executor(tx, (f) => f(inner));
      return fn(inner);
    });
  const exec = executor(db, transaction);

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
