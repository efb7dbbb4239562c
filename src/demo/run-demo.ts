import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import type { Clock } from '../core/clock.js';
import { loadConfig, type WardenConfig } from '../config/load-config.js';
import type { Connector } from '../connector/contract.js';
import type { Store } from '../store/store.js';
import { packageRoot, wardenCommand } from '../package-root.js';
import { createApiKey } from '../access/api-keys.js';
import { createLogger, type Logger } from '../runtime/logger.js';
import { DEMO_STATE_FILE, serveControl, type AuditEntry, type DemoInfo } from './demo-control.js';
import { DEMO_TENANT, demoConfig } from './demo-config.js';
import type { DemoKit, DemoSimulators } from '../connector/demo-kit.js';
import { startDevOidc, type DevOidc, type DevOidcClient, type DevPersona } from './dev-oidc.js';
import { DEMO_PASSWORD, DEMO_PERSONAS, type DemoPersona } from './personas.js';

/** The OIDC client the plays and `warden demo` sign personas in with (authorization code + PKCE, public client). */
/** The web console's client at the development provider (a confidential client; its secret is made at each start). */
export const DEMO_CONSOLE_CLIENT_ID = 'warden-console';

export const DEMO_CLI_CLIENT: DevOidcClient = { clientId: 'warden-demo-cli', redirectUris: ['http://127.0.0.1/warden-demo/callback'] };

/** The line `warden demo` prints once everything is up (tests wait for it). */
export const READY_LINE = 'The Warden demo is ready.';

/** Warden as the demo runs it: what it uses of a running server. */
export interface DemoWarden {
  url: string;
  store: Store;
  close(): Promise<void>;
}

/** Starts Warden (src/app/start-server.ts `startServer`, given by the program that runs the demo: src/demo sits below src/app). */
export type StartWarden = (options: { config: WardenConfig; connectors: readonly Connector[]; clock: Clock; log: Logger }) => Promise<DemoWarden>;

export interface DemoOptions {
  /** The state directory (absolute): certificate, warden.yaml, the policy, Warden's store, demo.json. */
  dir: string;
  /** Warden's HTTPS port (0: a free one). */
  port: number;
  /** The control endpoint's port (0: a free one). */
  controlPort: number;
  /** The development OIDC provider's port (0: a free one). */
  oidcPort: number;
  clock: Clock;
  kit: DemoKit;
  startWarden: StartWarden;
}

