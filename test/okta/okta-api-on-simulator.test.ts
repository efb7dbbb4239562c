import nock from 'nock';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oktaConnector } from '../../connectors/okta/index.js';
import { createOktaTenants, type OktaTenants } from '../../connectors/okta/okta-tenant.js';
import { CURSOR, pollTenant, readSystemLog, startPollers } from '../../connectors/okta/system-log-poller.js';
import { HOOK_EVENT_TYPES, hookEventTypes } from '../../connectors/okta/event-types.js';
import { applyHoldRule, HOLD_RULE_NAME, hookDrift, holdRule, registerEventHook } from '../../connectors/okta/provision.js';
import type { OktaSimulator, SimUser } from '../../connectors/okta/simulator/okta-simulator.js';
import { OktaSimulator as Sim } from '../../connectors/okta/simulator/okta-simulator.js';
import { runCli } from '../../src/app/cli-main.js';
import { ProofingRefused, type ConnectorContext, type Connector } from '../../src/connector/contract.js';
import type { Store } from '../../src/store/store.js';
import { oktaTenantConfig, testConnectorContext } from '../helpers/okta-context.js';
import { oktaConfigDir, seededSimulator } from '../helpers/okta-setup.js';
import { pgliteTestStore, type TestStore } from '../helpers/test-stores.js';

/**
 * The Okta connector's calls to Okta, through the real okta-sdk-nodejs,
 * against the simulator: System Log polling (paging, watermark and overlap,
 * rate limits, one poller across replicas), the broker, the identity
 * proofer, and the set-up commands.
 */

const section = (sim: OktaSimulator, extra = '') =>
  `      orgUrl: ${sim.url}\n      simulator: true\n      auth: { type: api_token, token: oktaToken }\n      eventHook: { secret: hook }\n${extra}`;

