import type { StoreConfig } from '../config/load-config.js';
import { openPgliteStore } from './pglite-store.js';
import { openPostgresStore } from './postgres-store.js';
import type { Store } from './store.js';

/**
 * Opens the configured store, applying migrations. `command` names the opener in the embedded store's lock.
 * A new embedded data directory is created in a short-lived child process (pglite-init.ts), so the
 * server never carries initdb's memory.
 */
export function openStore(config: StoreConfig, command: string): Promise<Store> {
  if (config.driver === 'postgres')
    return openPostgresStore({
      url: config.url.reveal(),
      schema: config.schema,
      poolSize: config.poolSize,
      connectTimeoutMs: config.connectTimeoutMs,
      statementTimeoutMs: config.statementTimeoutMs,
    });
  return openPgliteStore({ dataDir: config.dataDir, durability: config.durability, command, initInChild: true });
}
