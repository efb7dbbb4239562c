import { httpsFront } from './https-front.js';
import { randomBytes, randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { createEntraConnector, type EntraConnector } from '../../connectors/entra/index.js';
import type { EntraTenant } from '../../connectors/entra/entra-tenant.js';
import { graphCallPermissions } from '../../connectors/entra/graph-calls.js';
import { startGraphSimulator, type GraphSimulator } from '../../connectors/entra/simulator/graph-simulator.js';
import { throwawayCertificate } from '../../connectors/entra/simulator/self-signed-certificate.js';
import type { SimGroup, SimUser } from '../../connectors/entra/simulator/simulated-directory.js';
import { loadConfig } from '../../src/config/load-config.js';
import { createLogger } from '../../src/runtime/logger.js';
import { startServer, type RunningServer } from '../../src/app/start-server.js';
import { EXAMPLE_POLICY_FILE } from './policies.js';
import { seedDataDir } from './pglite-template.js';

/**
 * Warden with the Entra connector against the Entra simulator, as in
 * production: the real server, the real @azure/identity and Graph client
 * over HTTPS, Graph's notifications reaching Warden through an HTTPS
 * front (Graph only calls https:// URLs; in production a load balancer or
 * ingress terminates TLS). Workers and background tasks are driven by hand,
 * on a simulated clock shared by Warden and the simulator.
 */
export interface EntraHarness {
  sim: GraphSimulator;
  server: RunningServer;
  connector: EntraConnector;
  tenant: EntraTenant;
  clock: { now: Date };
  entraTenantId: string;
  clientId: string;
  clientState: string;
  /** The HTTPS front of Warden that Graph calls. */
  publicUrl: string;
  users: { admin: SimUser; helpdesk: SimUser; privileged: SimUser; alice: SimUser };
  holdGroup: SimGroup;
  configFile: string;
  env: Record<string, string>;
  /** Runs the inbox worker until it has nothing left. */
  drainInbox(): Promise<number>;
  /** Runs the outbox worker until it has nothing left. */
  drainOutbox(): Promise<number>;
  /** The tenant's audit records, parsed. */
  audit(): Promise<Array<{ type: string; actor: { type: string; id: string }; subject: Record<string, string>; data: Record<string, unknown> }>>;
  advance(ms: number): void;
  close(): Promise<void>;
}

export interface HarnessOptions {
  mode?: 'enforce' | 'monitor';
  /** Extra YAML lines inside the tenant's `entra:` section (indented by the caller to 6 spaces). */
  entraYaml?: string;
  /** Application permissions granted to Warden's app (default: exactly what graph-calls.ts lists). */
  permissions?: string[];
  /** Authenticate with a certificate instead of a client secret. */
  certificate?: boolean;
  /** Configure the hold group's id (default true). */
  holdGroupConfigured?: boolean;
  start?: Date;
  /** Extra YAML lines at the tenant's level (indented by the caller to 4 spaces): webhooks, notifications, secrets. */
  tenantYaml?: string;
  /** The subscription's notificationUrl, given the HTTPS front's URL (default `<front>/hooks/entra/acme/notifications`). */
  notificationUrl?: (front: string) => string;
}

export async function startEntraHarness(options: HarnessOptions = {}): Promise<EntraHarness> {
  const tls = inject('entraTls');
  const clock = { now: options.start ?? new Date('2026-11-25T10:00:00.000Z') };
  const entraTenantId = randomUUID();
  const clientId = randomUUID();
  const secret = randomBytes(24).toString('base64url');
  const clientState = randomBytes(24).toString('base64url');
  const sim = await startGraphSimulator({ tls, tenantId: entraTenantId, clock: () => clock.now });
  const perms = graphCallPermissions();
  const appCertificate = options.certificate ? throwawayCertificate({ keyType: 'rsa' }) : undefined;
  sim.directory.addApp({
    appId: clientId,
    displayName: 'Warden',
    ...(appCertificate ? { certificates: [appCertificate.certPem] } : { secrets: [secret] }),
    permissions: options.permissions ?? [...perms.microsoftGraph, ...perms.office365ManagementApis],
  });
  const admin = sim.directory.addUser({ userPrincipalName: 'pat.admin@contoso.example', displayName: 'Pat Admin' });
  sim.directory.assignRole(admin.id, 'Privileged Authentication Administrator');
  const helpdesk = sim.directory.addUser({ userPrincipalName: 'hal.desk@contoso.example', displayName: 'Hal Desk' });
  sim.directory.assignRole(helpdesk.id, 'Helpdesk Administrator');
  const privileged = sim.directory.addUser({ userPrincipalName: 'gina.global@contoso.example', displayName: 'Gina Global' });
  sim.directory.assignRole(privileged.id, 'Global Administrator');
  const alice = sim.directory.addUser({ userPrincipalName: 'alice@contoso.example', displayName: 'Alice Example', employeeType: 'employee' });
  const holdGroup = sim.directory.addGroup({ displayName: 'Warden hold' });

  const front = await httpsFront(tls);
  const dir = mkdtempSync(path.join(tmpdir(), 'warden-entra-'));
  mkdirSync(path.join(dir, 'policies'));
  const policyFile = path.join(dir, 'policies', 'acme.yaml');
  if (options.mode === 'monitor') writeFileSync(policyFile, readFileSync(EXAMPLE_POLICY_FILE, 'utf8').replace(/^mode: enforce$/m, 'mode: monitor'));
  else copyFileSync(EXAMPLE_POLICY_FILE, policyFile);
  const configFile = path.join(dir, 'warden.yaml');
  writeFileSync(
    configFile,
    [
      'listen: { host: 127.0.0.1, port: 0 }',
      'dataDir: data',
      'durability: relaxed',
      'log: { level: silent }',
      'tenants:',
      '  - id: acme',
      '    policy: policies/acme.yaml',
      '    entra:',
      `      tenantId: ${entraTenantId}`,
      `      clientId: ${clientId}`,
      appCertificate ? '      credential: { certificate: { env: ENTRA_CERTIFICATE } }' : '      credential: { secret: { env: ENTRA_CLIENT_SECRET } }',
      `      authorityHost: ${sim.url}`,
      `      graphBaseUrl: ${sim.url}`,
      '      maxInlineRetrySeconds: 2',
      options.holdGroupConfigured === false ? '' : `      holdGroup: { id: ${holdGroup.id} }`,
      '      subscription:',
      `        notificationUrl: ${options.notificationUrl ? options.notificationUrl(front.url) : `${front.url}/hooks/entra/acme/notifications`}`,
      '        clientState: { env: ENTRA_CLIENT_STATE }',
      '      managementActivity:',
      '        enabled: true',
      `        baseUrl: ${sim.url}`,
      options.entraYaml ?? '',
      options.tenantYaml ?? '',
    ].join('\n') + '\n',
  );
  const env: Record<string, string> = {
    ENTRA_CLIENT_SECRET: secret,
    ENTRA_CLIENT_STATE: clientState,
    ...(appCertificate ? { ENTRA_CERTIFICATE: appCertificate.keyPem + appCertificate.certPem } : {}),
  };
  seedDataDir(path.join(dir, 'data'));
  const connector = createEntraConnector({ env, autoStart: false });
  const config = loadConfig({ path: configFile, env: {}, connectors: [connector], resolveSecrets: true });
  const server = await startServer({
    config,
    connectors: [connector],
    log: createLogger('silent'),
    watchPolicies: false,
    workers: false,
    clock: () => clock.now,
  });
  front.target(server.url);
  const tenant = connector.runtime.tenant(server.context.config, 'acme', server.context.clock)!;

  const drain = async (run: () => Promise<number>) => {
    let total = 0;
    for (let n = await run(); n > 0; n = await run()) total += n;
    return total;
  };
  return {
    sim,
    server,
    connector,
    tenant,
    clock,
    entraTenantId,
    clientId,
    clientState,
    publicUrl: front.url,
    users: { admin, helpdesk, privileged, alice },
    holdGroup,
    configFile,
    env,
    drainInbox: () => drain(() => server.inbox.runOnce()),
    drainOutbox: () => drain(() => server.outbox.runOnce()),
    audit: async () => (await server.store.readAudit('acme', 0, 10_000)).map((r) => JSON.parse(r.record)),
    advance(ms) {
      clock.now = new Date(clock.now.getTime() + ms);
    },
    async close() {
      await server.close();
      await front.close();
      await sim.close();
    },
  };
}
