import fs from 'node:fs';
import path from 'node:path';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import type { SqlExecutor } from './sql-executor.js';

/** How hard the embedded store works to keep committed data. */
export type PgliteDurability = 'full' | 'relaxed';

/** The PGlite cluster's directory inside Warden's data directory (beside the lock, warden.lock). */
export const PGLITE_SUBDIR = 'pglite';

type Queryable = Pick<PGlite, 'query' | 'exec'> | Transaction;

/** A SqlExecutor over a PGlite connection or transaction. */
export function pgliteExecutor(db: Queryable, transaction: SqlExecutor['transaction']): SqlExecutor {
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

/** A SqlExecutor over a PGlite instance, its transactions nested as one. */
export function pgliteDbExecutor(db: PGlite): SqlExecutor {
  const transaction: SqlExecutor['transaction'] = (fn) =>
    db.transaction(async (tx) => {
      const inner: SqlExecutor = pgliteExecutor(tx, (f) => f(inner));
      return fn(inner);
    });
  return pgliteExecutor(db, transaction);
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
 * Starts PGlite on the cluster directory `dir` (initdb first when it is new) with the start parameters of
 * `durability`. The parent's open and the first-start child (pglite-init.ts) both start it here, so a data
 * directory runs with the same settings whichever process created it.
 *
 * @returns the instance and, for `full`, a probe counting the real fsyncs
 */
export async function startPglite(dir: string, durability: PgliteDurability): Promise<{ db: PGlite; fsyncProbe?: { calls: () => number } }> {
  const defaults = (PGlite as unknown as { defaultStartParams?: string[] }).defaultStartParams ?? DEFAULT_START_PARAMS;
  const startParams = durability === 'full' ? [...defaults.filter((p) => p !== '-F'), '-c', 'wal_sync_method=fsync'] : defaults;
  const db = await PGlite.create(dir, { startParams });
  return durability === 'full' ? { db, fsyncProbe: enableFsync(db) } : { db };
}

/**
 * Whether Warden's data directory `dataDir` holds no cluster yet: the directory, or its `pglite`
 * directory, does not exist or is empty. Such a directory gets initdb and every migration.
 */
export function isFreshDataDir(dataDir: string): boolean {
  const cluster = path.join(dataDir, PGLITE_SUBDIR);
  try {
    return fs.readdirSync(cluster).length === 0;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR';
  }
}
