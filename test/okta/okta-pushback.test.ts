import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oktaConnector } from '../../connectors/okta/index.js';
import { serviceIdentityOf } from '../../connectors/okta/okta-directory.js';
import { createOktaTenants } from '../../connectors/okta/okta-tenant.js';
import { OktaSimulator } from '../../connectors/okta/simulator/okta-simulator.js';
import { uuidv7 } from '../../src/core/ids.js';
import type { ConnectorContext, Connector } from '../../src/connector/contract.js';
import { OutboxWorker } from '../../src/engine/outbox-worker.js';
import { createLogger } from '../../src/runtime/logger.js';
import type { Store } from '../../src/store/store.js';
import { oktaTenantConfig, testConnectorContext } from '../helpers/okta-context.js';
import { pgliteTestStore, type TestStore } from '../helpers/test-stores.js';

/**
 * Warden's Okta connector against a simulator that pushes back: the OAuth
 * 2.0 service app Warden is configured with (private_key_jwt, scopes) making
 * real okta-sdk-nodejs calls through the outbox; 5xx bursts retried to one
 * change; a spent rate-limit bucket waited out until its reset, on one clock.
 */

const SCOPES = ['okta.users.read', 'okta.users.manage', 'okta.groups.read', 'okta.groups.manage'];

describe('Okta connector against a simulator that pushes back', () => {
  let handle: TestStore;
  let store: Store;
  let connector: Connector;
  const clock = { now: new Date('2026-11-25T10:00:10.000Z') };

  beforeAll(async () => {
    handle = await pgliteTestStore();
    store = handle.store;
    await store.ensureTenants(['acme']);
    connector = oktaConnector();
  });
  afterAll(async () => {
    await handle?.dispose();
  });

  /** Warden's okta section with an OAuth service app (privateKey: a JWK, as the tenant secret holds it). */
  const oauthContext = (sim: OktaSimulator, clientId: string, privateJwk: unknown, scopes = SCOPES): ConnectorContext => {
    const section = `      orgUrl: ${sim.url}\n      simulator: true\n      auth: { type: oauth, clientId: ${clientId}, privateKey: oktaKey, scopes: [${scopes.join(', ')}] }\n      eventHook: { secret: hook }\n      holdGroup: { name: Warden Hold }\n`;
    return testConnectorContext(oktaTenantConfig(connector, section, { OKTA_KEY: JSON.stringify(privateJwk), HOOK: 'h' }), store, clock);
  };
  const apiContext = (sim: OktaSimulator): ConnectorContext =>
    testConnectorContext(
      oktaTenantConfig(
        connector,
        `      orgUrl: ${sim.url}\n      simulator: true\n      auth: { type: api_token, token: oktaToken }\n      eventHook: { secret: hook }\n      holdGroup: { name: Warden Hold }\n`,
        { OKTA_TOKEN: sim.token, HOOK: 'h' },
      ),
      store,
      clock,
    );
  const worker = (ctx: ConnectorContext, registry?: Registry) =>
    new OutboxWorker({
      store,
      enforcers: new Map([['okta', connector.enforcer!]]),
      context: () => ctx,
      log: createLogger('silent'),
      clock: () => clock.now,
      random: () => 0.5,
      ...(registry ? { registry } : {}),
    });
  const enqueue = async (kind: string, targetId: string) => {
    const id = uuidv7();
    await store.enqueueAction({ id, tenant: 'acme', kind, connector: 'okta', targetId, params: {}, idempotencyKey: id, dryRun: false, createdAt: clock.now });
    return id;
  };
  const audited = async (actionId: string) =>
    (await store.readAudit('acme', 0, 100_000))
      .map((r) => JSON.parse(r.record) as { type: string; subject: { actionId?: string }; data: { error?: string } })
      .filter((r) => r.subject.actionId === actionId);

  describe('OAuth 2.0 service app (private_key_jwt), end to end', () => {
    let sim: OktaSimulator;
    beforeAll(async () => {
      sim = await new OktaSimulator({ clock: () => clock.now }).start();
      sim.addGroup('Warden Hold');
    });
    afterAll(() => sim.close());

    it("holds and revokes with the service app's token; Okta logs the app as the actor, which Warden knows as itself", async () => {
      const { app, privateJwk } = sim.addServiceApp({ scopes: SCOPES });
      const ctx = oauthContext(sim, app.clientId, privateJwk);
      const user = sim.addUser({ login: 'ivy@acme.example' });
      const hold = await enqueue('hold_group', user.id);
      const revoke = await enqueue('revoke_sessions', user.id);
      expect(await worker(ctx).runOnce()).toBe(2);
      expect((await audited(hold)).map((r) => r.type)).toEqual(['action.executed']);
      expect((await audited(revoke)).map((r) => r.type)).toEqual(['action.executed']);
      expect(sim.groupNames(user.id)).toContain('Warden Hold');
      expect(sim.users.get(user.id)!.sessions).toBe(0);
      expect(sim.log.filter((e) => e.eventType === 'user.session.clear').at(-1)).toMatchObject({ actor: { id: app.clientId, type: 'PublicClientApp' } });
      expect(await serviceIdentityOf(createOktaTenants().get(ctx.config, 'acme'))).toBe(app.clientId);
      expect(sim.requests.filter((r) => r.path === '/oauth2/v1/token')).toHaveLength(1);
      expect(sim.requests.some((r) => r.path === '/api/v1/users/me')).toBe(false);
    });

    it('fails for good when the app lacks the scope an action needs (403 from Okta), and changes nothing', async () => {
      const { app, privateJwk } = sim.addServiceApp({ scopes: ['okta.users.read', 'okta.groups.read', 'okta.groups.manage'] });
      const ctx = oauthContext(sim, app.clientId, privateJwk, ['okta.users.read', 'okta.groups.read', 'okta.groups.manage']);
      const user = sim.addUser({ login: 'noscope@acme.example' });
      const id = await enqueue('revoke_sessions', user.id);
      expect(await worker(ctx).runOnce()).toBe(1);
      const records = await audited(id);
      expect(records.map((r) => r.type)).toEqual(['action.failed']);
      expect(records[0]!.data.error).toMatch(/HTTP 403 You do not have permission/);
      expect(sim.users.get(user.id)!.sessions).toBe(1);
    });

    it('fails for good when the assertion is signed with a key the app does not have (Okta refuses the client)', async () => {
      const { app } = sim.addServiceApp({ scopes: SCOPES });
      const other = sim.addServiceApp({ scopes: SCOPES }).privateJwk!; // a real key, registered with another app
      const ctx = oauthContext(sim, app.clientId, { ...other, kid: (app.keys[0] as { kid: string }).kid });
      const user = sim.addUser({ login: 'badkey@acme.example' });
      const id = await enqueue('revoke_sessions', user.id);
      expect(await worker(ctx).runOnce()).toBe(1);
      const records = await audited(id);
      expect(records.map((r) => r.type)).toEqual(['action.failed']);
      expect(records[0]!.data.error).toMatch(/HTTP 401/);
      expect(sim.users.get(user.id)!.sessions).toBe(1);
      // SDK 8.1.0 sends the call without a token after the refused token request (and once more after clearing it): Okta answers 401, nothing is done.
      expect(sim.requests.filter((r) => r.path === '/oauth2/v1/token').length).toBeGreaterThanOrEqual(1);
      expect(sim.log.filter((e) => e.eventType === 'user.session.clear' && (e.target as Array<{ id: string }>)[0]?.id === user.id)).toHaveLength(0);
    });
  });

  it('retries a burst of 5xx on a non-log endpoint to success, and the change is made once', async () => {
    const sim = await new OktaSimulator({ clock: () => clock.now }).start();
    try {
      const user = sim.addUser({ login: 'burst@acme.example' });
      sim.faults.inject({ status: 503, count: 2, path: /\/sessions$/ });
      sim.faults.inject({ status: 500, count: 1, path: /\/sessions$/ });
      const registry = new Registry();
      const w = worker(apiContext(sim), registry);
      const id = await enqueue('revoke_sessions', user.id);
      for (let i = 0; i < 4; i++) {
        clock.now = new Date(clock.now.getTime() + 3600_000); // past any back-off
        await w.runOnce();
      }
      expect(sim.requests.filter((r) => r.method === 'DELETE' && r.path === `/api/v1/users/${user.id}/sessions`)).toHaveLength(4);
      expect(sim.log.filter((e) => e.eventType === 'user.session.clear')).toHaveLength(1);
      expect((await audited(id)).map((r) => r.type)).toEqual(['action.executed']);
      const counted = (await registry.getMetricsAsJSON()).find((m) => m.name === 'warden_actions_total')!.values;
      expect(counted.map((v) => [v.labels.result, v.value]).sort()).toEqual([
        ['executed', 1],
        ['retried', 3],
      ]);
    } finally {
      await sim.close();
    }
  });

  it("waits out a spent rate-limit bucket until x-rate-limit-reset (read against Okta's Date), then runs the action once", async () => {
    const sim = await new OktaSimulator({ clock: () => clock.now, rateLimits: { api: 2 } }).start();
    try {
      clock.now = new Date('2026-11-26T10:00:10.000Z');
      const users = [0, 1, 2].map((i) => sim.addUser({ login: `rl${i}@acme.example` }));
      const w = worker(apiContext(sim));
      const ids = [];
      for (const u of users) ids.push(await enqueue('revoke_sessions', u.id));
      expect(await w.runOnce()).toBe(3);
      const third = (await audited(ids[2]!)).map((r) => r.type);
      expect(third).toEqual([]); // retried, not failed
      expect(sim.users.get(users[2]!.id)!.sessions).toBe(1);
      // Reset at 10:01:00 by Okta's clock, plus a second: not due before 10:01:01.
      clock.now = new Date('2026-11-26T10:01:00.999Z');
      expect(await w.runOnce()).toBe(0);
      clock.now = new Date('2026-11-26T10:01:01.000Z');
      expect(await w.runOnce()).toBe(1);
      expect(sim.users.get(users[2]!.id)!.sessions).toBe(0);
      expect((await audited(ids[2]!)).map((r) => r.type)).toEqual(['action.executed']);
      expect(sim.log.filter((e) => e.eventType === 'user.session.clear')).toHaveLength(3);
    } finally {
      await sim.close();
    }
  });
});
