import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { graphCallPermissions } from '../graph-calls.js';
import { startGraphSimulator, type GraphSimulator } from './graph-simulator.js';
import { throwawayCertificate } from './self-signed-certificate.js';

/** What stays the same across restarts of the local simulator, kept in DIR/entra-sim.json. */
export interface LocalSimulatorSetup {
  port: number;
  tenantId: string;
  clientId: string;
  secret: string;
  clientState: string;
  holdGroupId: string;
  certPem: string;
  keyPem: string;
}

const SETUP_FILE = 'entra-sim.json';
/** The CA file Warden trusts (NODE_EXTRA_CA_CERTS). */
export const SIM_CA_FILE = 'entra-sim-ca.pem';

/**
 * The local Entra simulator for trying Warden without a tenant, started in `dir` (created if missing).
 * Its port, tenant id, client id and secret, clientState, hold group and certificate are kept in
 * DIR/entra-sim.json, so warden.yaml and the environment printed the first time stay valid after a
 * restart. Seeds an app registration with exactly Warden's permissions and a few people.
 */
export async function startLocalEntraSimulator(
  dir: string,
): Promise<{ sim: GraphSimulator; setup: LocalSimulatorSetup; caFile: string; admin: string; instructions: string }> {
  mkdirSync(dir, { recursive: true });
  const setupFile = path.join(dir, SETUP_FILE);
  const saved = existsSync(setupFile) ? (JSON.parse(readFileSync(setupFile, 'utf8')) as LocalSimulatorSetup) : undefined;
  const tls = saved ?? throwawayCertificate({ days: 365 });
  const setup: Omit<LocalSimulatorSetup, 'port'> & { port?: number } = saved ?? {
    tenantId: randomUUID(),
    clientId: randomUUID(),
    secret: randomBytes(24).toString('base64url'),
    clientState: randomBytes(24).toString('base64url'),
    holdGroupId: randomUUID(),
    certPem: tls.certPem,
    keyPem: tls.keyPem,
  };
  const caFile = path.join(dir, SIM_CA_FILE);
  writeFileSync(caFile, setup.certPem);
  const sim = await startGraphSimulator({ tls: { cert: setup.certPem, key: setup.keyPem }, tenantId: setup.tenantId, ...(saved ? { port: saved.port } : {}) });
  const kept: LocalSimulatorSetup = { ...setup, port: sim.port };
  writeFileSync(setupFile, JSON.stringify(kept, null, 2), { mode: 0o600 });

  const perms = graphCallPermissions();
  sim.directory.addApp({
    appId: kept.clientId,
    displayName: 'Warden',
    secrets: [kept.secret],
    permissions: [...perms.microsoftGraph, ...perms.office365ManagementApis],
  });
  const admin = sim.directory.addUser({ userPrincipalName: 'pat.admin@contoso.example', displayName: 'Pat Admin' });
  sim.directory.assignRole(admin.id, 'Privileged Authentication Administrator');
  const helpdesk = sim.directory.addUser({ userPrincipalName: 'hal.desk@contoso.example', displayName: 'Hal Desk' });
  sim.directory.assignRole(helpdesk.id, 'Helpdesk Administrator');
  const gina = sim.directory.addUser({ userPrincipalName: 'gina.global@contoso.example', displayName: 'Gina Global' });
  sim.directory.assignRole(gina.id, 'Global Administrator');
  sim.directory.addUser({ userPrincipalName: 'alice@contoso.example', displayName: 'Alice Example' });
  sim.directory.addGroup({ displayName: 'Warden hold', id: kept.holdGroupId });

  const instructions = [
    `Entra simulator at ${sim.url} (tenant ${kept.tenantId}); its settings are kept in ${setupFile}`,
    '',
    'Start Warden with:',
    `  export NODE_EXTRA_CA_CERTS=${caFile} ENTRA_CLIENT_SECRET=${kept.secret} ENTRA_CLIENT_STATE=${kept.clientState}`,
    '',
    'and under your tenant in warden.yaml (the same on every restart):',
    '    entra:',
    `      tenantId: ${kept.tenantId}`,
    `      clientId: ${kept.clientId}`,
    '      credential: { secret: { env: ENTRA_CLIENT_SECRET } }',
    `      authorityHost: ${sim.url}`,
    `      graphBaseUrl: ${sim.url}`,
    `      holdGroup: { id: ${kept.holdGroupId} }`,
    '      subscription: { enabled: false }   # Graph only calls https:// URLs: put Warden behind TLS to try notifications',
    '',
  ].join('\n');
  return { sim, setup: kept, caFile, admin: admin.id, instructions };
}
