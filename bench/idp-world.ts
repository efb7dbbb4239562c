/**
 * The simulated identity providers a server benchmark runs Warden against
 * (bench/containment.ts, bench/soak.ts): the Okta simulator (plain HTTP,
 * event hooks) and the Entra / Microsoft Graph simulator over HTTPS with a
 * throw-away certificate, Graph's change notifications reaching Warden
 * through an HTTPS front (Graph only calls https:// URLs), and the tenant's
 * `warden.yaml` section for each. Everything listens on 127.0.0.1.
 *
 * `@azure/identity` insists on HTTPS and Node reads `NODE_EXTRA_CA_CERTS`
 * only when a process starts, so `trustedOrRerun` makes the certificate and
 * runs the benchmark again as a child process that trusts it
 * (/work/shared/research/simulators.md).
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { graphCallPermissions } from '../connectors/entra/graph-calls.js';
import { startGraphSimulator, type GraphSimulator } from '../connectors/entra/simulator/graph-simulator.js';
import { throwawayCertificate } from '../connectors/entra/simulator/self-signed-certificate.js';
import type { SimGroup, SimUser } from '../connectors/entra/simulator/simulated-directory.js';
import { httpsFront } from '../test/helpers/https-front.js';

const TLS_DIR_ENV = 'WARDEN_BENCH_TLS_DIR';

export interface BenchTls {
  cert: string;
  key: string;
}

/**
 * In the child that trusts the benchmark's certificate: the certificate and
 * key. In the first process: makes them, runs this script again with
 * `NODE_EXTRA_CA_CERTS` naming the certificate, and exits with the child's
 * exit code (never returns).
 */
export async function trustedOrRerun(): Promise<BenchTls> {
  const dir = process.env[TLS_DIR_ENV];
  if (dir) return { cert: readFileSync(path.join(dir, 'cert.pem'), 'utf8'), key: readFileSync(path.join(dir, 'key.pem'), 'utf8') };
  const made = mkdtempSync(path.join(os.tmpdir(), 'warden-bench-tls-'));
  // A name of its own: another throw-away "localhost" CA in the same bundle would be picked by subject name.
  const { certPem, keyPem } = throwawayCertificate({ days: 2, commonName: `Warden bench ${randomBytes(6).toString('hex')}` });
  writeFileSync(path.join(made, 'cert.pem'), certPem);
  writeFileSync(path.join(made, 'key.pem'), keyPem, { mode: 0o600 });
  let bundle = path.join(made, 'cert.pem');
  const existing = process.env.NODE_EXTRA_CA_CERTS;
  if (existing) {
    bundle = path.join(made, 'bundle.pem');
    writeFileSync(bundle, `${readFileSync(existing, 'utf8').trimEnd()}\n${certPem}`);
  }
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, NODE_EXTRA_CA_CERTS: bundle, [TLS_DIR_ENV]: made },
  });
  const pass = (signal: NodeJS.Signals) => () => void child.kill(signal);
  const handlers = (['SIGINT', 'SIGTERM'] as const).map((s) => [s, pass(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  const code = await new Promise<number>((resolve) => child.once('exit', (c, signal) => resolve(c ?? (signal ? 143 : 1))));
  rmSync(made, { recursive: true, force: true });
  process.exit(code);
}

/** The Entra side of a benchmark: the Graph simulator, the HTTPS front, people, the hold group. */
export interface EntraWorld {
  sim: GraphSimulator;
  front: { url: string; target(url: string): void; close(): Promise<void> };
  tenantId: string;
  clientId: string;
  secret: string;
  clientState: string;
  helpdesk: SimUser;
  holdGroup: SimGroup;
  /** `entra:` under a tenant in warden.yaml (indented for a tenant item), with the notification URL for `tenant`. */
  yaml(tenant: string, options?: { pollIntervalSeconds?: number; poller?: boolean; subscription?: boolean }): string;
  env(): Record<string, string>;
  /** A standard person (employee) to act on. */
  addPerson(): SimUser;
  close(): Promise<void>;
}

export async function startEntraWorld(tls: BenchTls): Promise<EntraWorld> {
  const tenantId = randomUUID();
  const clientId = randomUUID();
  const secret = randomBytes(24).toString('base64url');
  const clientState = randomBytes(24).toString('base64url');
  const sim = await startGraphSimulator({ tls, tenantId });
  const perms = graphCallPermissions();
  sim.directory.addApp({ appId: clientId, displayName: 'Warden', secrets: [secret], permissions: [...perms.microsoftGraph, ...perms.office365ManagementApis] });
  const helpdesk = sim.directory.addUser({ userPrincipalName: 'hal.desk@contoso.example', displayName: 'Hal Desk' });
  sim.directory.assignRole(helpdesk.id, 'Helpdesk Administrator');
  const holdGroup = sim.directory.addGroup({ displayName: 'Warden hold' });
  const front = await httpsFront(tls);
  return {
    sim,
    front,
    tenantId,
    clientId,
    secret,
    clientState,
    helpdesk,
    holdGroup,
    yaml(tenant, options = {}) {
      return [
        '    entra:',
        `      tenantId: ${tenantId}`,
        `      clientId: ${clientId}`,
        '      credential: { secret: { env: ENTRA_CLIENT_SECRET } }',
        `      authorityHost: ${sim.url}`,
        `      graphBaseUrl: ${sim.url}`,
        `      holdGroup: { id: ${holdGroup.id} }`,
        '      subscription:',
        `        enabled: ${options.subscription !== false}`,
        `        notificationUrl: ${front.url}/hooks/entra/${tenant}/notifications`,
        '        clientState: { env: ENTRA_CLIENT_STATE }',
        `      poller: { enabled: ${options.poller !== false}, intervalSeconds: ${options.pollIntervalSeconds ?? 60} }`,
        '',
      ].join('\n');
    },
    env: () => ({ ENTRA_CLIENT_SECRET: secret, ENTRA_CLIENT_STATE: clientState }),
    addPerson() {
      const n = randomUUID().slice(0, 8);
      return sim.directory.addUser({ userPrincipalName: `u${n}@contoso.example`, displayName: `Bench User ${n}`, employeeType: 'employee' });
    },
    async close() {
      await front.close();
      await sim.close();
    },
  };
}

/** Waits until `ready()` is true, checking every 20 ms, for at most `ms` (then throws with `what`). */
export async function until(ready: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = performance.now() + ms;
  while (!(await ready())) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
