import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createOktaEnforcer } from '../../connectors/okta/enforcer.js';
import { oktaInboxHandler } from '../../connectors/okta/inbox-handler.js';
import { createOktaDirectory, type OktaDirectory } from '../../connectors/okta/okta-directory.js';
import { createOktaTenants, type OktaTenants } from '../../connectors/okta/okta-tenant.js';
import { OktaSimulator, type SimUser } from '../../connectors/okta/simulator/okta-simulator.js';
import { oktaConnector } from '../../connectors/okta/index.js';
import { loadConfig } from '../../src/config/load-config.js';
import type { ConnectorContext } from '../../src/connector/contract.js';
import { uuidv7 } from '../../src/core/ids.js';
import type { ActionRow, InboxRow, Store } from '../../src/store/store.js';
import { oktaTenantConfig, testConnectorContext } from '../helpers/okta-context.js';
import { EXAMPLE_POLICY_FILE } from '../helpers/policies.js';
import { pgliteTestStore, type TestStore } from '../helpers/test-stores.js';

/**
 * The Okta enrichment cache, per person, counted at the simulator (one clock
 * for Warden and the simulator, stepped by the test): a catch-up over many
 * changes to a few people asks Okta about each person once per
 * `enrichment.cacheSeconds`, concurrent look-ups share one request, any action
 * Warden takes on a person forgets that person (and nobody else), the cache
 * is bounded, least recently used dropped, and never answers one tenant with
 * another tenant's user.
 */

const CACHE_SECONDS = 60;
const section = (sim: OktaSimulator) =>
  `      orgUrl: ${sim.url}\n      simulator: true\n      auth: { type: api_token, token: oktaToken }\n      eventHook: { secret: hook }\n      serviceIdentity: 00uWARDEN\n      helpdesk: { roles: [HELP_DESK_ADMIN], groups: [] }\n      holdGroup: { name: Warden Hold }\n      enrichment: { cacheSeconds: ${CACHE_SECONDS} }\n`;

