import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ssfConnector } from '../../connectors/ssf/index.js';
import { clockStartingAt, type Clock } from '../../src/core/clock.js';
import type { Connector } from '../../src/connector/contract.js';
import { loadConfig } from '../../src/config/load-config.js';
import { createLogger } from '../../src/runtime/logger.js';
import { startServer, type RunningServer } from '../../src/app/start-server.js';
import { seedDataDir } from '../helpers/pglite-template.js';
import { EXAMPLE_POLICY_FILE } from '../helpers/policies.js';

/** The simulated start of every SSF test: both Wardens run on clocks starting here. */
export const START = new Date('2026-12-01T09:00:00Z');

/** A fresh RSA key pair, PEM. */
export function rsaPem(): { privateKey: string; publicKey: string } {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
}

/** A free port on 127.0.0.1 (the transmitter's issuer must name its own address before it listens). */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Starts a Warden with `tenants` (YAML under `tenants:`) and the SSF connector (loops every 50 ms). */
export async function startWarden(options: {
  port?: number;
  tenants: string;
  policies: Record<string, string>;
  env: Record<string, string>;
  connectors?: Connector[];
  clock?: Clock;
}): Promise<RunningServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'warden-ssf-'));
  mkdirSync(path.join(dir, 'policies'));
  for (const [tenant, text] of Object.entries(options.policies)) writeFileSync(path.join(dir, 'policies', `${tenant}.yaml`), text);
  writeFileSync(
    path.join(dir, 'warden.yaml'),
    `listen: { host: 127.0.0.1, port: ${options.port ?? 0} }\ndataDir: data\ndurability: relaxed\ntenants:\n${options.tenants}`,
  );
  // The run's migrated template store, not a fresh initdb per Warden.
  seedDataDir(path.join(dir, 'data'));
  const connectors = [ssfConnector({ idleMs: 50 }), ...(options.connectors ?? [])];
  const config = loadConfig({ path: path.join(dir, 'warden.yaml'), env: options.env, connectors, resolveSecrets: true });
  return startServer({
    config,
    connectors,
    log: createLogger('silent'),
    watchPolicies: false,
    workerIdleMs: 50,
    clock: options.clock ?? clockStartingAt(START),
  });
}

/** The example policy, for another tenant name. */
export const examplePolicy = (tenant: string) => readFileSync(EXAMPLE_POLICY_FILE, 'utf8').replace(/^tenant: acme$/m, `tenant: ${tenant}`);
