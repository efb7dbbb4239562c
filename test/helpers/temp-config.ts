import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EXAMPLE_POLICY_FILE } from './policies.js';
import { seedDataDir } from './pglite-template.js';

/** A directory with warden.yaml (tenant acme, the example policy, port 0, embedded store in ./data). */
export function tempConfigDir(extra = ''): { dir: string; configFile: string; policyFile: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'warden-srv-'));
  mkdirSync(path.join(dir, 'policies'));
  const policyFile = path.join(dir, 'policies', 'acme.yaml');
  copyFileSync(EXAMPLE_POLICY_FILE, policyFile);
  const configFile = path.join(dir, 'warden.yaml');
  writeFileSync(
    configFile,
    `listen: { host: 127.0.0.1, port: 0 }\ndataDir: data\ndurability: relaxed\nlog: { level: silent }\n${extra}tenants:\n  - id: acme\n    policy: policies/acme.yaml\n`,
  );
  seedDataDir(path.join(dir, 'data'));
  return { dir, configFile, policyFile };
}