describe('Okta directory cache (per person, on the simulator)', () => {
  const clock = { now: new Date('2026-11-25T10:00:00.000Z') };
  let handle: TestStore;
  let store: Store;
  let sim: OktaSimulator;
  let ctx: ConnectorContext;
  let tenants: OktaTenants;
  let agent: SimUser;

  beforeAll(async () => {
    handle = await pgliteTestStore();
    store = handle.store;
    await store.ensureTenants(['acme']);
    sim = await new OktaSimulator({ clock: () => clock.now }).start();
    sim.addGroup('Warden Hold');
    agent = sim.addUser({ login: 'sam.agent@acme.example', firstName: 'Sam', lastName: 'Agent' }, { roles: ['HELP_DESK_ADMIN'], groups: ['Everyone'] });
    const config = oktaTenantConfig(oktaConnector(), section(sim), { OKTA_TOKEN: sim.token, HOOK: 'h' });
    ctx = testConnectorContext(config, store, clock);
    tenants = createOktaTenants();
  });
  afterEach(() => {
    clock.now = new Date(clock.now.getTime() + 3_600_000); // every test starts with nothing fresh in a new directory
  });
  afterAll(async () => {
    await sim?.close();
    await handle?.dispose();
  });

  /** Enrichment reads the simulator served: `GET /api/v1/users/{id}`, `…/groups`, `…/roles`, by user id or login. */
  const reads = (who?: SimUser) =>
    sim.requests.filter((r) => {
      const m = r.method === 'GET' ? /^\/api\/v1\/users\/([^/]+)(?:\/(?:groups|roles))?$/.exec(r.path) : null;
      return !!m && m[1] !== 'me' && (!who || decodeURIComponent(m[1]!) === who.id || decodeURIComponent(m[1]!) === who.profile.login);
    }).length;
  const people = (n: number, tag: string) =>
    Array.from({ length: n }, (_, i) => sim.addUser({ login: `${tag}${i}@acme.example`, firstName: 'P', lastName: `${i}` }, { groups: ['Everyone'] }));
  /** A help-desk factor reset of `target` by the agent, as the System Log has it. */
  const reset = (target: SimUser) => sim.adminResetFactors(agent.id, target.id);
  const entryOf = (event: { uuid: string }): InboxRow =>
    ({
      id: 1,
      tenant: 'acme',
      source: 'okta',
      eventId: event.uuid,
      via: 'poll',
      payload: event,
      receivedAt: clock.now,
      state: 'pending',
      attempts: 1,
    }) as InboxRow;
  const action = (kind: string, targetId: string): ActionRow => ({
    id: uuidv7(),
    tenant: 'acme',
    kind,
    connector: 'okta',
    targetId,
    params: {},
    idempotencyKey: uuidv7(),
    dryRun: false,
    createdAt: clock.now,
    state: 'running',
    attempts: 1,
    nextAttemptAt: clock.now,
  });
  const tenant = () => tenants.get(ctx.config, 'acme');

  it('N changes over k people cost at most k × 3 reads within the TTL, prepared 8 at a time as the inbox worker does', async () => {
    const directory = createOktaDirectory(tenants);
    const handler = oktaInboxHandler(tenants, directory);
    const targets = people(5, 'catchup');
    const events = Array.from({ length: 64 }, (_, i) => reset(targets[i % targets.length]!) as unknown as { uuid: string });
    const before = reads();
    for (let i = 0; i < events.length; i += 8) {
      const batch = await Promise.all(events.slice(i, i + 8).map((e) => handler.toChanges(entryOf(e), ctx)));
      for (const result of batch) expect('changes' in result && result.changes[0]!.channel).toBe('helpdesk');
      clock.now = new Date(clock.now.getTime() + 500); // a catch-up's half second per batch: 4 s in all, inside the TTL
    }
    expect(reads() - before).toBeLessThanOrEqual((targets.length + 1) * 3); // 5 targets and the agent
  });

  it('concurrent look-ups of one person share one request, even when Warden acts on someone else meanwhile', async () => {
    const directory = createOktaDirectory(tenants);
    const enforcer = createOktaEnforcer(tenants, directory);
    const [dana, erin] = people(2, 'herd');
    const stall = sim.faults.stall({ method: 'GET', path: new RegExp(`^/api/v1/users/${dana!.id}$`) });
    const first = directory.user(tenant(), dana!.id, ctx);
    await stall.arrived;
    // The outbox holds Erin while Dana's read is in flight: only Erin is forgotten.
    await enforcer.execute(action('hold_group', erin!.id), ctx);
    const more = Array.from({ length: 7 }, () => directory.user(tenant(), dana!.id, ctx));
    stall.release();
    const answers = await Promise.all([first, ...more]);
    expect(new Set(answers).size).toBe(1);
    expect(answers[0]!.principal.id).toBe(dana!.id);
    expect(reads(dana)).toBe(3); // one user, one groups, one roles
  });

  it('reads a person again once the TTL has passed on the injected clock, not before', async () => {
    const directory = createOktaDirectory(tenants);
    const [dana] = people(1, 'ttl');
    await directory.user(tenant(), dana!.id, ctx);
    clock.now = new Date(clock.now.getTime() + CACHE_SECONDS * 1000 - 1);
    await directory.user(tenant(), dana!.id, ctx);
    expect(reads(dana)).toBe(3);
    clock.now = new Date(clock.now.getTime() + 1);
    await directory.user(tenant(), dana!.id, ctx);
    expect(reads(dana)).toBe(6);
  });

  it('any action Warden takes on a person forgets that person (hold or not, failed or not); the agent stays cached', async () => {
    const directory = createOktaDirectory(tenants);
    const handler = oktaInboxHandler(tenants, directory);
    const enforcer = createOktaEnforcer(tenants, directory);
    const targets = people(3, 'acted');
    for (const t of targets) await handler.toChanges(entryOf(reset(t) as unknown as { uuid: string }), ctx);
    expect(targets.map((t) => reads(t))).toEqual([3, 3, 3]);
    const agentReads = reads(agent);
    await enforcer.execute(action('revoke_sessions', targets[0]!.id), ctx);
    await enforcer.execute(action('reset_factors', targets[1]!.id), ctx);
    sim.faults.inject({ status: 500, method: 'POST', path: /\/lifecycle\/expire_password$/ });
    await expect(enforcer.execute(action('expire_password', targets[2]!.id), ctx)).rejects.toThrow();
    for (const t of targets) await handler.toChanges(entryOf(reset(t) as unknown as { uuid: string }), ctx);
    expect(targets.map((t) => reads(t))).toEqual([6, 6, 6]);
    expect(reads(agent)).toBe(agentReads);
  });

  it('after Okta refused one read (429 on the groups), the retry reads only what is missing', async () => {
    const directory = createOktaDirectory(tenants);
    const [dana] = people(1, 'partial');
    const kinds = () => {
      const mine = sim.requests.filter((r) => r.method === 'GET' && r.path.startsWith(`/api/v1/users/${dana!.id}`));
      return ['', '/groups', '/roles'].map((tail) => mine.filter((r) => r.path === `/api/v1/users/${dana!.id}${tail}`).length);
    };
    sim.faults.inject({ status: 429, method: 'GET', path: new RegExp(`^/api/v1/users/${dana!.id}/groups$`), resetSeconds: 1 });
    await expect(directory.user(tenant(), dana!.id, ctx)).rejects.toBeTruthy();
    expect(kinds()).toEqual([1, 1, 0]);
    clock.now = new Date(clock.now.getTime() + 2_000); // the inbox's retry
    expect((await directory.user(tenant(), dana!.id, ctx))!.principal.groups).toEqual(['Everyone']);
    expect(kinds()).toEqual([1, 2, 1]);
  });

  it('keeps at most maxUsers people, the least recently used dropped first', async () => {
    const directory: OktaDirectory = createOktaDirectory(tenants, { maxUsers: 3 });
    const [a, b, c, d] = people(4, 'lru');
    for (const p of [a, b, c]) await directory.user(tenant(), p!.id, ctx);
    await directory.user(tenant(), a!.id, ctx); // a used again: b is now the least recently used
    await directory.user(tenant(), d!.id, ctx); // over the bound: b goes
    expect([a, b, c, d].map((p) => reads(p))).toEqual([3, 3, 3, 3]);
    await directory.user(tenant(), a!.id, ctx);
    await directory.user(tenant(), b!.id, ctx);
    expect([a, b].map((p) => reads(p))).toEqual([3, 6]);
  });
});

