import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import express from 'express';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mountInlineHooks } from '../../connectors/okta/inline-hooks.js';
import { createOktaDirectory, type OktaDirectory } from '../../connectors/okta/okta-directory.js';
import { createOktaTenants } from '../../connectors/okta/okta-tenant.js';
import type { OktaSimulator, SimUser } from '../../connectors/okta/simulator/okta-simulator.js';
import { loadConfig } from '../../src/config/load-config.js';
import { oktaConnector } from '../../connectors/okta/index.js';
import type { ConnectorContext } from '../../src/connector/contract.js';
import { groupCommitOf } from '../../src/connector/inbox-group-commit.js';
import { WardenError } from '../../src/core/errors.js';
import { createLogger } from '../../src/runtime/logger.js';
import { Metrics } from '../../src/runtime/metrics.js';
import { errorHandler } from '../../src/server/problem.js';
import { startServer, type RunningServer } from '../../src/app/start-server.js';
import { packageRoot } from '../../src/package-root.js';
import { EXAMPLE_POLICY_FILE } from '../helpers/policies.js';
import { seededSimulator } from '../helpers/okta-setup.js';
import { seedDataDir } from '../helpers/pglite-template.js';
import { rawSql } from '../helpers/test-stores.js';

/**
 * The Okta receivers on the real server: event hook authentication and input
 * checks, one test per failure mode with its status and error code; inline
 * hooks with Okta's response shapes (test/fixtures/okta) and both of Okta's
 * inline hook authentication schemes.
 */

const FIXTURES = path.join(packageRoot(), 'test', 'fixtures', 'okta');
const fixture = (file: string) => JSON.parse(readFileSync(path.join(FIXTURES, file), 'utf8')) as Record<string, unknown>;
const ACME_SECRET = 'acme-event-hook-secret-4242';
const GLOBEX_SECRET = 'globex-event-hook-secret-7777';
const INLINE_SECRET = 'acme-inline-secret-0000';

/** A delivery built from Okta's sample: its envelope with `events`. */
const delivery = (events: unknown[]) => ({ ...fixture('event-hook-delivery-user-session-start.json'), data: { events } });
const sampleEvent = () => (fixture('event-hook-delivery-user-session-start.json') as { data: { events: Array<Record<string, unknown>> } }).data.events[0]!;

