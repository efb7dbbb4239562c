import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import nock from 'nock';
import { itsmConnector } from '../../connectors/itsm/index.js';
import { loadConfig } from '../../src/config/load-config.js';
import { createApiKey, type ApiScope } from '../../src/access/api-keys.js';
import { createLogger } from '../../src/runtime/logger.js';
import { startServer, type RunningServer } from '../../src/app/start-server.js';
import { incidentWithPeople, tableList } from '../../connectors/itsm/test/itsm-fixtures.js';
import { fakeOktaConnector, user, type FakeOkta } from './fake-okta-connector.js';
import { startTestIssuer, type TestIssuer } from './oidc-issuer.js';
import { webhookHeaders } from '../../src/notify/standard-webhooks.js';
import { runCli } from '../../src/app/cli-main.js';
import type { Connector } from '../../src/connector/contract.js';
import { tempConfigDir } from './temp-config.js';

export const SNOW = 'https://acme.service-now.com';
export const SOAR_SECRET = 'whsec_' + Buffer.alloc(32, 3).toString('base64');
export const IDV_SECRET = 'whsec_' + Buffer.alloc(32, 5).toString('base64');

/** The people of the story (Okta-like ids, logins, groups). */
export const PEOPLE = {
  dana: {
    id: '00u1dana',
    login: 'dana.lee@acme.example',
    email: 'dana.lee@acme.example',
    displayName: 'Dana Lee',
    groups: ['Everyone', 'Finance'],
    managerId: '00u1omar',
  },
  omar: {
    id: '00u1omar',
    login: 'omar.haddad@acme.example',
    email: 'omar.haddad@acme.example',
    displayName: 'Omar Haddad',
    groups: ['Everyone', 'Finance Managers'],
  },
  sam: { id: '00u1sam', login: 'sam.agent@acme.example', email: 'sam.agent@acme.example', displayName: 'Sam Agent', groups: ['Everyone', 'Service Desk'] },
  tom: { id: '00u1tom', login: 'tom.agent@acme.example', email: 'tom.agent@acme.example', displayName: 'Tom Agent', groups: ['Everyone', 'Service Desk'] },
  ann: {
    id: '00u1ann',
    login: 'ann.approver@acme.example',
    email: 'ann.approver@acme.example',
    displayName: 'Ann Approver',
    groups: ['Everyone', 'iam-approvers'],
  },
  bob: {
    id: '00u1bob',
    login: 'bob.approver@acme.example',
    email: 'bob.approver@acme.example',
    displayName: 'Bob Approver',
    groups: ['Everyone', 'iam-approvers'],
  },
  eve: { id: '00u1eve', login: 'eve.staff@acme.example', email: 'eve.staff@acme.example', displayName: 'Eve Staff', groups: ['Everyone'] },
  priya: {
    id: '00u1priya',
    login: 'priya.admin@acme.example',
    email: 'priya.admin@acme.example',
    displayName: 'Priya Admin',
    groups: ['Everyone', 'warden-admins'],
  },
  aude: {
    id: '00u1aude',
    login: 'aude.audit@acme.example',
    email: 'aude.audit@acme.example',
    displayName: 'Aude Auditor',
    groups: ['Everyone', 'security-audit'],
  },
  cara: { id: '00u1cara', login: 'cara.board@acme.example', email: 'cara.board@acme.example', displayName: 'Cara Board', groups: ['Everyone', 'change-board'] },
  pat: {
    id: '00u1pat',
    login: 'pat.ops@acme.example',
    email: 'pat.ops@acme.example',
    displayName: 'Pat Ops',
    groups: ['Everyone', 'Platform'],
    adminRoles: ['SUPER_ADMIN'],
  },
} as const;
export type Person = keyof typeof PEOPLE;

