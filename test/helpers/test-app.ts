import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ApiKeyVerifier, createApiKey } from '../../src/access/api-keys.js';
import { createApp } from '../../src/server/create-app.js';
import { createLogger } from '../../src/runtime/logger.js';
import { Metrics } from '../../src/runtime/metrics.js';
import { PolicyRegistry } from '../../src/config/policy-registry.js';
import { bundledMigrations } from '../../src/store/migrate.js';
import type { Store } from '../../src/store/store.js';
import { EXAMPLE_POLICY_FILE } from './policies.js';
import { pgliteTestStore } from './test-stores.js';

export interface TestApp {
  url: string;
  store: Store;
  metrics: Metrics;
  policies: PolicyRegistry;
  /** API key for tenant acme (decisions:write). */
  key: string;
  /** API key for tenant globex. */
  otherKey: string;
  close(): Promise<void>;
}

/**
 * The HTTP app on an ephemeral port with an in-memory store and two tenants:
 * acme (the example policy) and globex (hold every help-desk change).
 */
export async function startTestApp(options: { bodyBytes?: number } = {}): Promise<TestApp> {
  const dir = mkdtempSync(path.join(tmpdir(), 'warden-app-'));
  copyFileSync(EXAMPLE_POLICY_FILE, path.join(dir, 'acme.yaml'));
  writeFileSync(
    path.join(dir, 'globex.yaml'),
    'apiVersion: warden/v1\ntenant: globex\nmode: monitor\nrules:\n  - { id: hold-helpdesk, when: \'change.channel == "helpdesk"\', outcome: hold }\n',
  );
  const policies = new PolicyRegistry([
    { id: 'acme', policyFile: path.join(dir, 'acme.yaml') },
    { id: 'globex', policyFile: path.join(dir, 'globex.yaml') },
  ]);
  const { store, dispose } = await pgliteTestStore();
  await store.ensureTenants(['acme', 'globex']);
  const metrics = new Metrics({ processMetrics: false });
  const actor = { type: 'cli' as const, id: 'test' };
  const key = (await createApiKey(store, { tenant: 'acme', name: 'test', actor })).key;
  const otherKey = (await createApiKey(store, { tenant: 'globex', name: 'test', actor })).key;
  const app = createApp({
    store,
    policies,
    metrics,
    log: createLogger('silent'),
    keys: new ApiKeyVerifier(store, 0),
    bodyBytes: options.bodyBytes ?? 64 * 1024,
    expectedMigrations: bundledMigrations().map((m) => m.version),
    version: '0.0.0-test',
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    store,
    metrics,
    policies,
    key,
    otherKey,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await dispose();
    },
  };
}
