import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { oktaConnector } from '../../connectors/okta/index.js';
import { OktaSimulator, type SimUser } from '../../connectors/okta/simulator/okta-simulator.js';
import { loadConfig, type WardenConfig } from '../../src/config/load-config.js';
import type { Connector } from '../../src/connector/contract.js';
import { createLogger } from '../../src/runtime/logger.js';
import { startServer, type RunningServer } from '../../src/app/start-server.js';
import { EXAMPLE_POLICY_FILE } from './policies.js';
import { seedDataDir } from './pglite-template.js';

export const HOOK_SECRET = 'hook-shared-secret-0123456789';

/** A simulated org with a help-desk agent and an employee who has had Okta Verify for 30 days. */
export async function seededSimulator(): Promise<{ sim: OktaSimulator; agent: SimUser; employee: (login: string) => SimUser }> {
  const sim = await new OktaSimulator().start();
  sim.addGroup('Warden Hold');
  const agent = sim.addUser({ login: 'agent@acme.example', firstName: 'Hal', lastName: 'Desk' }, { roles: ['HELP_DESK_ADMIN'], groups: ['Service Desk'] });
  const employee = (login: string) => {
    const user = sim.addUser({ login, firstName: login.split('@')[0]!, lastName: 'Employee', department: 'Sales' }, { groups: ['Everyone'] });
    sim.addFactor(user.id, 'push', new Date(Date.now() - 30 * 86_400_000));
    return user;
  };
  return { sim, agent, employee };
}

export interface OktaTenantSetup {
  id: string;
  sim: OktaSimulator;
  mode: 'enforce' | 'monitor';
  /** Extra YAML under the tenant's okta section (indented by the caller). */
  extra?: string;
}

/** warden.yaml with one tenant per simulator, each on the example policy (in the given mode). */
export function oktaConfigDir(tenants: readonly OktaTenantSetup[]): { dir: string; configFile: string; env: NodeJS.ProcessEnv } {
  const dir = mkdtempSync(path.join(tmpdir(), 'warden-okta-'));
  mkdirSync(path.join(dir, 'policies'));
  const env: NodeJS.ProcessEnv = { OKTA_HOOK_SECRET: HOOK_SECRET };
  let yaml = 'listen: { host: 127.0.0.1, port: 0 }\ndataDir: data\ndurability: relaxed\nlog: { level: silent }\ntenants:\n';
  for (const t of tenants) {
    const policy = readFileSync(EXAMPLE_POLICY_FILE, 'utf8')
      .replace(/^tenant: acme$/m, `tenant: ${t.id}`)
      .replace(/^mode: enforce$/m, `mode: ${t.mode}`);
    writeFileSync(path.join(dir, 'policies', `${t.id}.yaml`), policy);
    const tokenVar = `OKTA_TOKEN_${t.id.toUpperCase().replace(/-/g, '_')}`;
    env[tokenVar] = t.sim.token;
    yaml +=
      `  - id: ${t.id}\n    policy: policies/${t.id}.yaml\n    secrets:\n      oktaToken: { env: ${tokenVar} }\n      oktaHook: { env: OKTA_HOOK_SECRET }\n` +
      `    okta:\n      orgUrl: ${t.sim.url}\n      simulator: true\n      auth: { type: api_token, token: oktaToken }\n      eventHook: { secret: oktaHook }\n      poller: { intervalSeconds: 5, overlapSeconds: 300 }\n${t.extra ?? ''}`;
  }
  const configFile = path.join(dir, 'warden.yaml');
  writeFileSync(configFile, yaml);
  seedDataDir(path.join(dir, 'data'));
  return { dir, configFile, env };
}

export function loadOktaConfig(configFile: string, env: NodeJS.ProcessEnv, connector: Connector): WardenConfig {
  return loadConfig({ path: configFile, env, connectors: [connector], resolveSecrets: true });
}

/** The real server with a fresh Okta connector. */
export async function startOktaServer(
  configFile: string,
  env: NodeJS.ProcessEnv,
  options: { workers?: boolean } = {},
): Promise<{ server: RunningServer; connector: Connector }> {
  const connector = oktaConnector();
  const config = loadOktaConfig(configFile, env, connector);
  const server = await startServer({
    config,
    connectors: [connector],
    log: createLogger('silent'),
    watchPolicies: false,
    ...(options.workers === false ? { workers: false } : {}),
  });
  return { server, connector };
}

/** The audit records of a tenant, parsed. */
export async function auditRecords(
  server: RunningServer,
  tenant: string,
): Promise<Array<{ type: string; subject: Record<string, string>; data: Record<string, unknown> }>> {
  return (await server.store.readAudit(tenant, 0, 10_000)).map(
    (r) => JSON.parse(r.record) as { type: string; subject: Record<string, string>; data: Record<string, unknown> },
  );
}