describe('Okta hook receivers', () => {
  let server: RunningServer;
  let sim: OktaSimulator;
  let held: SimUser;
  let free: SimUser;
  let jwks: http.Server;
  let issuer: string;
  let key: CryptoKey;
  let otherKey: CryptoKey;

  beforeAll(async () => {
    ({ sim } = await seededSimulator());
    held = sim.addUser({ login: 'held@acme.example' }, { groups: ['Warden Hold'] });
    free = sim.addUser({ login: 'free@acme.example' });
    const pair = await generateKeyPair('RS256');
    key = pair.privateKey;
    otherKey = (await generateKeyPair('RS256')).privateKey;
    const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    jwks = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
    issuer = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/oauth2/default`;

    const dir = mkdtempSync(path.join(tmpdir(), 'warden-okta-hooks-'));
    mkdirSync(path.join(dir, 'policies'));
    writeFileSync(
      path.join(dir, 'policies', 'acme.yaml'),
      readFileSync(EXAMPLE_POLICY_FILE, 'utf8').replace(
        'rules:\n',
        'rules:\n  - id: no-progressive-profile-changes\n    when: \'change.kind == "recovery.update" && change.source.rawType.endsWith("progressive.profile")\'\n    outcome: deny\n',
      ),
    );
    for (const t of ['globex', 'plain'])
      writeFileSync(path.join(dir, 'policies', `${t}.yaml`), readFileSync(EXAMPLE_POLICY_FILE, 'utf8').replace(/^tenant: acme$/m, `tenant: ${t}`));
    const secrets =
      '    secrets: { oktaToken: { env: OKTA_TOKEN }, acmeHook: { env: ACME_HOOK }, globexHook: { env: GLOBEX_HOOK }, acmeInline: { env: ACME_INLINE } }\n';
    const okta = (extra: string) =>
      `${secrets}    okta:\n      orgUrl: ${sim.url}\n      simulator: true\n      auth: { type: api_token, token: oktaToken }\n${extra}`;
    writeFileSync(
      path.join(dir, 'warden.yaml'),
      `listen: { host: 127.0.0.1, port: 0 }\ndataDir: data\ndurability: relaxed\nlimits: { bodyBytes: 65536 }\ntenants:\n` +
        `  - id: acme\n    policy: policies/acme.yaml\n${okta(`      eventHook: { header: Authorization, secret: acmeHook }\n      inlineHooks: { header: x-warden-hook, secret: acmeInline }\n`)}` +
        `  - id: globex\n    policy: policies/globex.yaml\n${okta(`      eventHook: { header: x-okta-secret, secret: globexHook }\n      inlineHooks:\n        oauth: { issuer: "${issuer}", audience: "api://warden", scope: warden.hooks }\n`)}` +
        `  - id: plain\n    policy: policies/plain.yaml\n`,
    );
    // The run's migrated template store, not a fresh initdb.
    seedDataDir(path.join(dir, 'data'));
    const connector = oktaConnector();
    const config = loadConfig({
      path: path.join(dir, 'warden.yaml'),
      env: { OKTA_TOKEN: sim.token, ACME_HOOK: ACME_SECRET, GLOBEX_HOOK: GLOBEX_SECRET, ACME_INLINE: INLINE_SECRET },
      connectors: [connector],
      resolveSecrets: true,
    });
    server = await startServer({ config, connectors: [connector], log: createLogger('silent'), watchPolicies: false, workers: false });
  });
  afterAll(async () => {
    await server?.close();
    await sim?.close();
    jwks?.close();
  });

  const inboxCount = async () => (await server.store.claimInbox(1000, new Date(Date.now() + 3600_000), 0)).length;
  const post = (tenant: string, body: string, headers: Record<string, string>, hook = 'events') =>
    fetch(`${server.url}/hooks/okta/${tenant}/${hook}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const problem = async (res: Response) => ({ status: res.status, code: ((await res.json()) as { code: string }).code });

  it('documents its routes and payloads in /openapi.json', async () => {
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, unknown> };
    };
    expect(Object.keys(doc.paths['/hooks/okta/{tenant}/events']!).sort()).toEqual(['get', 'post']);
    expect(doc.paths['/hooks/okta/{tenant}/inline/{hook}']).toBeDefined();
    expect(doc.components.schemas.OktaEventHookDelivery).toBeDefined();
  });

  describe('event hook: one-time verification', () => {
    it('echoes the challenge for the configured tenant with the right header', async () => {
      const res = await fetch(`${server.url}/hooks/okta/acme/events`, { headers: { 'x-okta-verification-challenge': 'abc-123', authorization: ACME_SECRET } });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ verification: 'abc-123' }); // fixture event-hook-verification-response.json's shape
      expect(Object.keys(fixture('event-hook-verification-response.json'))).toEqual(['verification']);
    });

    it('refuses verification without the auth header (401, no echo)', async () => {
      const res = await fetch(`${server.url}/hooks/okta/acme/events`, { headers: { 'x-okta-verification-challenge': 'abc-123' } });
      const text = await res.text();
      expect(res.status).toBe(401);
      expect(JSON.parse(text).code).toBe('ERR_AUTH_REQUIRED');
      expect(text).not.toContain('abc-123');
    });

    it('refuses verification with a wrong secret (401)', async () => {
      expect(
        await problem(await fetch(`${server.url}/hooks/okta/acme/events`, { headers: { 'x-okta-verification-challenge': 'x', authorization: 'nope' } })),
      ).toEqual({ status: 401, code: 'ERR_AUTH_INVALID' });
    });

    it('answers 400 when the challenge header is missing', async () => {
      expect(await problem(await fetch(`${server.url}/hooks/okta/acme/events`, { headers: { authorization: ACME_SECRET } }))).toEqual({
        status: 400,
        code: 'ERR_VALIDATION',
      });
    });
  });

  describe('event hook: deliveries', () => {
    const good = () => JSON.stringify(delivery([sampleEvent()]));

    it('stores a delivery of over 100 events whole, in one insert, and the inbox worker splits it into one entry per event, de-duplicated', async () => {
      const { uuid: _uuid, ...rest } = sampleEvent();
      // Okta's LogEvent with only the fields Warden keys on, so that hundreds fit in this server's 64 KiB body limit.
      const event = (i: number) => ({ uuid: `whole-${i}`, eventType: rest.eventType, published: rest.published });
      const first = Array.from({ length: 150 }, (_, i) => event(i));
      const puts = vi.spyOn(server.context.store, 'putInboxMany');
      const transactions = vi.spyOn(server.context.store, 'transaction');
      try {
        expect((await post('acme', JSON.stringify({ ...delivery(first), eventId: 'whole-delivery-1' }), { authorization: ACME_SECRET })).status).toBe(200);
        expect([puts.mock.calls.length, puts.mock.calls[0]?.[0].length, transactions.mock.calls.length]).toEqual([1, 1, 0]);
      } finally {
        puts.mockRestore();
        transactions.mockRestore();
      }
      // Okta's retry of it, and a second delivery sharing 50 of its events.
      expect((await post('acme', JSON.stringify({ ...delivery(first), eventId: 'whole-delivery-1' }), { authorization: ACME_SECRET })).status).toBe(200);
      const second = Array.from({ length: 150 }, (_, i) => event(100 + i));
      expect((await post('acme', JSON.stringify({ ...delivery(second), eventId: 'whole-delivery-2' }), { authorization: ACME_SECRET })).status).toBe(200);
      const db = rawSql(server.store);
      const stored = await db.query<{ event_id: string; state: string }>(
        `SELECT event_id, state FROM inbox WHERE event_id LIKE 'delivery:whole-%' OR event_id LIKE 'whole-%'`,
      );
      expect(stored.map((r) => r.event_id).sort()).toEqual(['delivery:whole-delivery-1', 'delivery:whole-delivery-2']);

      while ((await server.inbox.runOnce()) > 0);
      const after = await db.query<{ event_id: string; state: string }>(
        `SELECT event_id, state FROM inbox WHERE event_id LIKE 'delivery:whole-%' OR event_id LIKE 'whole-%'`,
      );
      const events = after.filter((r) => !r.event_id.startsWith('delivery:'));
      expect(events.map((r) => r.event_id).sort()).toEqual(Array.from({ length: 250 }, (_, i) => `whole-${i}`).sort());
      // Every entry handled once: the deliveries split, each event normalized (user.session.start is not governed).
      expect(new Set(after.map((r) => r.state))).toEqual(new Set(['processed', 'ignored']));
      expect(after.filter((r) => r.event_id.startsWith('delivery:')).map((r) => r.state)).toEqual(['processed', 'processed']);
      expect(events.every((r) => r.state === 'ignored')).toBe(true);
    });

    it('refuses an event nested 10,000 deep (400 ERR_BODY_MALFORMED, not a stack overflow and a 500)', async () => {
      const event = JSON.stringify({ ...sampleEvent(), uuid: 'deep-nesting-1' }).slice(0, -1);
      const body = JSON.stringify(delivery([])).replace('"events":[]', `"events":[${event},"debugContext":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}]`);
      expect(await problem(await post('acme', body, { authorization: ACME_SECRET }))).toEqual({ status: 400, code: 'ERR_BODY_MALFORMED' });
    });

    it('refuses bad percent-encoding in the tenant segment of an inline hook (400 ERR_VALIDATION)', async () => {
      expect(await problem(await post('%E0%A4%A', '{}', { 'x-warden-hook': INLINE_SECRET }, 'inline/registration'))).toEqual({
        status: 400,
        code: 'ERR_VALIDATION',
      });
    });

    it('refuses a delivery without the auth header (401), storing nothing', async () => {
      const before = await inboxCount();
      expect(await problem(await post('acme', good(), {}))).toEqual({ status: 401, code: 'ERR_AUTH_REQUIRED' });
      expect(await inboxCount()).toBe(before);
    });

    it('refuses a wrong secret (401), storing nothing', async () => {
      expect(await problem(await post('acme', good(), { authorization: `${ACME_SECRET}x` }))).toEqual({ status: 401, code: 'ERR_AUTH_INVALID' });
      expect(await inboxCount()).toBe(0);
    });

    it("refuses one tenant's secret on another tenant (401)", async () => {
      expect(await problem(await post('globex', good(), { 'x-okta-secret': ACME_SECRET }))).toEqual({ status: 401, code: 'ERR_AUTH_INVALID' });
      expect(await problem(await post('globex', good(), { authorization: ACME_SECRET }))).toEqual({ status: 401, code: 'ERR_AUTH_REQUIRED' }); // globex reads its own header
    });

    it('answers 404 for an unknown tenant and for a tenant without Okta', async () => {
      expect(await problem(await post('initech', good(), { authorization: ACME_SECRET }))).toEqual({ status: 404, code: 'ERR_TENANT_UNKNOWN' });
      expect(await problem(await post('plain', good(), { authorization: ACME_SECRET }))).toEqual({ status: 404, code: 'ERR_TENANT_UNKNOWN' });
    });

    it('refuses an oversized body (413), storing nothing', async () => {
      const big = JSON.stringify(delivery(Array.from({ length: 40 }, (_, i) => ({ ...sampleEvent(), uuid: `big-${i}` }))));
      expect(big.length).toBeGreaterThan(65536);
      expect(await problem(await post('acme', big, { authorization: ACME_SECRET }))).toEqual({ status: 413, code: 'ERR_BODY_TOO_LARGE' });
      expect(await inboxCount()).toBe(0);
    });

    it('refuses malformed JSON (400), also when sent as another content type', async () => {
      expect(await problem(await post('acme', '{"eventType": ', { authorization: ACME_SECRET }))).toEqual({ status: 400, code: 'ERR_BODY_MALFORMED' });
      const res = await fetch(`${server.url}/hooks/okta/acme/events`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', authorization: ACME_SECRET },
        body: 'not json',
      });
      expect(await problem(res)).toEqual({ status: 400, code: 'ERR_BODY_MALFORMED' });
    });

    it('refuses JSON that is not an event hook envelope (400), storing nothing', async () => {
      const { uuid: _u, ...noUuid } = sampleEvent();
      for (const body of [{}, { ...delivery([sampleEvent()]), eventType: 'com.okta.something' }, delivery([]), delivery([noUuid]), [1, 2]])
        expect(await problem(await post('acme', JSON.stringify(body), { authorization: ACME_SECRET }))).toEqual({ status: 400, code: 'ERR_VALIDATION' });
      expect(await inboxCount()).toBe(0);
    });

    it("stores one inbox row per LogEvent uuid and answers 200 with an empty body; Okta's retry stores nothing new", async () => {
      const events = [sampleEvent(), { ...sampleEvent(), uuid: 'second-uuid' }];
      const res = await post('acme', JSON.stringify(delivery(events)), { authorization: ACME_SECRET });
      expect([res.status, await res.text()]).toEqual([200, '']);
      const again = await post('acme', JSON.stringify({ ...delivery(events), eventId: 'retry' }), { authorization: ACME_SECRET });
      expect(again.status).toBe(200);
      const rows = await server.store.claimInbox(1000, new Date(Date.now() + 3600_000), 0);
      expect(rows.map((r) => [r.tenant, r.source, r.eventId, r.eventType, r.via]).sort()).toEqual(
        [
          ['acme', 'okta', 'second-uuid', 'user.session.start', 'hook'],
          ['acme', 'okta', sampleEvent().uuid, 'user.session.start', 'hook'],
        ].sort(),
      );
      expect(rows.find((r) => r.eventId === sampleEvent().uuid)!.payload).toEqual(sampleEvent()); // kept verbatim
    });

    it('stores concurrent deliveries together (group commit), answering none before the statement holding it has committed', async () => {
      const ids = Array.from({ length: 6 }, (_, i) => `group-${i}`);
      // The store under the connectors' view of it (which the group commit is keyed on, and which calls this one).
      const store = server.context.store;
      const original = server.store.putInboxMany.bind(server.store);
      const statements: string[][] = [];
      let release!: () => void;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      const entered: Array<() => void> = [];
      const spy = vi.spyOn(server.store, 'putInboxMany').mockImplementation(async (entries) => {
        statements.push(entries.map((e) => e.eventId));
        for (const wake of entered.splice(0)) wake();
        await held;
        return original(entries);
      });
      try {
        const firstWritten = new Promise<void>((resolve) => entered.push(resolve));
        let answered = 0;
        const first = post('acme', JSON.stringify(delivery([{ ...sampleEvent(), uuid: ids[0] }])), { authorization: ACME_SECRET }).then((r) => {
          answered++;
          return r;
        });
        await firstWritten;
        // Five more while the first statement is held: they wait for it, then go in one statement.
        const rest = ids.slice(1).map((uuid) =>
          post('acme', JSON.stringify(delivery([{ ...sampleEvent(), uuid }])), { authorization: ACME_SECRET }).then((r) => {
            answered++;
            return r;
          }),
        );
        // Every one of them received and waiting for the next statement before the first is released: none answered.
        await vi.waitFor(() => expect(groupCommitOf(store).waiting).toBe(5));
        expect(answered).toBe(0);
        release();
        const statuses = await Promise.all([first, ...rest].map(async (p) => (await p).status));
        expect(statuses).toEqual(ids.map(() => 200));
        expect(statements[0]).toEqual([ids[0]]);
        expect(statements.length).toBeLessThan(ids.length);
        expect(statements.flat().sort()).toEqual([...ids].sort());
      } finally {
        release();
        spy.mockRestore();
      }
      const rows = await rawSql(server.store).query<{ event_id: string }>(`SELECT event_id FROM inbox WHERE event_id LIKE 'group-%'`);
      expect(rows.map((r) => r.event_id).sort()).toEqual([...ids].sort());
    });

    it('fails only the delivery the store refuses (503, Okta retries it) when it shared a statement with others, which are stored', async () => {
      // The store under the connectors' view of it (which the group commit is keyed on, and which calls this one).
      const store = server.context.store;
      const original = server.store.putInboxMany.bind(server.store);
      let release!: () => void;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      let calls = 0;
      const spy = vi.spyOn(server.store, 'putInboxMany').mockImplementation(async (entries) => {
        if (++calls === 1) await held;
        if (entries.some((e) => e.eventId === 'refused-1')) throw new WardenError('ERR_STORE', 'the store refused this statement');
        return original(entries);
      });
      try {
        const send = (uuid: string) => post('acme', JSON.stringify(delivery([{ ...sampleEvent(), uuid }])), { authorization: ACME_SECRET });
        const first = send('refusal-0');
        await vi.waitFor(() => expect(calls).toBe(1));
        const rest = ['refusal-1', 'refused-1', 'refusal-2'].map(send);
        await vi.waitFor(() => expect(groupCommitOf(store).waiting).toBe(3));
        release();
        const statuses = await Promise.all([first, ...rest].map(async (p) => (await p).status));
        expect(statuses).toEqual([200, 200, 503, 200]);
        // The statement of the three failed, then each was written alone.
        expect(calls).toBe(5);
      } finally {
        release();
        spy.mockRestore();
      }
      const rows = await rawSql(server.store).query<{ event_id: string }>(`SELECT event_id FROM inbox WHERE event_id LIKE 'refus%'`);
      expect(rows.map((r) => r.event_id).sort()).toEqual(['refusal-0', 'refusal-1', 'refusal-2']);
    });

    it('counts every call by result and times it under the route pattern, as the other routes are', async () => {
      /** The counters this test moves, by name. */
      const sample = async () => {
        const text = await (await fetch(`${server.url}/metrics`)).text();
        const value = (series: string) =>
          Number(
            text
              .split('\n')
              .find((l) => l.startsWith(`${series} `))
              ?.slice(series.length + 1) ?? 0,
          );
        const counters: Record<string, number> = {};
        for (const result of ['stored', 'verified', 'unauthorized', 'malformed', 'too_large'])
          counters[result] = value(`warden_okta_hook_deliveries_total{tenant="acme",result="${result}"}`);
        for (const stored of ['true', 'false']) counters[`events stored=${stored}`] = value(`warden_okta_hook_events_total{tenant="acme",stored="${stored}"}`);
        for (const [method, status] of [
          ['POST', 200],
          ['POST', 401],
          ['POST', 400],
          ['POST', 413],
          ['GET', 200],
        ] as const)
          counters[`timed ${method} ${status}`] = value(
            `warden_http_request_duration_seconds_count{method="${method}",route="/hooks/okta/:tenant/events",status="${status}"}`,
          );
        return counters;
      };
      const before = await sample();
      const event = { ...sampleEvent(), uuid: 'counted-uuid' };
      await post('acme', JSON.stringify(delivery([event])), { authorization: ACME_SECRET });
      await post('acme', JSON.stringify(delivery([event, { ...event, uuid: 'counted-uuid-2' }])), { authorization: ACME_SECRET });
      await post('acme', JSON.stringify(delivery([event])), { authorization: 'wrong' });
      await post('acme', '{"eventType": ', { authorization: ACME_SECRET });
      await post('acme', JSON.stringify({}), { authorization: ACME_SECRET });
      await post('acme', JSON.stringify(delivery(Array.from({ length: 40 }, (_, i) => ({ ...sampleEvent(), uuid: `big-${i}` })))), {
        authorization: ACME_SECRET,
      });
      await fetch(`${server.url}/hooks/okta/acme/events`, { headers: { 'x-okta-verification-challenge': 'c', authorization: ACME_SECRET } });
      const after = await sample();
      expect(Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - before[k]!]))).toEqual({
        stored: 2,
        verified: 1,
        unauthorized: 1,
        malformed: 2, // not JSON, not an envelope
        too_large: 1,
        'events stored=true': 2,
        'events stored=false': 1, // counted-uuid again
        'timed POST 200': 2,
        'timed POST 401': 1,
        'timed POST 400': 2,
        'timed POST 413': 1,
        'timed GET 200': 1,
      });
    });
  });

  describe('inline hooks', () => {
    const inline = (tenant: string, hook: string, body: unknown, headers: Record<string, string>) =>
      post(tenant, JSON.stringify(body), headers, `inline/${hook}`);
    const acmeAuth = { 'x-warden-hook': INLINE_SECRET };
    const token = (claims: Record<string, unknown>, options: { key?: CryptoKey; exp?: string; iss?: string; aud?: string } = {}) =>
      new SignJWT({ scp: ['warden.hooks'], ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setIssuer(options.iss ?? issuer)
        .setAudience(options.aud ?? 'api://warden')
        .setIssuedAt()
        .setExpirationTime(options.exp ?? '5m')
        .sign(options.key ?? key);

    it("denies a progressive profile update the policy denies, in Okta's command shape", async () => {
      const res = await inline('acme', 'registration', fixture('registration-inline-hook-request-progressive-profile.json'), acmeAuth);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { commands: unknown[]; error: { errorSummary: string; errorCauses: Array<Record<string, unknown>> } };
      const okta = fixture('registration-inline-hook-response-deny-progressive-profile.json') as typeof body;
      expect(body.commands).toEqual(okta.commands);
      expect(Object.keys(body.error)).toEqual(Object.keys(okta.error));
      expect(Object.keys(body.error.errorCauses[0]!).sort()).toEqual(Object.keys(okta.error.errorCauses[0]!).sort());
      const decided = (await server.store.readAudit('acme', 0, 1000))
        .map((r) => JSON.parse(r.record))
        .find((r) => r.type === 'decision.recorded' && r.data.change.source.via === 'inline');
      expect(decided.data).toMatchObject({ outcome: 'deny', change: { kind: 'recovery.update', targetId: '00u48gwcu01WxvNo' } });
    });

    it('allows a self-service registration the policy allows', async () => {
      const res = await inline('acme', 'registration', fixture('registration-inline-hook-request-ssr.json'), acmeAuth);
      expect(await res.json()).toEqual({ commands: [{ type: 'com.okta.action.update', value: { registration: 'ALLOW' } }] });
    });

    it('refuses tokens (error object) for a user in the hold group, and lets others through (204)', async () => {
      const request = fixture('token-inline-hook-request.json') as { data: { context: { user: { id: string } } } };
      const forUser = (id: string) => ({
        ...request,
        data: { ...request.data, context: { ...request.data.context, user: { ...request.data.context.user, id } } },
      });
      const refused = await inline('acme', 'token', forUser(held.id), acmeAuth);
      expect(refused.status).toBe(200);
      expect(await refused.json()).toEqual({ error: { errorSummary: expect.stringContaining('on hold') } });
      const allowed = await inline('acme', 'token', forUser(free.id), acmeAuth);
      expect([allowed.status, await allowed.text()]).toEqual([204, '']);
    });

    it('observes a phone enrollment through the telephony hook, and answers so Okta sends the OTP itself (it cannot block)', async () => {
      const res = await inline('acme', 'telephony', fixture('telephony-inline-hook-request-pre-enrollment.json'), acmeAuth);
      const body = (await res.json()) as { error: { errorSummary: string; errorCauses: unknown[] } };
      expect(res.status).toBe(200);
      expect(Object.keys(body)).toEqual(Object.keys(fixture('telephony-inline-hook-response-error.json')));
      const records = (await server.store.readAudit('acme', 0, 1000)).map((r) => JSON.parse(r.record));
      const observed = records.find((r) => r.type === 'decision.recorded' && r.data.change.targetId === '00uyxxSknGtK8022w0g3');
      expect(observed.data.change).toMatchObject({ kind: 'factor.enroll', channel: 'self_service', source: { via: 'inline' } });
      expect(JSON.stringify(records)).not.toContain('11111'); // the OTP is never recorded
    });

    it('refuses inline calls without or with a wrong shared header (401)', async () => {
      const body = fixture('registration-inline-hook-request-ssr.json');
      expect(await problem(await inline('acme', 'registration', body, {}))).toEqual({ status: 401, code: 'ERR_AUTH_REQUIRED' });
      expect(await problem(await inline('acme', 'registration', body, { 'x-warden-hook': 'wrong' }))).toEqual({ status: 401, code: 'ERR_AUTH_INVALID' });
      expect(await problem(await inline('acme', 'nonsense', body, acmeAuth))).toEqual({ status: 404, code: 'ERR_NOT_FOUND' });
      expect(await problem(await inline('plain', 'registration', body, acmeAuth))).toEqual({ status: 404, code: 'ERR_TENANT_UNKNOWN' });
    });

    it('accepts an OAuth 2.0 inline hook with a valid access token (client_secret_post / private_key_jwt: same bearer token)', async () => {
      const res = await inline('globex', 'registration', fixture('registration-inline-hook-request-ssr.json'), { authorization: `Bearer ${await token({})}` });
      expect(res.status).toBe(200);
    });

    it.each([
      ['no bearer token', async () => ({}), 'ERR_AUTH_REQUIRED'],
      ['not a bearer token', async () => ({ authorization: 'Basic abc' }), 'ERR_AUTH_INVALID'],
      ['expired', async () => ({ authorization: `Bearer ${await token({}, { exp: '-10m' })}` }), 'ERR_AUTH_INVALID'],
      ['wrong issuer', async () => ({ authorization: `Bearer ${await token({}, { iss: 'https://evil.example/oauth2/default' })}` }), 'ERR_AUTH_INVALID'],
      ['wrong audience', async () => ({ authorization: `Bearer ${await token({}, { aud: 'api://default' })}` }), 'ERR_AUTH_INVALID'],
      ['signed by another key', async () => ({ authorization: `Bearer ${await token({}, { key: otherKey })}` }), 'ERR_AUTH_INVALID'],
      ['missing scope', async () => ({ authorization: `Bearer ${await token({ scp: ['openid'] })}` }), 'ERR_AUTH_INVALID'],
      ['garbage', async () => ({ authorization: 'Bearer not.a.jwt' }), 'ERR_AUTH_INVALID'],
    ] as const)('refuses an OAuth 2.0 inline hook: %s (401)', async (_name, headers, code) => {
      expect(await problem(await inline('globex', 'registration', fixture('registration-inline-hook-request-ssr.json'), await headers()))).toEqual({
        status: 401,
        code,
      });
    });

    it('refuses a request that is not the hook it was sent to (400)', async () => {
      expect(await problem(await inline('acme', 'token', fixture('registration-inline-hook-request-ssr.json'), acmeAuth))).toEqual({
        status: 400,
        code: 'ERR_VALIDATION',
      });
    });
  });
});

