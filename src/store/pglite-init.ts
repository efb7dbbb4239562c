import { fork } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isWardenError, WardenError, type WardenErrorCode } from '../core/errors.js';
import { acquireDataDirLock } from './data-dir-lock.js';
import { migrate } from './migrate.js';
import { isFreshDataDir, PGLITE_SUBDIR, type PgliteDurability, pgliteDbExecutor, startPglite } from './pglite-cluster.js';

/**
 * First start of the embedded store in a short-lived child process.
 *
 * Creating a PGlite cluster runs initdb in a WASM instance of its own and then every migration; the process
 * that does it stays at ~850 MB resident afterwards (docs/performance.md §8), against ~370 MB for a process
 * that opens an existing cluster. So `openPgliteStore({ initInChild: true })` (what `openStore` asks for:
 * `warden serve` and the CLI) has a child (pglite-init-child.ts) create a new data directory, and then
 * opens it as an existing one.
 *
 * The lock: the child takes the data directory's lock (warden.lock, command "<command> (first start)")
 * for the whole initialization and releases it after PGlite has closed; the parent takes it only after
 * the child has exited, as for any existing directory. A second Warden starting meanwhile is refused with
 * ERR_STORE_LOCKED naming the child, or, if it takes the lock between the child's release and the
 * parent's, it opens the finished directory and this parent is the one refused: never two openers at once.
 * If the parent dies, the child still holds the lock until it is done, so nobody opens a half-made cluster.
 *
 * The cluster is made in `pglite.init` beside the lock and renamed to `pglite` once PGlite closed cleanly
 * with every migration applied: a first start that dies (disk full, killed) leaves no half-made `pglite`
 * that a later start would take for an existing cluster; the leftover is removed by the next first start.
 */

/** What the child reports over IPC. */
export type InitResult =
  | { ok: true; pid: number; applied: number[]; fsyncCalls: number }
  | { ok: false; pid: number; code: WardenErrorCode; message: string; details?: unknown };

const INIT_SUBDIR = `${PGLITE_SUBDIR}.init`;

function storeError(dataDir: string, err: unknown): WardenError {
  if (isWardenError(err)) return err;
  return new WardenError('ERR_STORE', `cannot open the embedded store in ${dataDir}: ${(err as Error).message}`, { cause: err });
}

/**
 * Creates the data directory `dataDir` with a migrated cluster, under its lock, unless it holds one
 * already (another process made it meanwhile). Runs in the child; callable in-process (tests).
 */
export async function initDataDir(dataDir: string, durability: PgliteDurability, command: string): Promise<{ applied: number[]; fsyncCalls: number }> {
  try {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw storeError(dataDir, err);
  }
  let lock: ReturnType<typeof acquireDataDirLock>;
  try {
    lock = acquireDataDirLock(dataDir, `${command} (first start)`);
  } catch (err) {
    throw storeError(dataDir, err);
  }
  const work = path.join(dataDir, INIT_SUBDIR);
  try {
    if (!isFreshDataDir(dataDir)) return { applied: [], fsyncCalls: 0 };
    fs.rmSync(work, { recursive: true, force: true }); // left by a first start that died
    let started: Awaited<ReturnType<typeof startPglite>>;
    try {
      started = await startPglite(work, durability);
    } catch (err) {
      throw storeError(dataDir, err);
    }
    const { db, fsyncProbe } = started;
    let applied: number[];
    try {
      applied = await migrate(pgliteDbExecutor(db));
      if (fsyncProbe) await db.exec('CHECKPOINT');
    } finally {
      await db.close();
    }
    const cluster = path.join(dataDir, PGLITE_SUBDIR);
    if (fs.existsSync(cluster)) fs.rmdirSync(cluster); // empty (isFreshDataDir); rmdir refuses anything else
    fs.renameSync(work, cluster);
    if (durability === 'full') {
      const fd = fs.openSync(dataDir, 'r');
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
    return { applied, fsyncCalls: fsyncProbe?.calls() ?? 0 };
  } catch (err) {
    fs.rmSync(work, { recursive: true, force: true });
    throw storeError(dataDir, err);
  } finally {
    lock.release();
  }
}

/** The child's module and Node's arguments to run it: compiled (dist/, plain node) or the sources under tsx. */
function childModule(): { file: string; execArgv: string[] } {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    const tsx = pathToFileURL(createRequire(here).resolve('tsx')).href;
    return { file: fileURLToPath(new URL('./pglite-init-child.ts', here)), execArgv: ['--import', tsx] };
  }
  return { file: fileURLToPath(new URL('./pglite-init-child.js', here)), execArgv: [] };
}

const STDERR_TAIL = 4_000;

/**
 * Runs initDataDir in a child process and waits until it has exited (and so released the lock).
 *
 * @returns what the child did (its pid, the migrations it applied, the fsyncs it made)
 * @throws the child's WardenError (same code, message and details as in-process), or ERR_STORE when it died without one
 */
export function initDataDirInChild(dataDir: string, durability: PgliteDurability, command: string): Promise<InitResult & { ok: true }> {
  const { file, execArgv } = childModule();
  return new Promise((resolve, reject) => {
    let result: InitResult | undefined;
    let stderr = '';
    const child = fork(file, [dataDir, durability, command], { execArgv, stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      process.stderr.write(chunk);
      stderr = (stderr + chunk).slice(-STDERR_TAIL);
    });
    child.on('message', (m) => {
      result = m as InitResult;
    });
    child.once('error', (err) => reject(storeError(dataDir, err)));
    child.once('exit', (code, signal) => {
      if (result?.ok) return resolve(result);
      if (result) return reject(new WardenError(result.code, result.message, { details: result.details }));
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      reject(
        new WardenError(
          'ERR_STORE',
          `cannot open the embedded store in ${dataDir}: the process creating it (pid ${child.pid}) ${how}${stderr.trim() ? `: ${stderr.trim()}` : ''}`,
        ),
      );
    });
  });
}
