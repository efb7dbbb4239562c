import { hostname, userInfo } from 'node:os';
import { runOperation, type OperationRegistry } from '../connector/operation.js';
import type { AuditActor } from '../audit/audit-log.js';
import { loadConfig } from '../config/load-config.js';
import type { Clock } from '../core/clock.js';
import { isWardenError, WardenError } from '../core/errors.js';
import { readLock, type LockInfo } from '../store/data-dir-lock.js';
import { openStore } from '../store/open-store.js';
import { runViaAdminSocket } from './admin-client.js';
import type { CliIo } from '../runtime/cli-io.js';
import type { Connector } from '../connector/contract.js';

/** The operator at this shell, as the audit log names them. */
export function cliActor(): AuditActor & { type: 'cli' } {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (containers)
  }
  return { type: 'cli', id: `${user}@${hostname()}` };
}

/** How long a command waits for a starting server: polls 200 ms apart (two minutes). */
const START_WAIT_POLLS = 600;

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Waits until the server holding `dataDir` serves its admin socket (its lock says where) or lets go of the store. */
async function serverStarted(dataDir: string, pid: number): Promise<LockInfo | { adminSocket?: undefined } | 'timeout'> {
  for (let poll = 0; poll < START_WAIT_POLLS; poll++) {
    const lock = readLock(dataDir);
    if (!lock || lock.pid !== pid || (lock.hostname === hostname() && !running(pid))) return {};
    if (lock.adminSocket) return lock;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return 'timeout';
}

/**
 * Runs an administrative operation against the configured store. When a
 * running server holds the embedded store, the operation runs inside that
 * server through its admin socket instead (PGlite allows one process).
 */
export async function runStoreOperation(
  registry: OperationRegistry,
  name: string,
  args: unknown,
  configFile: string | undefined,
  io: CliIo,
  connectors: readonly Connector[] = [],
  clock?: Clock,
): Promise<number> {
  const config = loadConfig({ ...(configFile === undefined ? {} : { path: configFile }), connectors });
  const actor = cliActor();
  let store;
  for (let waited = 0; ; ) {
    try {
      store = await openStore(config.store, `warden ${name.replace('.', ' ')}`);
      break;
    } catch (err) {
      if (!isWardenError(err, 'ERR_STORE_LOCKED')) throw err;
      const holder = err.details as LockInfo | undefined;
      if (holder?.adminSocket) return runViaAdminSocket(holder.adminSocket, name, args, actor.id, io);
      if (holder?.command !== 'serve' || config.store.driver !== 'pglite')
        throw new WardenError('ERR_STORE_LOCKED', `${err.message}. Wait for it to finish, or stop it.`);
      // A server that has taken the store but not yet opened its admin socket is starting: wait for it.
      if (waited === 0) io.err(`A Warden server (pid ${holder.pid}) is starting on ${config.store.dataDir}; waiting for it to take commands…\n`);
      const next = await serverStarted(config.store.dataDir, holder.pid);
      waited++;
      if (next === 'timeout')
        throw new WardenError(
          'ERR_STORE_LOCKED',
          `the Warden server (pid ${holder.pid}) has been starting for over ${START_WAIT_POLLS / 5} s and does not take commands yet; see its log`,
        );
      if (next.adminSocket) return runViaAdminSocket(next.adminSocket, name, args, actor.id, io);
      // The lock is gone (the server stopped): open the store ourselves.
    }
  }
  try {
    // The server registers the configured tenants when it starts; a command run first on a fresh data
    // directory (a back-fill, an exception) must not fail on the tenant's foreign key instead.
    await store.ensureTenants(config.tenants.map((t) => t.id));
    return await runOperation(registry, name, { store, config, actor, out: io.out, err: io.err, ...(clock ? { clock } : {}) }, args);
  } finally {
    await store.close();
  }
}
