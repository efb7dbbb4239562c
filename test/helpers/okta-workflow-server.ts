import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
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
import { createLogger } from '../../src/runtime/logger.js';
import { startServer, type RunningServer } from '../../src/app/start-server.js';
import { startTestIssuer, type TestIssuer } from './oidc-issuer.js';
import { EXAMPLE_POLICY_FILE } from './policies.js';
import { seedDataDir } from './pglite-template.js';

const SNOW = 'https://acme.service-now.com';
const HOOK_SECRET = 'okta-hook-secret-0123456789abcdef';
const DAY_MS = 86_400_000;

/** The people of the story, as users of the simulated Okta org. */
const PEOPLE = {
  sam: { login: 'sam.agent@acme.example', firstName: 'Sam', lastName: 'Agent', roles: ['HELP_DESK_ADMIN'], groups: ['Everyone', 'Service Desk'] },
  tom: { login: 'tom.agent@acme.example', firstName: 'Tom', lastName: 'Agent', roles: ['HELP_DESK_ADMIN'], groups: ['Everyone', 'Service Desk'] },
  ann: { login: 'ann.approver@acme.example', firstName: 'Ann', lastName: 'Approver', groups: ['Everyone', 'iam-approvers'] },
  bob: { login: 'bob.approver@acme.example', firstName: 'Bob', lastName: 'Approver', groups: ['Everyone', 'iam-approvers'] },
  omar: { login: 'omar.haddad@acme.example', firstName: 'Omar', lastName: 'Haddad', groups: ['Everyone', 'Finance Managers'] },
  dana: { login: 'dana.lee@acme.example', firstName: 'Dana', lastName: 'Lee', groups: ['Everyone', 'Finance'] },
  eve: { login: 'eve.staff@acme.example', firstName: 'Eve', lastName: 'Staff', groups: ['Everyone'] },
  frank: { login: 'frank.staff@acme.example', firstName: 'Frank', lastName: 'Staff', groups: ['Everyone'] },
  gina: { login: 'gina.staff@acme.example', firstName: 'Gina', lastName: 'Staff', groups: ['Everyone'] },
  hal: { login: 'hal.newphone@acme.example', firstName: 'Hal', lastName: 'Newphone', groups: ['Everyone'] },
  cole: { login: 'cole.contractor@acme.example', firstName: 'Cole', lastName: 'Contractor', groups: ['Everyone'], employeeType: 'contractor', manager: 'omar' },
} as const;
export type OktaPerson = keyof typeof PEOPLE;