export interface RunningDemo {
  info: DemoInfo;
  server: DemoWarden;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (Warden's URL must be known before it listens: the Graph subscription names it). */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** The personas as the development OIDC provider knows them: `sub` is the person's Okta user id, as Okta's own tokens say. */
export function devPersonas(personas: readonly DemoPersona[], sims: Pick<DemoSimulators, 'ids'>): DevPersona[] {
  return personas.map((p) => ({ login: p.login, sub: sims.ids.okta[p.handle]!, name: `${p.firstName} ${p.lastName}`, email: p.login, groups: [...p.groups] }));
}

/**
 * Starts the demo: the simulators, the development OIDC provider, and Warden
 * in this process (HTTPS, both IdPs, the example policy), all on 127.0.0.1
 * and on `clock`; then the control endpoint. Each start is a fresh world:
 * the simulators keep their state in memory, so Warden's store in the state
 * directory starts empty too; the certificate and the policy are kept.
 */
export async function startDemo(options: DemoOptions): Promise<RunningDemo> {
  const { dir, clock, kit } = options;
  mkdirSync(path.join(dir, 'policies'), { recursive: true });
  rmSync(path.join(dir, 'data'), { recursive: true, force: true });
  const tls = kit.certificate(dir);
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s().catch(() => undefined);
  };
  try {
    const sims = await kit.start({ dir, clock, personas: DEMO_PERSONAS, password: DEMO_PASSWORD });
    stops.push(() => sims.close());
    // Warden's URL is fixed before anything names it: the Graph subscription, and OIDC clients' redirect URIs.
    const port = options.port || (await freePort());
    // The OIDC clients people sign in through: the plays' and `act`'s. (The web console registers its own here,
    // with its redirect URI under https://127.0.0.1:${port}.)
    const consoleClient: DevOidcClient = {
      clientId: DEMO_CONSOLE_CLIENT_ID,
      clientSecret: randomBytes(24).toString('base64url'),
      redirectUris: [`https://127.0.0.1:${port}/console/callback`],
    };
    const clients: DevOidcClient[] = [DEMO_CLI_CLIENT, consoleClient];
    const oidc: DevOidc = await startDevOidc({ port: options.oidcPort, personas: devPersonas(DEMO_PERSONAS, sims), clients, clock });
    stops.push(() => oidc.stop());

    const policy = path.join(dir, 'policies', 'acme.yaml');
    if (!existsSync(policy)) copyFileSync(path.join(packageRoot(), 'examples', 'policies', 'acme.yaml'), policy);
    const configFile = path.join(dir, 'warden.yaml');
    writeFileSync(
      configFile,
      demoConfig({
        sims,
        port,
        tls,
        oidc: { issuer: oidc.issuer, audience: DEMO_CLI_CLIENT.clientId },
        console: { clientId: DEMO_CONSOLE_CLIENT_ID },
        policy: 'policies/acme.yaml',
      }),
    );
    const config = loadConfig({
      path: configFile,
      env: { ...process.env, ...sims.env, WARDEN_DEMO_CONSOLE_SECRET: consoleClient.clientSecret! },
      connectors: sims.connectors,
      resolveSecrets: true,
    });
    const server = await options.startWarden({ config, connectors: sims.connectors, clock, log: createLogger(config.logLevel, process.stderr) });
    stops.push(() => server.close());
    await sims.connect({ url: server.url, config });
    const apiKey = (
      await createApiKey(server.store, {
        tenant: DEMO_TENANT,
        name: 'warden demo',
        scopes: ['alerts:read', 'requests:read'],
        actor: { type: 'cli', id: 'warden demo' },
        now: clock(),
      })
    ).key;

    let info: DemoInfo;
    const control = await serveControl(
      {
        info: () => info,
        act: (req) => sims.act(req),
        state: (handle) => sims.state(handle),
        async audit(after): Promise<AuditEntry[]> {
          return (await server.store.readAudit(DEMO_TENANT, after, 5_000)).map((row) => {
            const r = JSON.parse(row.record) as Omit<AuditEntry, 'seq'>;
            return { seq: row.seq, at: row.at, type: row.type, actor: r.actor, subject: r.subject, data: r.data };
          });
        },
      },
      options.controlPort,
    );
    stops.push(() => control.close());
    info = {
      tenant: DEMO_TENANT,
      configFile,
      warden: server.url,
      caFile: tls.caFile,
      control: control.url,
      oidc: { issuer: oidc.issuer, clientId: DEMO_CLI_CLIENT.clientId, redirectUri: DEMO_CLI_CLIENT.redirectUris[0]! },
      okta: sims.okta.url,
      entra: sims.entra.url,
      servicenow: sims.servicenow.url,
      jira: sims.jira.url,
      apiKey,
      personas: DEMO_PERSONAS.map((p) => ({
        handle: p.handle,
        login: p.login,
        name: `${p.firstName} ${p.lastName}`,
        part: p.part,
        groups: [...p.groups],
        oktaId: sims.ids.okta[p.handle]!,
        entraId: sims.ids.entra[p.handle]!,
      })),
    };
    const stateFile = path.join(dir, DEMO_STATE_FILE);
    writeFileSync(stateFile, JSON.stringify({ control: control.url, pid: process.pid }, null, 2));
    stops.unshift(async () => rmSync(stateFile, { force: true }));
    return { info, server, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** What `warden demo` prints: where everything is and who can sign in. */
export function demoBanner(info: DemoInfo, dir: string): string {
  const cmd = wardenCommand();
  const width = Math.max(...info.personas.map((p) => p.login.length));
  return [
    `Warden demo (state in ${dir})`,
    '',
    `  Warden           ${info.warden}   (HTTPS, throw-away certificate ${path.join(dir, 'tls-cert.pem')})`,
    `  Console          ${info.warden}/console/   (sign in as a persona; your browser will ask you to accept the throw-away certificate)`,
    `  OpenAPI          ${info.warden}/openapi.json`,
    `  Sign-in (OIDC)   ${info.oidc.issuer}   (development provider: pick a persona; any password, e.g. "${DEMO_PASSWORD}")`,
    `  Okta simulator   ${info.okta}`,
    `  Entra simulator  ${info.entra}   (Microsoft Graph and the Office 365 Management Activity API)`,
    `  ServiceNow       ${info.servicenow}`,
    `  Jira             ${info.jira}`,
    `  Demo control     ${info.control}`,
    '',
    'Personas (the same login in Okta, Entra, ServiceNow, Jira and the sign-in page; agents use the',
    `password "${DEMO_PASSWORD}" at ServiceNow and Jira):`,
    ...info.personas.map((p) => `  ${p.handle.padEnd(6)} ${p.login.padEnd(width)}  ${p.part}`),
    '',
    'Try:',
    `  ${cmd} demo --play attack        a help-desk takeover, narrated, and what Warden does`,
    `  ${cmd} demo --play accountable   request, proofing, approval, reset: allowed`,
    `  ${cmd} demo act okta reset-factors dana --as kim`,
    '  (docs/demo.md has the rest.) Ctrl-C stops everything.',
    '',
    READY_LINE,
    '',
  ].join('\n');
}
