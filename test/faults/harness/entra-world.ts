import { httpsFront } from '../../helpers/https-front.js';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { graphCallPermissions } from '../../../connectors/entra/graph-calls.js';
import { startGraphSimulator, type GraphSimulator } from '../../../connectors/entra/simulator/graph-simulator.js';
import { throwawayCertificate } from '../../../connectors/entra/simulator/self-signed-certificate.js';
import type { SimGroup, SimUser } from '../../../connectors/entra/simulator/simulated-directory.js';
import type { FaultStore } from './fault-store.js';
import { TENANT } from './okta-world.js';
import type { SuiteClock } from './suite-clock.js';
import { freePort, runWardenCli, WardenProcess } from './warden-process.js';

/**
 * An Entra tenant (the Graph simulator, on the suite clock, over HTTPS with
 * a throw-away certificate) in the suite's process, and the warden.yaml of a
 * tenant that enforces the example policy on it. The spawned Warden trusts
 * the certificate through `NODE_EXTRA_CA_CERTS` (`env()`). Subscriptions are
 * off unless asked for; with `subscription`, Graph's notifications reach
 * Warden through an HTTPS front (`front`, pointed at a replica with
 * `target()`), which the suite's process trusts because the runner started
 * it with the suite's certificate (`WARDEN_FAULTS_TLS`, run.ts).
 */
export class EntraWorld {
  /** When each simulator request was answered, on the suite clock (the simulator records method, path and status). */
  readonly answeredAt = new WeakMap<object, number>();
  admin!: SimUser;
  holdGroup!: SimGroup;
  configFile = '';

  private constructor(
    readonly sim: GraphSimulator,
    readonly store: FaultStore,
    private readonly clock: SuiteClock,
    readonly clientId: string,
    private readonly secret: string,
    private readonly caFile: string,
  ) {}

  /** The HTTPS front Graph posts notifications to (with `subscription`). */
  front: { url: string; target(url: string): void; close(): Promise<void> } | undefined;
  readonly clientState = randomBytes(24).toString('base64url');

  static async create(
    store: FaultStore,
    clock: SuiteClock,
    options: { outboxAttempts?: number; entraYaml?: string; subscription?: boolean } = {},
  ): Promise<EntraWorld> {
    const suiteTls = process.env.WARDEN_FAULTS_TLS;
    if (options.subscription && !suiteTls)
      throw new Error('an Entra subscription scenario needs the runner to trust the suite certificate: run it through test/faults/run.ts');
    const tls = suiteTls
      ? { certPem: readFileSync(path.join(suiteTls, 'cert.pem'), 'utf8'), keyPem: readFileSync(path.join(suiteTls, 'key.pem'), 'utf8') }
      : throwawayCertificate({ days: 2 });
    const caFile = path.join(store.dir, 'graph-sim-ca.pem');
    writeFileSync(caFile, tls.certPem);
    const tenantId = randomUUID();
    const clientId = randomUUID();
    const secret = randomBytes(24).toString('base64url');
    const sim = await startGraphSimulator({ tls: { cert: tls.certPem, key: tls.keyPem }, tenantId, clock: clock.now });
    const world = new EntraWorld(sim, store, clock, clientId, secret, caFile);
    const push = sim.requests.push.bind(sim.requests);
    sim.requests.push = (...items) => {
      for (const item of items) world.answeredAt.set(item, clock.now().getTime());
      return push(...items);
    };
    const perms = graphCallPermissions();
    sim.directory.addApp({
      appId: clientId,
      displayName: 'Warden',
      secrets: [secret],
      permissions: [...perms.microsoftGraph, ...perms.office365ManagementApis],
    });
    world.admin = sim.directory.addUser({ userPrincipalName: 'pat.admin@contoso.example', displayName: 'Pat Admin' });
    sim.directory.assignRole(world.admin.id, 'Privileged Authentication Administrator');
    world.holdGroup = sim.directory.addGroup({ displayName: 'Warden hold' });
    if (options.subscription) world.front = await httpsFront({ cert: tls.certPem, key: tls.keyPem });
    const subscription = world.front
      ? `      subscription:\n        notificationUrl: ${world.front.url}/hooks/entra/${TENANT}/notifications\n        clientState: { env: ENTRA_CLIENT_STATE }\n        checkIntervalSeconds: 5\n`
      : `      subscription: { enabled: false }\n`;
    world.configFile = store.writeConfig(
      [
        {
          id: TENANT,
          yaml:
            `    entra:\n      tenantId: ${tenantId}\n      clientId: ${clientId}\n      credential: { secret: { env: ENTRA_CLIENT_SECRET } }\n` +
            `      authorityHost: ${sim.url}\n      graphBaseUrl: ${sim.url}\n      holdGroup: { id: ${world.holdGroup.id} }\n` +
            `${subscription}${options.entraYaml ?? ''}`,
        },
      ],
      'warden.yaml',
      options.outboxAttempts ? `retries: { outbox: ${options.outboxAttempts} }\n` : '',
    );
    return world;
  }

  /** A Global Administrator (a phone registered for one by an administrator without a request is denied). */
  globalAdmin(i: number): SimUser {
    const u = this.sim.directory.addUser({ userPrincipalName: `gina${i}.global@contoso.example`, displayName: `Gina${i} Global` });
    this.sim.directory.assignRole(u.id, 'Global Administrator');
    return u;
  }

  /** Environment of a Warden process of this world, starting now on the suite clock. */
  env(): NodeJS.ProcessEnv {
    return {
      ENTRA_CLIENT_SECRET: this.secret,
      ENTRA_CLIENT_STATE: this.clientState,
      NODE_EXTRA_CA_CERTS: this.caFile,
      ...this.store.env(),
      ...this.clock.env(),
    };
  }

  /** A `warden serve` of this world on a free port (not started). */
  async warden(name: string): Promise<WardenProcess> {
    return new WardenProcess(name, this.configFile, await freePort(), {}, path.join(this.store.dir, `${name}.log`));
  }

  /** A `warden` command of this world run to completion. */
  cli(args: string[], logName = 'cli'): Promise<{ code: number | null; stdout: string; out: string }> {
    return runWardenCli([...args, '--config', this.configFile], { env: this.env(), logFile: path.join(this.store.dir, `${logName}.log`), timeoutMs: 120_000 });
  }

  /** Directory-audit polls Warden made (GET auditLogs/directoryAudits). */
  auditPolls(): number {
    return this.sim.requests.filter((r) => r.appId === this.clientId && r.method === 'GET' && r.path.endsWith('/auditLogs/directoryAudits')).length;
  }

  async close(): Promise<void> {
    await this.front?.close();
    await this.sim.close();
  }
}
