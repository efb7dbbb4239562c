import { mkdirSync, mkdtempSync, copyFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import nock from 'nock';
import { itsmConnector } from '../../connectors/itsm/index.js';
import { incidentWithPeople, tableList } from '../../connectors/itsm/test/itsm-fixtures.js';
import { oktaConnector } from '../../connectors/okta/index.js';
import { createOktaTenants } from '../../connectors/okta/okta-tenant.js';
import { registerEventHook } from '../../connectors/okta/provision.js';
import { OktaSimulator, type SimUser } from '../../connectors/okta/simulator/okta-simulator.js';
import { loadConfig } from '../../src/config/load-config.js';
import { startDevOidc, type DevOidc } from '../../src/demo/dev-oidc.js';
import { createLogger } from '../../src/runtime/logger.js';
import { startServer, type RunningServer } from '../../src/app/start-server.js';
import { seedDataDir } from '../helpers/pglite-template.js';
import { EXAMPLE_POLICY_FILE } from '../helpers/policies.js';

const SNOW = 'https://acme.service-now.com';
const DAY_MS = 86_400_000;

/** The people of the console tests, as users of the simulated Okta org and personas of the development IdP. */
export const PEOPLE = {
  sam: { login: 'sam.agent@acme.example', firstName: 'Sam', lastName: 'Agent', groups: ['Everyone', 'Service Desk'] },
  ann: { login: 'ann.approver@acme.example', firstName: 'Ann', lastName: 'Approver', groups: ['Everyone', 'iam-approvers'] },
  olga: { login: 'olga.lead@acme.example', firstName: 'Olga', lastName: 'Lead', groups: ['Everyone', 'Service Desk', 'iam-approvers'] },
  dana: { login: 'dana.lee@acme.example', firstName: 'Dana', lastName: 'Lee', groups: ['Everyone', 'Finance'] },
  frank: { login: 'frank.staff@acme.example', firstName: 'Frank', lastName: 'Staff', groups: ['Everyone'] },
  adam: { login: 'adam.admin@acme.example', firstName: 'Adam', lastName: 'Admin', groups: ['Everyone', 'warden-admins'] },
  aude: { login: 'aude.auditor@acme.example', firstName: 'Aude', lastName: 'Auditor', groups: ['Everyone', 'security-audit'] },
} as const;
export type Person = keyof typeof PEOPLE;

export interface ConsoleWorld {
  url: string;
  sim: OktaSimulator;
  server: RunningServer;
  idp: DevOidc;
  clock: { now: Date };
  people: Record<Person, SimUser>;
  /** The next ServiceNow read of `number` answers an open incident for `target`, opened by `executor`. */
  ticket(number: string, target: Person, executor: Person): void;
  advance(ms: number): void;
  /** Runs Warden's workers and the simulator's hook deliveries until nothing is left. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/**
 * Warden with the console, the Okta simulator (event hook registered and
 * verified), ServiceNow answered by nock on the vendor's shapes, and the
 * development IdP with one persona per person; one clock for all of them.
 */
export async function startConsoleWorld(): Promise<ConsoleWorld> {
  nock.disableNetConnect();
  nock.enableNetConnect((host) => host.startsWith('127.0.0.1:'));
  const clock = { now: new Date(Math.floor(Date.now() / 1000) * 1000) };
  const sim = await new OktaSimulator({ clock: () => clock.now }).start();
  sim.addGroup('Warden Hold');
  const people = {} as Record<Person, SimUser>;
  for (const [name, p] of Object.entries(PEOPLE) as Array<[Person, (typeof PEOPLE)[Person]]>) {
    people[name] = sim.addUser(
      { login: p.login, firstName: p.firstName, lastName: p.lastName },
      { roles: (p.groups as readonly string[]).includes('Service Desk') ? ['HELP_DESK_ADMIN'] : [], groups: [...p.groups] },
    );
    sim.addFactor(people[name].id, 'push', new Date(clock.now.getTime() - 30 * DAY_MS));
  }
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const idp = await startDevOidc({
    personas: (Object.keys(PEOPLE) as Person[]).map((name) => ({
      login: PEOPLE[name].login,
      sub: people[name].id,
      name: `${PEOPLE[name].firstName} ${PEOPLE[name].lastName}`,
      email: PEOPLE[name].login,
      groups: [...PEOPLE[name].groups],
    })),
    clients: [{ clientId: 'warden-console', clientSecret: 'console-client-secret', redirectUris: [`${publicUrl}/console/callback`] }],
    clock: () => clock.now,
  });

  const dir = mkdtempSync(path.join(tmpdir(), 'warden-console-'));
  mkdirSync(path.join(dir, 'policies'));
  copyFileSync(EXAMPLE_POLICY_FILE, path.join(dir, 'policies', 'acme.yaml'));
  const configFile = path.join(dir, 'warden.yaml');
  writeFileSync(
    configFile,
    `listen: { host: 127.0.0.1, port: ${port} }
dataDir: data
durability: relaxed
log: { level: silent }
console: { sessionIdle: 30m, sessionAbsolute: 8h }
tenants:
  - id: acme
    policy: policies/acme.yaml
    secrets:
      oktaToken: { env: OKTA_TOKEN }
      oktaHook: { env: OKTA_HOOK_SECRET }
      snowPassword: { env: SNOW_PASSWORD }
      consoleSecret: { env: CONSOLE_SECRET }
    oidc:
      issuer: ${idp.issuer}
      audience: warden-console
      roles: { helpdesk: [Service Desk], approver: [iam-approvers], admin: [warden-admins], auditor: [security-audit] }
      stepUp: { maxAuthAge: 10m }
      console: { clientId: warden-console, clientSecret: consoleSecret, publicUrl: '${publicUrl}' }
    workflow:
      brokerIdentities: ['${sim.tokenOwner.id}']
    itsm:
      servicenow: { instanceUrl: '${SNOW}', auth: { type: basic, username: warden, passwordSecret: snowPassword } }
    okta:
      orgUrl: ${sim.url}
      simulator: true
      auth: { type: api_token, token: oktaToken }
      eventHook: { secret: oktaHook }
      poller: { enabled: false }
`,
  );
  const connectors = [oktaConnector(), itsmConnector()];
  seedDataDir(path.join(dir, 'data'));
  const config = loadConfig({
    path: configFile,
    env: { OKTA_TOKEN: sim.token, OKTA_HOOK_SECRET: 'okta-hook-secret-0123456789abcdef', SNOW_PASSWORD: 'snow-pw', CONSOLE_SECRET: 'console-client-secret' },
    connectors,
    resolveSecrets: true,
  });
  const server = await startServer({ config, connectors, log: createLogger('silent'), watchPolicies: false, workers: false, clock: () => clock.now });
  const hook = await registerEventHook(createOktaTenants().get(config, 'acme'), server.url);
  if (hook.verificationStatus !== 'VERIFIED') throw new Error(`the simulator could not verify Warden's event hook: ${hook.error ?? hook.verificationStatus}`);

  const username = (p: Person) => PEOPLE[p].login.split('@')[0]!;
  return {
    url: server.url,
    sim,
    server,
    idp,
    clock,
    people,
    ticket(number, target, executor) {
      const incident = incidentWithPeople(
        { caller: [PEOPLE[target].login, username(target)], openedBy: [PEOPLE[executor].login, username(executor)], group: 'Service Desk' },
        { number },
      );
      nock(SNOW)
        .get('/api/now/table/incident')
        .query((q) => q.sysparm_query === `number=${number}`)
        .reply(200, tableList(incident));
    },
    advance(ms) {
      clock.now = new Date(clock.now.getTime() + ms);
    },
    async settle() {
      for (let round = 0; round < 20; round++) {
        await sim.settled();
        const done = (await server.inbox.runOnce()) + (await server.outbox.runOnce());
        if (done === 0) return;
      }
      throw new Error('Warden and the simulator did not settle in 20 rounds');
    },
    async close() {
      await server.close();
      await sim.close();
      await idp.stop();
      nock.cleanAll();
      nock.enableNetConnect();
    },
  };
}