export interface OktaWorkflowServer {
  sim: OktaSimulator;
  server: RunningServer;
  issuer: TestIssuer;
  clock: { now: Date };
  /** The story's people as Okta users (ids `00u…` from the simulator). */
  people: Record<OktaPerson, SimUser>;
  /** A signed-in person's token from the local issuer: `sub` is their Okta user id, groups as in Okta, recent MFA. */
  tokenFor(person: OktaPerson): Promise<string>;
  call(method: string, path: string, options?: { token?: string; body?: unknown }): Promise<{ status: number; body: any }>;
  /** The next ServiceNow read of `number` answers an open incident for `target`, opened by `executor`, assigned to the Service Desk. */
  ticket(number: string, target: OktaPerson, executor: OktaPerson): void;
  advance(ms: number): void;
  audit(): Promise<Array<{ type: string; actor: Record<string, string>; subject: Record<string, string>; data: Record<string, any> }>>;
  /**
   * Lets Okta's event hook deliveries land and runs Warden's workers until
   * nothing is left: inbox → decisions → actions on Okta → the events Okta
   * logs for them → inbox …
   */
  settle(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The real server with the real Okta connector (okta-sdk-nodejs against the
 * Okta simulator, whose event hook Warden registers and Okta verifies), the
 * real ITSM connector (ServiceNow answered by nock on the vendor's shapes), a
 * local OIDC issuer for the people, the example policy, and one fake clock
 * shared by Warden, the simulator and the issuer. Workers are driven by hand
 * (`settle`), the System Log poller is off: the event hook delivers. With
 * `workerIdleMs` the server runs its own workers instead, idling (and
 * sweeping, whose transactions wake the outbox too) that rarely.
 */
export async function startOktaWorkflowServer(
  options: {
    workerIdleMs?: number;
    /** Extra YAML at the tenant's level (indented 4 spaces), e.g. a `notifications` section. */
    tenantYaml?: string;
    /** Extra tenant secrets: name → value (read from the environment). */
    secrets?: Record<string, string>;
  } = {},
): Promise<OktaWorkflowServer> {
  nock.disableNetConnect();
  nock.enableNetConnect((host) => host.startsWith('127.0.0.1:') || host === 'localhost:80');
  const clock = { now: new Date(Math.floor(Date.now() / 1000) * 1000) };
  const sim = await new OktaSimulator({ clock: () => clock.now }).start();
  sim.addGroup('Warden Hold');
  const people = {} as Record<OktaPerson, SimUser>;
  for (const [name, p] of Object.entries(PEOPLE) as Array<[OktaPerson, (typeof PEOPLE)[OktaPerson]]>) {
    const profile: Record<string, string> & { login: string } = { login: p.login, firstName: p.firstName, lastName: p.lastName };
    if ('employeeType' in p) profile.employeeType = p.employeeType;
    if ('manager' in p) profile.managerId = people[p.manager].id;
    people[name] = sim.addUser(profile, { roles: 'roles' in p ? [...p.roles] : [], groups: [...p.groups] });
    // Okta Verify enrolled a month ago; Hal replaced his phone two days ago.
    sim.addFactor(people[name].id, 'push', new Date(clock.now.getTime() - (name === 'hal' ? 2 : 30) * DAY_MS));
  }
  const issuer = await startTestIssuer();

  const dir = mkdtempSync(path.join(tmpdir(), 'warden-okta-workflow-'));
  mkdirSync(path.join(dir, 'policies'));
  copyFileSync(EXAMPLE_POLICY_FILE, path.join(dir, 'policies', 'acme.yaml'));
  const configFile = path.join(dir, 'warden.yaml');
  writeFileSync(
    configFile,
    `listen: { host: 127.0.0.1, port: 0 }
dataDir: data
durability: relaxed
log: { level: silent }
tenants:
  - id: acme
    policy: policies/acme.yaml
    secrets:
      oktaToken: { env: OKTA_TOKEN }
      oktaHook: { env: OKTA_HOOK_SECRET }
      snowPassword: { env: SNOW_PASSWORD }
${Object.keys(options.secrets ?? {})
  .map((name) => `      ${name}: { env: EXTRA_${name.toUpperCase()} }\n`)
  .join('')}    oidc:
      issuer: ${issuer.issuer}
      audience: ${issuer.audience}
      roles: { helpdesk: [Service Desk], approver: [iam-approvers], admin: [warden-admins], auditor: [security-audit] }
      stepUp: { maxAuthAge: 10m }
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
${options.tenantYaml ?? ''}`,
  );
  const connectors = [oktaConnector(), itsmConnector()];
  seedDataDir(path.join(dir, 'data'));
  const config = loadConfig({
    path: configFile,
    env: {
      OKTA_TOKEN: sim.token,
      OKTA_HOOK_SECRET: HOOK_SECRET,
      SNOW_PASSWORD: 'snow-pw',
      ...Object.fromEntries(Object.entries(options.secrets ?? {}).map(([name, value]) => [`EXTRA_${name.toUpperCase()}`, value])),
    },
    connectors,
    resolveSecrets: true,
  });
  const server = await startServer({
    config,
    connectors,
    log: createLogger('silent'),
    watchPolicies: false,
    workers: options.workerIdleMs !== undefined,
    ...(options.workerIdleMs !== undefined ? { workerIdleMs: options.workerIdleMs, sweepMs: options.workerIdleMs } : {}),
    clock: () => clock.now,
  });
  // What `warden okta hooks register` does: the hook, then Okta's verification call to Warden.
  const hook = await registerEventHook(createOktaTenants().get(config, 'acme'), server.url);
  if (hook.verificationStatus !== 'VERIFIED') throw new Error(`the simulator could not verify Warden's event hook: ${hook.error ?? hook.verificationStatus}`);

  const username = (person: OktaPerson) => PEOPLE[person].login.split('@')[0]!;
  return {
    sim,
    server,
    issuer,
    clock,
    people,
    tokenFor(person) {
      const p = PEOPLE[person];
      return issuer.token(
        { sub: people[person].id, preferred_username: p.login, email: p.login, name: `${p.firstName} ${p.lastName}`, groups: [...p.groups] },
        { now: clock.now },
      );
    },
    async call(method, route, options = {}) {
      const res = await fetch(`${server.url}${route}`, {
        method,
        headers: {
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
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
    async audit() {
      return (await server.store.readAudit('acme', 0, 10_000)).map((r) => JSON.parse(r.record));
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
      await issuer.close();
      nock.cleanAll();
      nock.enableNetConnect();
    },
  };
}