export interface WorkflowServer {
  server: RunningServer;
  okta: FakeOkta;
  issuer: TestIssuer;
  clock: { now: Date };
  configFile: string;
  /** The connectors the server runs (the CLI needs them to read the config). */
  connectors: Connector[];
  /** Runs `warden --config <this server's config> …` in-process (inside the server through its admin socket). */
  cli(...args: string[]): Promise<{ code: number; out: string; err: string }>;
  /** Events the SOAR endpoint received, as sent. */
  webhooks: Array<{ headers: http.IncomingHttpHeaders; body: string }>;
  /** A signed-in person's token (their groups from the directory; claims override). */
  tokenFor(person: Person, claims?: Record<string, unknown>, options?: { now?: Date; expiresIn?: number; key?: 'published' | 'unpublished' }): Promise<string>;
  apiKey(scopes: ApiScope[]): Promise<string>;
  call(
    method: string,
    path: string,
    options?: { token?: string; body?: unknown; headers?: Record<string, string>; rawBody?: string },
  ): Promise<{ status: number; body: any; headers: Headers }>;
  /** The next ServiceNow read answers this incident. */
  ticket(number: string, people?: Parameters<typeof incidentWithPeople>[0], patch?: Record<string, unknown>): void;
  advance(ms: number): void;
  audit(): Promise<Array<{ type: string; subject: Record<string, string>; data: Record<string, any> }>>;
  close(): Promise<void>;
}

const DEFAULT_PEOPLE = {
  caller: ['dana.lee@acme.example', 'dana.lee'] as [string, string],
  openedBy: ['sam.agent@acme.example', 'sam.agent'] as [string, string],
  group: 'Service Desk',
};

/**
 * The real server (startServer) with the example policy, a fake Okta-like
 * connector, the real ITSM connector (ServiceNow answered by nock), a local
 * OIDC issuer, a local SOAR webhook receiver and a fake clock. Workers are
 * driven by hand (runOnce) so each step can be checked.
 */
export async function startWorkflowServer(
  options: { start?: Date; workflow?: string; brokerIdentities?: string[]; secrets?: Record<string, string> } = {},
): Promise<WorkflowServer> {
  nock.disableNetConnect();
  // Our own servers: HTTP on 127.0.0.1, and the admin socket (a Unix socket nock sees as localhost:80).
  nock.enableNetConnect((host) => host.startsWith('127.0.0.1:') || host === 'localhost:80');
  const clock = { now: options.start ?? new Date('2026-03-02T09:00:00.000Z') };
  const issuer = await startTestIssuer();
  const webhooks: WorkflowServer['webhooks'] = [];
  const soar = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      webhooks.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => soar.listen(0, '127.0.0.1', resolve));
  const soarUrl = `http://127.0.0.1:${(soar.address() as AddressInfo).port}/warden`;

  const { configFile } = tempConfigDir();
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
      snowPassword: { env: SNOW_PASSWORD }
      soarSecret: { env: SOAR_SECRET }
      idvSecret: { env: IDV_SECRET }
${Object.keys(options.secrets ?? {})
  .map((name) => `      ${name}: { env: TEST_SECRET_${name.toUpperCase()} }\n`)
  .join('')}    oidc:
      issuer: ${issuer.issuer}
      audience: ${issuer.audience}
      roles: { helpdesk: [Service Desk], approver: [iam-approvers, change-board], admin: [warden-admins], auditor: [security-audit] }
      stepUp: { maxAuthAge: 10m }
    workflow:
      brokerIdentities: ${JSON.stringify(options.brokerIdentities ?? ['0oa-warden-broker'])}
      verifiers: [{ name: persona, secret: idvSecret, level: idv }]
${options.workflow ?? ''}
    webhooks:
      - { name: soar, url: '${soarUrl}', secret: soarSecret }
    itsm:
      servicenow: { instanceUrl: '${SNOW}', auth: { type: basic, username: warden, passwordSecret: snowPassword } }
    fakeokta: { org: acme }
