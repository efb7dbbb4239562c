import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEntraConnector } from '../../connectors/entra/index.js';
import { oktaConnector } from '../../connectors/okta/index.js';
import { loadConfig } from '../../src/config/load-config.js';
import { packageRoot } from '../../src/package-root.js';
import { createLogger } from '../../src/runtime/logger.js';
import { startServer, type RunningServer } from '../../src/app/start-server.js';
import { EXAMPLE_POLICY_FILE } from '../helpers/policies.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { postgresUrl } from '../helpers/test-stores.js';

/**
 * The server on PostgreSQL when the database goes away (a TCP proxy in front
 * of it, cut and stalled): the hooks answer 503 ERR_STORE — Okta and Graph
 * retry, nothing is acknowledged that was not stored — `/readyz` answers 503,
 * the process lives on, and everything works again once the database is back.
 */

const FIXTURES = path.join(packageRoot(), 'test', 'fixtures');
const json = (file: string) => JSON.parse(readFileSync(path.join(FIXTURES, file), 'utf8')) as Record<string, any>;
const OKTA_SECRET = 'acme-event-hook-secret-4242';

describe.skipIf(!postgresUrl)('store outage on PostgreSQL', () => {
  const schema = `warden_outage_${randomBytes(6).toString('hex')}`;
  const entraTenantId = randomUUID();
  const clientState = randomBytes(24).toString('base64url');
  let proxy: TcpProxy;
  let server: RunningServer;
  let oktaSeq = 0;

  beforeAll(async () => {
    const target = new URL(postgresUrl);
    proxy = await startTcpProxy({ target: { host: target.hostname, port: Number(target.port || 5432) } });
    const url = new URL(postgresUrl);
    url.host = proxy.address;
    const dir = mkdtempSync(path.join(tmpdir(), 'warden-outage-'));
    mkdirSync(path.join(dir, 'policies'));
    writeFileSync(path.join(dir, 'policies', 'acme.yaml'), readFileSync(EXAMPLE_POLICY_FILE, 'utf8'));
    writeFileSync(
      path.join(dir, 'warden.yaml'),
      [
        'listen: { host: 127.0.0.1, port: 0 }',
        `database: { url: "${url.toString()}", schema: ${schema}, poolSize: 4, connectTimeoutMs: 8000, statementTimeoutMs: 5000 }`,
        'log: { level: silent }',
        'tenants:',
        '  - id: acme',
        '    policy: policies/acme.yaml',
        '    secrets: { oktaToken: { env: OKTA_TOKEN }, acmeHook: { env: ACME_HOOK } }',
        '    okta:',
        '      orgUrl: https://acme.okta.example',
        '      auth: { type: api_token, token: oktaToken }',
        '      eventHook: { header: Authorization, secret: acmeHook }',
        '    entra:',
        `      tenantId: ${entraTenantId}`,
        `      clientId: ${randomUUID()}`,
        '      credential: { secret: { env: ENTRA_CLIENT_SECRET } }',
        '      subscription:',
        '        notificationUrl: https://warden.example/hooks/entra/acme/notifications',
        '        clientState: { env: ENTRA_CLIENT_STATE }',
      ].join('\n') + '\n',
    );
    const env = { OKTA_TOKEN: 'sim-token', ACME_HOOK: OKTA_SECRET, ENTRA_CLIENT_SECRET: 'x'.repeat(32), ENTRA_CLIENT_STATE: clientState };
    const connectors = [oktaConnector(), createEntraConnector({ env, autoStart: false })];
    const config = loadConfig({ path: path.join(dir, 'warden.yaml'), env, connectors, resolveSecrets: true });
    server = await startServer({ config, connectors, log: createLogger('silent'), watchPolicies: false, workers: false });
  });
  afterAll(async () => {
    await server?.close();
    await proxy?.close();
    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  });

  const oktaDelivery = () => {
    const sample = json('okta/event-hook-delivery-user-session-start.json');
    const event = sample.data.events[0];
    const uuid = `${event.uuid.slice(0, -4)}${String(oktaSeq++).padStart(4, '0')}`;
    return { uuid, body: JSON.stringify({ ...sample, data: { events: [{ ...event, uuid }] } }) };
  };
  const postOkta = (body: string) =>
    fetch(`${server.url}/hooks/okta/acme/events`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: OKTA_SECRET }, body });
  const postEntra = () => {
    const message = json('entra/graph/graph-change-notification-webhook-message.json');
    const n = { ...message.value[0], id: randomUUID(), clientState, tenantId: entraTenantId };
    return fetch(`${server.url}/hooks/entra/acme/notifications`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ value: [n] }),
    });
  };
  const problem = async (res: Response) => ({ status: res.status, code: ((await res.json()) as { code: string }).code });
  const stored = async (uuid: string) =>
    (await server.store.putInbox({ tenant: 'acme', source: 'okta', eventId: uuid, via: 'hook', payload: {}, receivedAt: new Date(0) })).inserted === false;

  it('answers 503 ERR_STORE on the hooks and /readyz while the database is cut, and recovers by itself', async () => {
    const before = oktaDelivery();
    const first = await postOkta(before.body);
    expect([first.status, await first.text()]).toEqual([200, '']);
    expect((await postEntra()).status).toBe(202);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);

    proxy.cut();
    const lost = oktaDelivery();
    expect(await problem(await postOkta(lost.body))).toEqual({ status: 503, code: 'ERR_STORE' });
    expect(await problem(await postEntra())).toEqual({ status: 503, code: 'ERR_STORE' });
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: { store: { ok: boolean } } }).checks.store.ok).toBe(false);

    proxy.resume();
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    // Okta's retry of the refused delivery is stored now; the earlier one was kept through the cut.
    expect((await postOkta(lost.body)).status).toBe(200);
    expect((await postEntra()).status).toBe(202);
    expect(await stored(before.uuid)).toBe(true);
    expect(await stored(lost.uuid)).toBe(true);
  });

  it('stores deliveries holding NUL, which PostgreSQL refuses in text and jsonb, instead of failing the batch', async () => {
    const sample = json('okta/event-hook-delivery-user-session-start.json');
    const event = sample.data.events[0];
    const poisoned = {
      ...event,
      uuid: `${event.uuid.slice(0, -4)}nul1`,
      displayMessage: 'User login\u0000 to Okta',
      client: { ...event.client, userAgent: { rawUserAgent: '\u0000' } },
    };
    const healthy = { ...event, uuid: `${event.uuid.slice(0, -4)}nul2` };
    const res = await postOkta(JSON.stringify({ ...sample, data: { events: [poisoned, healthy] } }));
    expect(res.status).toBe(200);
    const rows = (await server.store.claimInbox(1000, new Date('2100-01-01T00:00:00Z'), 0)).filter(
      (r) => r.eventId === poisoned.uuid || r.eventId === healthy.uuid,
    );
    expect(rows.map((r) => r.payload)).toEqual(expect.arrayContaining([poisoned, healthy]));
    expect(rows).toHaveLength(2);

    const message = json('entra/graph/graph-change-notification-webhook-message.json');
    const n = { ...message.value[0], id: `nul\u0000${randomUUID()}`, clientState, tenantId: entraTenantId, resource: 'Users/\u0000' };
    const entra = await fetch(`${server.url}/hooks/entra/acme/notifications`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ value: [n] }),
    });
    expect(entra.status).toBe(202);
    const stored = (await server.store.claimInbox(1000, new Date('2100-01-01T00:00:00Z'), 0)).filter((r) => r.source === 'entra');
    const { clientState: _secret, ...kept } = n;
    expect(stored.map((r) => r.payload)).toContainEqual({ kind: 'notification', notification: kept });
  });

  it('answers 503 ERR_STORE, not a hang, while the database is stalled', async () => {
    proxy.stall();
    const stalled = oktaDelivery();
    expect(await problem(await postOkta(stalled.body))).toEqual({ status: 503, code: 'ERR_STORE' });
    expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
    proxy.resume();
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    expect((await postOkta(stalled.body)).status).toBe(200);
  });
});
