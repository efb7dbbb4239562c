import { randomUUID } from 'node:crypto';
import { createAuditPoller, directoryAuditsBackfill } from '../../connectors/entra/audit-poller.js';
import { oktaConnector } from '../../connectors/okta/index.js';
import { createOktaTenants } from '../../connectors/okta/okta-tenant.js';
import { pollTenant, systemLogSource } from '../../connectors/okta/system-log-poller.js';
import { createPoller } from '../../src/connector/poller.js';
import { OktaSimulator, type SimUser as OktaUser } from '../../connectors/okta/simulator/okta-simulator.js';
import { PHONE_METHOD_IDS } from '../../connectors/entra/simulator/simulated-directory.js';
import type { BrokerRequest, ConnectorContext, Connector } from '../../src/connector/contract.js';
import type { ChangeKind } from '../../src/core/identity-change.js';
import type { ActionRow, InboxRow, Store } from '../../src/store/store.js';
import { startEntraHarness, type EntraHarness } from '../helpers/entra-harness.js';
import { oktaTenantConfig, testConnectorContext } from '../helpers/okta-context.js';
import { pgliteTestStore, type TestStore } from '../helpers/test-stores.js';

/**
 * One IdP's simulator with its connector, as the shared connector contract
 * suites (test/contracts/connector-*.ts) drive it. A third IdP adds a world
 * here and passes every suite; the suites know nothing of any vendor.
 *
 * Everything an IdP reports comes from its simulator, which writes the
 * vendor's own record shapes (Okta LogEvent, Entra directoryAudit).
 */
export interface ConnectorWorld {
  /** The connector's name (`okta`, `entra`). */
  idp: string;
  connector: Connector;
  ctx: ConnectorContext;
  /** The whole store behind `ctx.store` (which a connector sees narrowed), for what the suites check. */
  store: Store;
  /** Moves Warden's and the simulator's clock on. */
  advance(ms: number): void;
  /** A new user with one authentication factor; returns the IdP's user id. */
  newUser(): Promise<string>;
  /** Gives the user a factor again (set-up: not among what `reported` returns). */
  addFactor(userId: string): Promise<void>;
  /** An action the enforcer runs whose change the IdP reports as a governed change (a factor reset or removal). */
  ownAction: string;
  /** Someone other than Warden makes the change `ownAction` makes (a help-desk admin in the console). */
  changeByOther(userId: string): Promise<void>;
  /** Warden's own identity makes that change with nothing recorded (its credentials used elsewhere). */
  changeByWardenUnrecorded(userId: string): Promise<void>;
  /** What the IdP reported about the user since the last call, as the inbox rows the poller or hook would store. */
  reported(userId: string): Promise<InboxRow[]>;
  /** What the IdP says of the user now: in Warden's hold group, suspended (disabled). */
  state(userId: string): { held: boolean; suspended: boolean };
  /** One poll of the tenant by the connector's log poller (System Log, directoryAudits), as the background poller makes it. */
  pollOnce(): Promise<void>;
  /** Up to when the log poller's stored cursor says everything was read (the position a gap is measured from). */
  cursorAt(): Promise<Date | undefined>;
  /** The connector's log poller of the tenant for another replica (`ctx` with its own instance id), stepped by hand. */
  pollerOn(ctx: ConnectorContext): { step(): Promise<number>; stop(): Promise<void> };
  /** The world's context as another replica of Warden (same store and IdP) sees it. */
  replica(instanceId: string): ConnectorContext;
  /** A change the broker performs, with its options. */
  broker: { kind: ChangeKind; options: Record<string, unknown> };
  /** How many times the IdP performed the broker's change for the user. */
  brokerCalls(userId: string): number;
  close(): Promise<void>;
}

let inboxId = 1_000_000;
const inboxRow = (tenant: string, source: string, eventId: string, eventType: string, payload: unknown, receivedAt: Date): InboxRow => ({
  id: ++inboxId,
  tenant,
  source,
  eventId,
  eventType,
  via: 'poll',
  payload,
  receivedAt,
  state: 'pending',
  attempts: 1,
});

/** An action row as the outbox hands it to an enforcer. */
export function actionRow(tenant: string, connector: string, kind: string, targetId: string, now: Date): ActionRow {
  return {
    id: randomUUID(),
    tenant,
    kind,
    connector,
    targetId,
    params: {},
    idempotencyKey: randomUUID(),
    dryRun: false,
    createdAt: now,
    state: 'running',
    attempts: 1,
    nextAttemptAt: now,
  };
}

/** A broker request for `userId`. */
export function brokerRequest(world: ConnectorWorld, userId: string, requestId = randomUUID()): BrokerRequest {
  return { tenant: 'acme', requestId, kind: world.broker.kind, targetId: userId, options: world.broker.options };
}

