import { hostname, userInfo } from 'node:os';
import { runOperation, type OperationRegistry } from '../admin/operations.js';
import type { AuditActor } from '../audit/audit-log.js';
import { loadConfig } from '../config/load-config.js';
import type { Clock } from '../core/clock.js';
import { isWardenError, WardenError } from '../core/errors.js';
import type { LockInfo } from '../store/data-dir-lock.js';
import { openStore } from '../store/open-store.js';
import { runViaAdminSocket } from './admin-client.js';
import type { CliIo } from './cli-io.js';
import type { WardenPlugin } from '../plugin/plugin.js';

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
  plugins: readonly WardenPlugin[] = [],
  clock?: Clock,
): Promise<number> {
  const config = loadConfig({ ...(configFile === undefined ? {} : { path: configFile }), plugins });
  const actor = cliActor();
  let store;
  try {
    store = await openStore(config.store, `warden ${name.replace('.', ' ')}`);
  } catch (err) {
    if (!isWardenError(err, 'ERR_STORE_LOCKED')) throw err;
    const holder = err.details as LockInfo | undefined;
    if (holder?.adminSocket) return runViaAdminSocket(holder.adminSocket, name, args, actor.id, io);
    throw new WardenError('ERR_STORE_LOCKED', `${err.message}. Wait for it to finish, or stop it.`);
  }
  try {
    return await runOperation(registry, name, { store, config, actor, out: io.out, err: io.err, ...(clock ? { clock } : {}) }, args);
  } finally {
    await store.close();
  }
}