describe('Okta API on the simulator', () => {
  let handle: TestStore;
  let store: Store;
  let sim: OktaSimulator;
  let agent: SimUser;
  let employee: (login: string) => SimUser;
  let connector: Connector;

  beforeAll(async () => {
    handle = await pgliteTestStore();
    store = handle.store;
    await store.ensureTenants(['acme']);
    ({ sim, agent, employee } = await seededSimulator());
    connector = oktaConnector();
  });
  afterAll(async () => {
    await sim?.close();
    await handle?.dispose();
  });

  const context = (s: OktaSimulator, extra = '', clock = { now: new Date() }): { ctx: ConnectorContext; tenants: OktaTenants } => {
    const config = oktaTenantConfig(connector, section(s, extra), { OKTA_TOKEN: s.token, HOOK: 'h' });
    return { ctx: testConnectorContext(config, store, clock), tenants: createOktaTenants() };
  };

  describe('System Log poller', () => {
    it('pages through the log with the filter and stores each governed event once', async () => {
      const local = await new Sim().start();
      try {
        const users = Array.from({ length: 5 }, (_, i) => local.addUser({ login: `u${i}@acme.example` }));
        for (const u of users) local.adminResetFactors(local.tokenOwner.id, u.id);
        local.record('user.session.start', 'User login to Okta', users[0]!, [], {}, 'WEB'); // not governed: filtered out by Okta
        const { ctx, tenants } = context(local, '      poller: { pageSize: 2 }\n');
        const tenant = tenants.get(ctx.config, 'acme');
        const first = await readSystemLog(tenant, store, {
          since: new Date(Date.now() - 60_000),
          until: new Date(Date.now() + 1000),
          maxPages: 100,
          now: () => new Date(),
        });
        expect([first.pages, first.events, first.stored]).toEqual([3, 5, 5]);
        const logCalls = local.requests.filter((r) => r.path === '/api/v1/logs');
        expect(logCalls[0]!.query.get('filter')).toContain('eventType eq "user.mfa.factor.reset_all"');
        expect(logCalls[1]!.query.get('after')).toBeTruthy(); // followed Okta's Link: rel="next"
        const again = await readSystemLog(tenant, store, {
          since: new Date(Date.now() - 60_000),
          until: new Date(Date.now() + 1000),
          maxPages: 100,
          now: () => new Date(),
        });
        expect([again.events, again.stored]).toEqual([5, 0]);
      } finally {
        await local.close();
      }
    });

    it('asks again for a page whose connection was reset, instead of failing the read (a back-fill reuses kept-alive sockets)', async () => {
      const local = await new Sim().start();
      // In front of the simulator: the first request for the log has its connection reset, the others pass.
      let resets = 1;
      const proxy = http.createServer((req, res) => {
        if (req.url?.startsWith('/api/v1/logs') && resets > 0) {
          resets--;
          req.socket.destroy();
          return;
        }
        const upstream = http.request(`${local.url}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        req.pipe(upstream);
      });
      await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
      try {
        const users = Array.from({ length: 3 }, (_, i) => local.addUser({ login: `reset${i}@acme.example` }));
        for (const u of users) local.adminResetFactors(local.tokenOwner.id, u.id);
        const { ctx, tenants } = context({ url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, token: local.token } as OktaSimulator);
        const read = await readSystemLog(tenants.get(ctx.config, 'acme'), store, {
          since: new Date(Date.now() - 60_000),
          until: new Date(Date.now() + 1000),
          maxPages: 10,
          now: () => new Date(),
        });
        expect(resets).toBe(0);
        expect(read.events).toBeGreaterThanOrEqual(3);
      } finally {
        await new Promise<void>((resolve) => proxy.close(() => resolve()));
        await local.close();
      }
    });

    it('keeps a watermark and starts each poll the overlap before it', async () => {
      const local = await new Sim().start();
      try {
        const u = local.addUser({ login: 'w@acme.example' });
        const { ctx, tenants } = context(local, '      poller: { overlapSeconds: 120 }\n');
        const tenant = tenants.get(ctx.config, 'acme');
        local.adminResetFactors(local.tokenOwner.id, u.id);
        const newest = local.log.at(-1)!.published;
        const started = ctx.clock().toISOString();
        await pollTenant(tenant, ctx);
        // The newest event seen, and when the read (which got to the end) started: everything before it was read.
        const cursor = (await store.getCursor('acme', CURSOR)) as { watermark: string; polledAt: string };
        expect(cursor.watermark).toBe(newest);
        expect(cursor.polledAt >= started && cursor.polledAt <= newest).toBe(true);
        await pollTenant(tenant, ctx);
        const since = local.requests
          .filter((r) => r.path === '/api/v1/logs')
          .at(-1)!
          .query.get('since');
        expect(since).toBe(new Date(new Date(newest).getTime() - 120_000).toISOString());
      } finally {
        await local.close();
      }
    });

    it('stops paging when X-Rate-Limit-Remaining runs low, and on a 429 waits until X-Rate-Limit-Reset', async () => {
      const local = await new Sim({ logsLimit: 3 }).start();
      try {
        const users = Array.from({ length: 6 }, (_, i) => local.addUser({ login: `r${i}@acme.example` }));
        for (const u of users) local.adminResetFactors(local.tokenOwner.id, u.id);
        const { ctx, tenants } = context(local, '      poller: { pageSize: 1, minRemaining: 1, overlapSeconds: 600 }\n');
        const tenant = tenants.get(ctx.config, 'acme');
        const before = (await store.getCursor('acme', CURSOR)) as { polledAt?: string } | undefined;
        const first = await pollTenant(tenant, ctx);
        expect(first.pages).toBe(2); // remaining 2, then 1: stop and wait
        expect(first.waitMs).toBeGreaterThan(0);
        expect(first.waitMs).toBeLessThanOrEqual(62_000);
        const second = await pollTenant(tenant, ctx); // the last request of this minute: remaining 0, stop
        expect([second.pages, second.waitMs! > 0]).toEqual([1, true]);
        const third = await pollTenant(tenant, ctx); // over the limit: 429, wait for the reset
        expect([third.pages, third.waitMs! > 0, third.waitMs! <= 62_000]).toEqual([0, true, true]);
        expect(local.requests.filter((r) => r.path === '/api/v1/logs')).toHaveLength(4);
        // Progress kept in the watermark; the reads were cut short, so the mark of a complete read stays where it was.
        expect(await store.getCursor('acme', CURSOR)).toEqual({ watermark: expect.any(String), ...(before?.polledAt ? { polledAt: before.polledAt } : {}) });
      } finally {
        await local.close();
      }
    });

    it('polls a tenant from one replica only (store lease)', async () => {
      const local = await new Sim().start();
      try {
        const a = context(local);
        const b = { ...context(local), ctx: { ...context(local).ctx, instanceId: 'test:2' } };
        const pa = startPollers(a.tenants, a.ctx);
        const pb = startPollers(b.tenants, b.ctx);
        // Both pollers tick at once on start; stop() waits for the tick in progress, so no sleep is needed to see it.
        await pa.stop();
        await pb.stop();
        expect(local.requests.filter((r) => r.path === '/api/v1/logs')).toHaveLength(1);
      } finally {
        await local.close();
      }
    });
  });

  describe('broker', () => {
    it('resets all factors once per request, however often it is asked', async () => {
      const u = employee('bea@acme.example');
      const { ctx } = context(sim);
      const broker = connector.broker!;
      const first = await broker.execute({ tenant: 'acme', requestId: 'req-1', kind: 'factor.reset_all', targetId: u.id, options: {} }, ctx);
      expect(sim.factorsOf(u.id)).toEqual([]);
      sim.addFactor(u.id, 'push'); // the user enrolls again
      const second = await broker.execute({ tenant: 'acme', requestId: 'req-1', kind: 'factor.reset_all', targetId: u.id, options: {} }, ctx);
      expect(second).toEqual(first);
      expect(sim.factorsOf(u.id)).toHaveLength(1);
      expect(sim.requests.filter((r) => r.path === `/api/v1/users/${u.id}/lifecycle/reset_factors`)).toHaveLength(1);
      expect(await store.getOwnChange('acme', 'okta', 'broker:req-1')).toMatchObject({
        eventTypes: ['user.mfa.factor.reset_all', 'user.mfa.factor.deactivate'],
      });
    });

    it('returns a password reset link once, never storing it', async () => {
      const u = employee('ben@acme.example');
      const { ctx } = context(sim);
      const result = await connector.broker!.execute(
        { tenant: 'acme', requestId: 'req-2', kind: 'password.reset', targetId: u.id, options: { sendEmail: false } },
        ctx,
      );
      expect(result.secret).toMatch(/\/reset_password\/drp/);
      expect(sim.users.get(u.id)!.status).toBe('RECOVERY');
      const stored = await store.getOwnChange('acme', 'okta', 'broker:req-2');
      expect(JSON.stringify(stored)).not.toContain(result.secret!);
      expect(
        await connector.broker!.execute({ tenant: 'acme', requestId: 'req-2', kind: 'password.reset', targetId: u.id, options: { sendEmail: false } }, ctx),
      ).not.toHaveProperty('secret');
    });

    it('refuses what it cannot do', async () => {
      await expect(
        connector.broker!.execute({ tenant: 'acme', requestId: 'req-3', kind: 'tap.issue', targetId: agent.id, options: {} }, context(sim).ctx),
      ).rejects.toThrow(/cannot perform tap.issue/);
    });
  });

  describe('identity proofer (Okta Verify push)', () => {
    it('pushes to an established factor, waits for the person, and reports their answer', async () => {
      const u = employee('pia@acme.example');
      const { ctx } = context(sim);
      const poll = (transactionId: string) => connector.proofer!.poll({ tenant: 'acme', targetId: u.id, transactionId }, ctx);
      const started = await connector.proofer!.start({ tenant: 'acme', targetId: u.id, method: 'okta_verify_push', minFactorAgeDays: 7 }, ctx);
      expect(started).toMatchObject({ level: 'callback', factor: { id: sim.factorsOf(u.id)[0]!.id, type: 'push' } });
      expect(await poll(started.transactionId)).toEqual({ status: 'waiting' });
      expect(started.transactionId).toBe(`${sim.factorsOf(u.id)[0]!.id}:${sim.answerPush(u.id, 'approve')}`);
      expect(await poll(started.transactionId)).toEqual({ status: 'success', verifiedAt: expect.any(String) });
      const again = await connector.proofer!.start({ tenant: 'acme', targetId: u.id, method: 'okta_verify_push', minFactorAgeDays: 7 }, ctx);
      sim.answerPush(u.id, 'deny');
      expect(await poll(again.transactionId)).toEqual({ status: 'rejected' });
    });

    it('reports a push nobody answered as timed out once Okta lets it expire', async () => {
      const clock = { now: new Date() };
      const local = await new Sim({ clock: () => clock.now }).start();
      try {
        const u = local.addUser({ login: 'tia@acme.example' });
        local.addFactor(u.id, 'push', new Date(clock.now.getTime() - 30 * 86_400_000));
        const { ctx } = context(local);
        const started = await connector.proofer!.start({ tenant: 'acme', targetId: u.id, method: 'okta_verify_push', minFactorAgeDays: 7 }, ctx);
        clock.now = new Date(clock.now.getTime() + 4 * 60_000);
        expect(await connector.proofer!.poll({ tenant: 'acme', targetId: u.id, transactionId: started.transactionId }, ctx)).toEqual({ status: 'waiting' });
        clock.now = new Date(clock.now.getTime() + 2 * 60_000);
        expect(await connector.proofer!.poll({ tenant: 'acme', targetId: u.id, transactionId: started.transactionId }, ctx)).toEqual({ status: 'timeout' });
        expect(() => local.answerPush(u.id, 'approve')).toThrow(/no Okta Verify push is waiting/);
      } finally {
        await local.close();
      }
    });

    it('does not count a factor enrolled within minFactorAgeDays', async () => {
      const u = sim.addUser({ login: 'newbie@acme.example' });
      sim.addFactor(u.id, 'push', new Date(Date.now() - 2 * 86_400_000));
      const young = connector.proofer!.start({ tenant: 'acme', targetId: u.id, method: 'okta_verify_push', minFactorAgeDays: 7 }, context(sim).ctx);
      await expect(young).rejects.toThrow(ProofingRefused);
      await expect(young).rejects.toThrow(/enrolled or changed 2 day\(s\) ago; factors newer than 7 days do not count/);
      const none = sim.addUser({ login: 'none@acme.example' });
      const nothing = connector.proofer!.start({ tenant: 'acme', targetId: none.id, method: 'okta_verify_push', minFactorAgeDays: 7 }, context(sim).ctx);
      await expect(nothing).rejects.toThrow(ProofingRefused);
      await expect(nothing).rejects.toThrow(/no active Okta Verify push factor/);
    });
  });

  describe('directory', () => {
    it('reads a user with groups, admin roles and profile attributes', async () => {
      const { ctx } = context(sim);
      const principal = await connector.directory!.getUser('acme', 'agent@acme.example', ctx);
      expect(principal).toMatchObject({ id: agent.id, login: 'agent@acme.example', groups: ['Service Desk'], adminRoles: ['HELP_DESK_ADMIN'] });
      expect(await connector.directory!.getUser('acme', 'nobody@acme.example', ctx)).toBeUndefined();
    });
  });

  describe('set-up commands', () => {
    it('creates the hold group and prints the account management policy rule', async () => {
      const local = await new Sim().start();
      try {
        const setup = oktaConfigDir([{ id: 'acme', sim: local, mode: 'enforce' }]);
        const out: string[] = [];
        const old = { ...process.env };
        Object.assign(process.env, setup.env);
        try {
          const code = await runCli(
            ['--config', setup.configFile, 'okta', 'provision', '--tenant', 'acme'],
            { out: (s) => void out.push(s), err: (s) => void out.push(s) },
            [connector],
          );
          expect(code).toBe(0);
          const group = [...local.groups.values()].find((g) => g.profile.name === 'Warden Hold')!;
          expect(out.join('')).toContain(`hold group "Warden Hold": ${group.id} (created)`);
          expect(out.join('')).toContain(JSON.stringify(holdRule(group.id), null, 2));
          expect(out.join('')).toContain(`Warden acts in Okta as ${local.tokenOwner.id}: for broker mode, add it to tenants[].workflow.brokerIdentities`);
          const failed: string[] = [];
          expect(
            await runCli(
              ['--config', setup.configFile, 'okta', 'hooks', 'register', '--tenant', 'acme', '--url', 'http://127.0.0.1:9/'],
              { out: (s) => void failed.push(s), err: (s) => void failed.push(s) },
              [connector],
            ),
          ).toBe(1);
          expect(failed.join('')).toMatch(/verification UNVERIFIED \(Api validation failed: Verification failed/);
          const listed: string[] = [];
          expect(
            await runCli(
              ['--config', setup.configFile, 'okta', 'hooks', 'list', '--tenant', 'acme', '--json'],
              { out: (s) => void listed.push(s), err: () => undefined },
              [connector],
            ),
          ).toBe(1);
          expect(JSON.parse(listed.join(''))).toEqual([expect.objectContaining({ verificationStatus: 'UNVERIFIED', missing: [], extra: [] })]);
        } finally {
          process.env = old;
        }
      } finally {
        await local.close();
      }
    });

    it("okta provision --apply adds the hold rule to the simulator's account management policy, once", async () => {
      const local = await new Sim().start();
      try {
        const setup = oktaConfigDir([{ id: 'acme', sim: local, mode: 'enforce' }]);
        const old = { ...process.env };
        Object.assign(process.env, setup.env);
        try {
          const run = async () => {
            const out: string[] = [];
            const code = await runCli(
              ['--config', setup.configFile, 'okta', 'provision', '--tenant', 'acme', '--apply'],
              { out: (s) => void out.push(s), err: (s) => void out.push(s) },
              [connector],
            );
            return { code, out: out.join('') };
          };
          const first = await run();
          expect(first.out).not.toMatch(/\b404\b/); // a 404 answer, not the digits inside a random Okta id (00ue…65404d)
          expect(first.code).toBe(0);
          const group = [...local.groups.values()].find((g) => g.profile.name === 'Warden Hold')!;
          const rules = () => local.policies.get('rstAcctMgmt0')!.rules;
          expect(rules().map((r) => r.name)).toEqual([HOLD_RULE_NAME, 'Catch-all Rule']);
          expect(rules()[0]).toMatchObject({ conditions: { people: { groups: { include: [group.id] } } }, actions: { appSignOn: { access: 'DENY' } } });
          expect((await run()).code).toBe(0);
          expect(rules().filter((r) => r.name === HOLD_RULE_NAME)).toHaveLength(1);
          expect(local.policies.get('rstAppSignOn0')!.rules.map((r) => r.name)).toEqual(['Catch-all Rule']);
        } finally {
          process.env = old;
        }
      } finally {
        await local.close();
      }
    });

    it('leaves MFA challenge outcomes off the event hook when the tenant polls them (eventHook.signals: false)', async () => {
      const local = await new Sim().start();
      try {
        const types = async (signals: boolean) => {
          const yaml = `      orgUrl: ${local.url}\n      simulator: true\n      auth: { type: api_token, token: oktaToken }\n      eventHook: { secret: hook, signals: ${signals} }\n`;
          const config = oktaTenantConfig(connector, yaml, { OKTA_TOKEN: local.token, HOOK: 'h' });
          const tenant = createOktaTenants().get(config, 'acme');
          await registerEventHook(tenant, 'http://127.0.0.1:9/');
          const items = [...local.hooks.values()][0]!.events.items;
          return { items, drift: hookDrift(items, hookEventTypes({ signals: tenant.config.eventHook.signals })) };
        };
        const polled = await types(false);
        expect(polled.items).not.toContain('user.authentication.auth_via_mfa');
        expect(polled.items).toContain('user.mfa.factor.reset_all');
        expect(polled.drift).toEqual({ missing: [], extra: [] });
        const hooked = await types(true);
        expect(hooked.items).toEqual([...HOOK_EVENT_TYPES]);
        expect(hooked.items).toContain('user.authentication.auth_via_mfa');
        expect(local.hooks.size).toBe(1); // replaced, not added
      } finally {
        await local.close();
      }
    });

    it('applies the rule to the account management policy once (nock)', async () => {
      nock.disableNetConnect();
      nock.enableNetConnect('127.0.0.1');
      try {
        const config = oktaTenantConfig(
          connector,
          `      orgUrl: https://acme.okta.com\n      auth: { type: api_token, token: oktaToken }\n      eventHook: { secret: hook }\n`,
          { OKTA_TOKEN: 'tok', HOOK: 'h' },
        );
        const tenant = createOktaTenants().get(config, 'acme');
        const api = nock('https://acme.okta.com', { reqheaders: { authorization: 'SSWS tok' } });
        api
          .get('/api/v1/policies')
          .query({ type: 'ACCESS_POLICY', expand: 'resourceType' })
          .times(2)
          .reply(200, [
            { id: 'rst1', name: 'Default Policy', _embedded: { resourceType: 'APP' } },
            { id: 'rstOAMP', name: 'Okta Account Management Policy', _embedded: { resourceType: 'END_USER_ACCOUNT_MANAGEMENT' } },
          ]);
        api.get('/api/v1/policies/rstOAMP/rules').reply(200, [{ id: 'rul0', name: 'Catch-all Rule' }]);
        api
          .post(
            '/api/v1/policies/rstOAMP/rules',
            (body: { name: string; conditions: { people: { groups: { include: string[] } } }; actions: { appSignOn: { access: string } } }) =>
              body.name === HOLD_RULE_NAME && body.conditions.people.groups.include[0] === '00gHOLD' && body.actions.appSignOn.access === 'DENY',
          )
          .reply(200, { id: 'rulWARDEN' });
        api.get('/api/v1/policies/rstOAMP/rules').reply(200, [{ id: 'rulWARDEN', name: HOLD_RULE_NAME }]);
        expect(await applyHoldRule(tenant, '00gHOLD')).toEqual({ policyId: 'rstOAMP', ruleId: 'rulWARDEN', created: true });
        expect(await applyHoldRule(tenant, '00gHOLD')).toEqual({ policyId: 'rstOAMP', ruleId: 'rulWARDEN', created: false });
        expect(nock.isDone()).toBe(true);
      } finally {
        nock.cleanAll();
        nock.enableNetConnect();
      }
    });

    it('back-fills the System Log into the inbox from the CLI, with progress on stderr', async () => {
      const local = await new Sim().start();
      try {
        const u = local.addUser({ login: 'b@acme.example' });
        local.adminResetFactors(local.tokenOwner.id, u.id);
        local.adminResetFactors(local.tokenOwner.id, u.id);
        const setup = oktaConfigDir([{ id: 'acme', sim: local, mode: 'enforce' }]);
        const out: string[] = [];
        const err: string[] = [];
        const old = { ...process.env };
        Object.assign(process.env, setup.env);
        try {
          const code = await runCli(
            ['--config', setup.configFile, 'okta', 'backfill', '--tenant', 'acme', '--since', '2h'],
            { out: (s) => void out.push(s), err: (s) => void err.push(s) },
            [connector],
          );
          expect([code, out.join('')]).toEqual([0, expect.stringMatching(/^acme: read 2 event\(s\) in 1 page\(s\) since .+; 2 new in the inbox/)]);
          // Progress with records, pages, rate and an ETA, on stderr.
          expect(err.join('')).toMatch(/^backfill acme okta System Log: 100% up to \S+, 2 records \(2 new\), 1 pages, [\d.]+ records\/s, ETA 0s\n$/m);
          expect(local.requests.find((r) => r.path === '/api/v1/logs')!.query.get('until')).toBeTruthy();
        } finally {
          process.env = old;
        }
      } finally {
        await local.close();
      }
    }, 90_000); // the CLI opens (and migrates) an embedded store: ~29 s alone on a loaded 2-core machine, against vitest's 30 s default
  });
});