/** The Okta connector on the Okta simulator (API token auth, the SDK against the simulator), on a PGlite store. */
export async function oktaWorld(): Promise<ConnectorWorld> {
  const clock = { now: new Date('2026-11-25T10:00:00.000Z') };
  const sim = await new OktaSimulator({ clock: () => clock.now }).start();
  sim.addGroup('Warden Hold');
  const agent = sim.addUser({ login: 'agent@acme.example', firstName: 'Hal', lastName: 'Desk' }, { roles: ['HELP_DESK_ADMIN'], groups: ['Service Desk'] });
  const handle: TestStore = await pgliteTestStore();
  await handle.store.ensureTenants(['acme']);
  const plugin = oktaConnector();
  const config = oktaTenantConfig(
    plugin,
    `      orgUrl: ${sim.url}\n      simulator: true\n      auth: { type: api_token, token: oktaToken }\n      eventHook: { secret: hook }\n`,
    { OKTA_TOKEN: sim.token, HOOK: 'h' },
  );
  const ctx = testConnectorContext(config, handle.store, clock);
  const tenants = createOktaTenants();
  const seen = new Set<string>();
  let n = 0;
  const users = new Map<string, OktaUser>();
  return {
    idp: 'okta',
    connector: plugin,
    store: handle.store,
    ctx,
    advance(ms) {
      clock.now = new Date(clock.now.getTime() + ms);
    },
    async newUser() {
      const user = sim.addUser(
        { login: `person${++n}@acme.example`, firstName: `Person${n}`, lastName: 'Employee', department: 'Sales' },
        { groups: ['Everyone'] },
      );
      sim.addFactor(user.id, 'push', new Date(clock.now.getTime() - 30 * 86_400_000));
      users.set(user.id, user);
      return user.id;
    },
    async addFactor(userId) {
      sim.addFactor(userId, 'push', clock.now);
    },
    ownAction: 'reset_factors',
    async changeByOther(userId) {
      sim.adminResetFactors(agent.id, userId);
    },
    async changeByWardenUnrecorded(userId) {
      sim.adminResetFactors(sim.tokenOwner.id, userId);
    },
    async reported(userId) {
      const events = sim.log.filter((e) => !seen.has(e.uuid) && JSON.stringify(e.target ?? []).includes(userId));
      for (const e of events) seen.add(e.uuid);
      return events.map((e) => inboxRow('acme', 'okta', e.uuid, e.eventType, e, clock.now));
    },
    state(userId) {
      const user = sim.users.get(userId)!;
      const hold = [...sim.groups.values()].find((g) => g.profile.name === 'Warden Hold')!;
      return { held: user.groups.has(hold.id) || user.groups.has(hold.profile.name), suspended: user.status === 'SUSPENDED' };
    },
    async pollOnce() {
      await pollTenant(tenants.get(ctx.config, 'acme'), ctx);
    },
    cursorAt: () => systemLogSource(tenants.get(ctx.config, 'acme'), ctx).backfill!.position(),
    pollerOn(other) {
      return createPoller(other, systemLogSource(tenants.get(other.config, 'acme'), other));
    },
    replica: (instanceId) => ({ ...ctx, instanceId }),
    broker: { kind: 'factor.reset_all', options: {} },
    brokerCalls(userId) {
      return sim.log.filter((e) => e.eventType === 'user.mfa.factor.reset_all' && JSON.stringify(e.target ?? []).includes(userId)).length;
    },
    async close() {
      await sim.close();
      await handle.dispose();
    },
  };
}

/** The Entra connector on the Graph simulator (the real server, @azure/identity and the Graph client over HTTPS). */
export async function entraWorld(): Promise<ConnectorWorld> {
  const h: EntraHarness = await startEntraHarness();
  const seen = new Set<string>();
  let n = 0;
  const warden = () => ({ app: h.sim.directory.apps.get(h.clientId)! });
  const phoneOf = (_userId: string) => PHONE_METHOD_IDS.mobile;
  const addFactor = async (userId: string) => {
    const user = h.sim.directory.users.get(userId)!;
    h.sim.directory.registerPhone({ user }, user, { phoneNumber: `+1 206 555 01${String(n).padStart(2, '0')}`, phoneType: 'mobile', delayMs: 0 });
    // What the user did to set up is not what the suites look at.
    for (const a of h.sim.directory.audits) seen.add(a.record.id);
  };
  return {
    idp: 'entra',
    connector: h.connector,
    store: h.server.store,
    ctx: h.server.context,
    advance: (ms) => h.advance(ms),
    async newUser() {
      const user = h.sim.directory.addUser({ userPrincipalName: `person${++n}@contoso.example`, displayName: `Person ${n}`, employeeType: 'employee' });
      await addFactor(user.id);
      return user.id;
    },
    addFactor,
    ownAction: 'reset_factors',
    async changeByOther(userId) {
      h.sim.directory.deleteMethod({ user: h.users.admin }, h.sim.directory.users.get(userId)!, 'phoneMethods', phoneOf(userId));
    },
    async changeByWardenUnrecorded(userId) {
      h.sim.directory.deleteMethod(warden(), h.sim.directory.users.get(userId)!, 'phoneMethods', phoneOf(userId));
    },
    async reported(userId) {
      const records = h.sim.directory.audits.map((a) => a.record).filter((r) => !seen.has(r.id) && JSON.stringify(r.targetResources ?? []).includes(userId));
      for (const r of records) seen.add(r.id);
      return records.map((r) => inboxRow('acme', 'entra', r.id, String(r.activityDisplayName), r, h.clock.now));
    },
    state(userId) {
      return { held: h.holdGroup.members.has(userId), suspended: h.sim.directory.users.get(userId)!.accountEnabled === false };
    },
    async pollOnce() {
      await createAuditPoller(h.server.context, h.tenant).pollOnce();
    },
    cursorAt: () => directoryAuditsBackfill(h.tenant, h.server.context).position(),
    pollerOn(other) {
      return createAuditPoller(other, h.tenant);
    },
    replica: (instanceId) => ({ ...h.server.context, instanceId }),
    broker: { kind: 'tap.issue', options: { lifetimeMinutes: 60 } },
    brokerCalls(userId) {
      return h.sim.requests.filter(
        (r) => r.method === 'POST' && r.path.includes(`/users/${userId}/authentication/temporaryAccessPassMethods`) && r.status < 300,
      ).length;
    },
    close: () => h.close(),
  };
}

/** Every IdP Warden ships a connector for. A third IdP adds its world here. */
export const WORLDS: ReadonlyArray<{ idp: string; start: () => Promise<ConnectorWorld> }> = [
  { idp: 'okta', start: oktaWorld },
  { idp: 'entra', start: entraWorld },
];