`,
  );
  const okta = fakeOktaConnector({ clock: () => clock.now });
  for (const p of Object.values(PEOPLE)) {
    okta.users.set(p.id, user({ ...p, groups: [...p.groups], adminRoles: 'adminRoles' in p ? [...p.adminRoles] : [] }));
    okta.factors.set(p.id, { id: `opf-${p.id}`, type: 'push', enrolledAt: '2025-01-10T08:00:00.000Z', lastUpdated: '2025-06-01T08:00:00.000Z' });
  }
  const connectors = [okta.connector, itsmConnector()];
  const config = loadConfig({
    path: configFile,
    env: {
      SNOW_PASSWORD: 'snow-pw',
      SOAR_SECRET,
      IDV_SECRET,
      ...Object.fromEntries(Object.entries(options.secrets ?? {}).map(([k, v]) => [`TEST_SECRET_${k.toUpperCase()}`, v])),
    },
    connectors,
    resolveSecrets: true,
  });
  const server = await startServer({ config, connectors, log: createLogger('silent'), watchPolicies: false, workers: false, clock: () => clock.now });

  const ws: WorkflowServer = {
    server,
    okta,
    issuer,
    clock,
    configFile,
    connectors,
    async cli(...args) {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runCli(['--config', configFile, ...args], { out: (t) => void out.push(t), err: (t) => void err.push(t) }, connectors);
      return { code, out: out.join(''), err: err.join('') };
    },
    webhooks,
    tokenFor(person, claims = {}, opts = {}) {
      const p = PEOPLE[person];
      return issuer.token(
        { sub: p.id, preferred_username: p.login, email: p.email, name: p.displayName, groups: [...p.groups], ...claims },
        { now: clock.now, ...opts },
      );
    },
    async apiKey(scopes) {
      return (await createApiKey(server.store, { tenant: 'acme', name: 'servicenow-flow', scopes, actor: { type: 'cli', id: 'test' } })).key;
    },
    async call(method, path, opts = {}) {
      const res = await fetch(`${server.url}${path}`, {
        method,
        headers: {
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
          ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...opts.headers,
        },
        ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : opts.rawBody !== undefined ? { body: opts.rawBody } : {}),
      });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON (CSV, metrics)
      }
      return { status: res.status, body, headers: res.headers };
    },
    ticket(number, people = DEFAULT_PEOPLE, patch = {}) {
      nock(SNOW)
        .get('/api/now/table/incident')
        .query((q) => q.sysparm_query === `number=${number}`)
        .reply(200, tableList(incidentWithPeople(people, { number, ...patch })));
    },
    advance(ms) {
      clock.now = new Date(clock.now.getTime() + ms);
    },
    async audit() {
      return (await server.store.readAudit('acme', 0, 10_000)).map((r) => JSON.parse(r.record));
    },
    async close() {
      await server.close();
      await issuer.close();
      soar.close();
      soar.closeAllConnections();
      nock.cleanAll();
      // A file that shares its process with the next one (vitest.config.ts) leaves outgoing connections as it found them.
      nock.enableNetConnect();
    },
  };
  return ws;
}

/** Posts identity-verification evidence as the `persona` verifier does: signed with its Standard Webhooks secret. */
export async function postVerifierEvidence(w: WorkflowServer, body: unknown, options: { messageId?: string; secret?: string; timestamp?: number } = {}) {
  const raw = JSON.stringify(body);
  const id = options.messageId ?? `msg_${Math.random().toString(36).slice(2)}`;
  const ts = options.timestamp ?? Math.floor(w.clock.now.getTime() / 1000);
  return w.call('POST', '/hooks/verifiers/acme/persona', {
    headers: { 'content-type': 'application/json', ...webhookHeaders(options.secret ?? IDV_SECRET, id, ts, raw) },
    body: undefined,
    rawBody: raw,
  });
}

/** A help-desk request body for the story: Sam resets Dana's factors on her call, ServiceNow ticket cited. */
export function resetRequest(overrides: Record<string, unknown> = {}) {
  return {
    tenant: 'acme',
    kind: 'factor.reset_all',
    target: { id: PEOPLE.dana.id },
    requester: { id: PEOPLE.dana.id, login: PEOPLE.dana.login },
    justification: { ticket: { system: 'servicenow', id: 'INC0010002' } },
    contact: { channel: 'phone', detail: '+1 415 555 0100' },
    ...overrides,
  };
}

/** An IdP event: `actor` reset `target`'s factors through the help desk, now. */
export function resetEvent(id: string, target: Person, actor: Person | string, at: Date) {
  const a =
    typeof actor === 'string' && !(actor in PEOPLE) ? { id: actor, type: 'service' } : { id: PEOPLE[actor as Person].id, login: PEOPLE[actor as Person].login };
  return {
    id,
    type: 'user.mfa.factor.reset_all',
    change: {
      kind: 'factor.reset_all',
      channel: 'helpdesk',
      target: { id: PEOPLE[target].id, login: PEOPLE[target].login },
      actor: a,
      occurredAt: at.toISOString(),
    },
  };
}
