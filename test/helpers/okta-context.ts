import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig, type WardenConfig } from '../../src/config/load-config.js';
import type { ConnectorContext, Connector } from '../../src/connector/contract.js';
import { createLogger } from '../../src/runtime/logger.js';
import { Metrics } from '../../src/runtime/metrics.js';
import type { Store } from '../../src/store/store.js';
import { EXAMPLE_POLICY_FILE } from './policies.js';

/** A config with tenant acme whose okta section is `section` (YAML, indented 6), its secrets from `env`. */
export function oktaTenantConfig(connector: Connector, section: string, env: Record<string, string>): WardenConfig {
  const dir = mkdtempSync(path.join(tmpdir(), 'warden-okta-unit-'));
  const secrets = Object.keys(env)
    .map((k) => `${k.toLowerCase().replace(/_(\w)/g, (_m, c: string) => c.toUpperCase())}: { env: ${k} }`)
    .join(', ');
  writeFileSync(
    path.join(dir, 'warden.yaml'),
    `tenants:\n  - id: acme\n    policy: ${EXAMPLE_POLICY_FILE}\n    secrets: { ${secrets} }\n    okta:\n${section}`,
  );
  return loadConfig({ path: path.join(dir, 'warden.yaml'), env, connectors: [connector], resolveSecrets: true });
}

/** What the server would give the connector, on a test store and a settable clock. */
export function testConnectorContext(config: WardenConfig, store: Store, clock: { now: Date } = { now: new Date() }): ConnectorContext {
  return {
    config,
    store,
    policies: { get: () => ({ failure: 'hold' }) } as unknown as ConnectorContext['policies'],
    log: createLogger('silent'),
    metrics: new Metrics({ processMetrics: false }),
    clock: () => clock.now,
    instanceId: 'test:1',
    wakeInbox: () => undefined,
    decide: () => Promise.reject(new Error('not in this test')),
    deliveryStopped: () => Promise.reject(new Error('not in this test')),
  };
}