describe('inline hook deadline', () => {
  const deadlineApp = async (directory: OktaDirectory) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'warden-okta-deadline-'));
    writeFileSync(path.join(dir, 'acme.yaml'), readFileSync(EXAMPLE_POLICY_FILE, 'utf8'));
    writeFileSync(
      path.join(dir, 'warden.yaml'),
      'tenants:\n  - id: acme\n    policy: acme.yaml\n    secrets: { t: { env: T } }\n    okta:\n      orgUrl: https://acme.okta.com\n      auth: { type: api_token, token: t }\n      eventHook: { secret: t }\n      inlineHooks: { secret: t, deadlineMs: 150 }\n',
    );
    const config = loadConfig({ path: path.join(dir, 'warden.yaml'), env: { T: 'secret' }, connectors: [oktaConnector()], resolveSecrets: true });
    const audit: Array<{ type: string; data: Record<string, unknown> }> = [];
    const store = {
      transaction: (fn: (tx: unknown) => Promise<unknown>) => fn(store),
      appendAudit: async (_t: string, build: (h: { seq: number; hash: string }) => { record: string }) =>
        void audit.push(JSON.parse(build({ seq: 0, hash: '0'.repeat(64) }).record)),
    };
    const ctx = {
      config,
      store,
      log: createLogger('silent'),
      metrics: new Metrics({ processMetrics: false }),
      clock: () => new Date(),
      policies: { get: () => ({ failure: 'hold' }) },
      decide: () => new Promise(() => undefined), // never decides in time
    } as unknown as ConnectorContext;
    const app = express();
    const router = express.Router();
    mountInlineHooks(router, ctx, createOktaTenants(), directory);
    app.use(router);
    app.use(errorHandler(createLogger('silent')));
    const srv = app.listen(0, '127.0.0.1');
    await new Promise((r) => srv.once('listening', r));
    return { audit, url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/hooks/okta/acme/inline`, close: () => srv.close() };
  };

  it("refuses tokens (the policy's failure outcome) when Okta does not say in time whether the user is held, and records it", async () => {
    const stuck = { isHeld: () => new Promise<boolean>(() => undefined) } as unknown as OktaDirectory;
    const app = await deadlineApp(stuck);
    try {
      const res = await fetch(`${app.url}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'secret' },
        body: readFileSync(path.join(FIXTURES, 'token-inline-hook-request.json'), 'utf8'),
      });
      expect(await res.json()).toEqual({ error: { errorSummary: expect.any(String) } });
      expect(app.audit).toEqual([
        expect.objectContaining({ type: 'okta.inline_hook.deadline', data: expect.objectContaining({ hook: 'token', outcome: 'hold' }) }),
      ]);
    } finally {
      app.close();
    }
  });

  it("answers with the policy's failure outcome when the decision misses the deadline, and records it", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'warden-okta-deadline-'));
    writeFileSync(path.join(dir, 'acme.yaml'), readFileSync(EXAMPLE_POLICY_FILE, 'utf8'));
    writeFileSync(
      path.join(dir, 'warden.yaml'),
      'tenants:\n  - id: acme\n    policy: acme.yaml\n    secrets: { t: { env: T } }\n    okta:\n      orgUrl: https://acme.okta.com\n      auth: { type: api_token, token: t }\n      eventHook: { secret: t }\n      inlineHooks: { secret: t, deadlineMs: 150 }\n',
    );
    const connector = oktaConnector();
    const config = loadConfig({ path: path.join(dir, 'warden.yaml'), env: { T: 'secret' }, connectors: [connector], resolveSecrets: true });
    const audit: Array<{ type: string; data: Record<string, unknown> }> = [];
    const store = {
      transaction: (fn: (tx: unknown) => Promise<unknown>) => fn(store),
      appendAudit: async (_t: string, build: (h: { seq: number; hash: string }) => { record: string }) =>
        void audit.push(JSON.parse(build({ seq: 0, hash: '0'.repeat(64) }).record)),
    };
    const ctx = {
      config,
      store,
      log: createLogger('silent'),
      metrics: new Metrics({ processMetrics: false }),
      clock: () => new Date(),
      policies: { get: () => ({ failure: 'hold' }) },
      decide: () => new Promise(() => undefined), // never decides in time
    } as unknown as ConnectorContext;
    const app = express();
    const router = express.Router();
    const tenants = createOktaTenants();
    mountInlineHooks(router, ctx, tenants, createOktaDirectory(tenants));
    app.use(router);
    app.use(errorHandler(createLogger('silent')));
    const srv = app.listen(0, '127.0.0.1');
    await new Promise((r) => srv.once('listening', r));
    try {
      const res = await fetch(`http://127.0.0.1:${(srv.address() as AddressInfo).port}/hooks/okta/acme/inline/registration`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'secret' },
        body: readFileSync(path.join(FIXTURES, 'registration-inline-hook-request-ssr.json'), 'utf8'),
      });
      const body = (await res.json()) as { commands: unknown[] };
      // The answer came although the decision never does: the deadline fired. Okta waits 3 s; the deadline is within that
      // (measured by configuration, not by the wall clock: a busy machine must not fail this test).
      expect(tenants.get(config, 'acme').config.inlineHooks!.deadlineMs).toBeLessThan(3000);
      expect(body.commands).toEqual([{ type: 'com.okta.action.update', value: { registration: 'DENY' } }]); // failure: hold → not now
      expect(audit).toEqual([
        expect.objectContaining({ type: 'okta.inline_hook.deadline', data: expect.objectContaining({ hook: 'registration', outcome: 'hold' }) }),
      ]);
    } finally {
      srv.close();
    }
  });
});