describe('Okta directory cache across tenants', () => {
  const clock = { now: new Date('2026-11-25T10:00:00.000Z') };
  let handle: TestStore;
  let acme: OktaSimulator;
  let globex: OktaSimulator;

  beforeAll(async () => {
    handle = await pgliteTestStore();
    await handle.store.ensureTenants(['acme', 'globex']);
    acme = await new OktaSimulator({ clock: () => clock.now }).start();
    globex = await new OktaSimulator({ clock: () => clock.now, token: acme.token }).start(); // one token: the test's one secret
  });
  afterAll(async () => {
    await acme?.close();
    await globex?.close();
    await handle?.dispose();
  });

  it("never answers one tenant with another tenant's user of the same login", async () => {
    acme.addUser({ login: 'dana@example.com', firstName: 'Dana', lastName: 'Acme' }, { groups: ['Acme Staff'] });
    globex.addUser({ login: 'dana@example.com', firstName: 'Dana', lastName: 'Globex' }, { groups: ['Globex Admins'], roles: ['SUPER_ADMIN'] });
    const connector = oktaConnector();
    const dir = mkdtempSync(path.join(tmpdir(), 'warden-okta-tenants-'));
    const tenantYaml = (id: string, sim: OktaSimulator) =>
      `  - id: ${id}\n    policy: ${EXAMPLE_POLICY_FILE}\n    secrets: { oktaToken: { env: OKTA_TOKEN }, hook: { env: HOOK } }\n    okta:\n${section(sim)}`;
    writeFileSync(path.join(dir, 'warden.yaml'), `tenants:\n${tenantYaml('acme', acme)}${tenantYaml('globex', globex)}`);
    const both = loadConfig({ path: path.join(dir, 'warden.yaml'), env: { OKTA_TOKEN: acme.token, HOOK: 'h' }, connectors: [connector], resolveSecrets: true });
    const tenants = createOktaTenants();
    const ctx = testConnectorContext(both, handle.store, clock);
    const directory = createOktaDirectory(tenants);
    const a = await directory.user(tenants.get(both, 'acme'), 'dana@example.com', ctx);
    const g = await directory.user(tenants.get(both, 'globex'), 'dana@example.com', ctx);
    expect(a!.principal.groups).toEqual(['Acme Staff']);
    expect(g!.principal.groups).toEqual(['Globex Admins']);
    expect(g!.roleTypes).toEqual(['SUPER_ADMIN']);
    // Forgetting globex's Dana leaves acme's cached.
    directory.forgetUser('globex', g!.principal.id);
    const asked = acme.requests.length;
    expect((await directory.user(tenants.get(both, 'acme'), 'dana@example.com', ctx))!.principal.groups).toEqual(['Acme Staff']);
    expect(acme.requests.length).toBe(asked);
  });
});
