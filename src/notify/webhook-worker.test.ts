import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultDetection, type ResolvedTenant } from '../config/load-config.js';
import { Secret } from '../config/load-config.js';
import { WebhooksConfig } from '../config/workflow-config-schema.js';
import { createLogger } from '../runtime/logger.js';
import type { Store } from '../store/store.js';
import { pgliteTestStore } from '../../test/helpers/test-stores.js';
import { publishEvent } from './publish-event.js';
import { verifyWebhook } from './standard-webhooks.js';
import { WebhookRoutes } from './webhook-routes.js';
import { WebhookWorker } from './webhook-worker.js';

const SECRET = 'whsec_' + Buffer.alloc(32, 9).toString('base64');

describe('publishing and delivering signed events', () => {
  let store: Store;
  let dispose: () => Promise<void>;
  let server: http.Server;
  let url: string;
  const received: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
  let answers: Array<{ status: number; headers?: Record<string, string> }> = [];
  const clock = { now: new Date('2026-05-01T10:00:00Z') };

  beforeAll(async () => {
    ({ store, dispose } = await pgliteTestStore());
    await store.ensureTenants(['acme']);
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        const answer = answers.shift() ?? { status: 204 };
        res.writeHead(answer.status, answer.headers).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(async () => {
    server?.close();
    await dispose?.();
  });

  const tenant = (events: string[] = ['request.*']): ResolvedTenant => ({
    id: 'acme',
    policyFile: '/dev/null',
    secrets: { soar: new Secret(SECRET) },
    secretRefs: {},
    detection: defaultDetection(),
    connectors: {},
    webhooks: WebhooksConfig.parse([{ name: 'soar', url, secret: 'soar', events, maxAttempts: 3 }]),
  });

  it("queues an event in the caller's transaction only for subscribed types, and only if it commits", async () => {
    const routes = new WebhookRoutes([tenant()]);
    expect(await store.transaction((tx) => publishEvent(tx, routes, { tenant: 'acme', type: 'alert.chain', data: {}, at: clock.now }))).toBeUndefined();
    await expect(
      store.transaction(async (tx) => {
        await publishEvent(tx, routes, { tenant: 'acme', type: 'request.approved', data: { requestId: 'lost' }, at: clock.now });
        throw new Error('the state change failed');
      }),
    ).rejects.toThrow('the state change failed');
    expect(await store.listDeliveries('acme', 10)).toEqual([]);
  });

  it('delivers with Standard Webhooks headers a receiver can verify, and retries after a failure honouring Retry-After', async () => {
    const routes = new WebhookRoutes([tenant()]);
    const worker = new WebhookWorker({ store, routes, log: createLogger('silent'), clock: () => clock.now, random: () => 0.5 });
    const id = await store.transaction((tx) =>
      publishEvent(tx, routes, { tenant: 'acme', type: 'request.approved', data: { requestId: 'r1' }, at: clock.now }),
    );
    answers = [{ status: 503, headers: { 'retry-after': '120' } }];
    expect(await worker.runOnce()).toBe(1);
    expect(received).toHaveLength(1);
    expect(JSON.parse(received[0]!.body)).toEqual({ type: 'request.approved', timestamp: '2026-05-01T10:00:00.000Z', data: { requestId: 'r1' } });
    const h = received[0]!.headers;
    expect(verifyWebhook(SECRET, h as Record<string, string>, received[0]!.body, clock.now)).toBe(id);

    clock.now = new Date(clock.now.getTime() + 60_000);
    expect(await worker.runOnce()).toBe(0); // Retry-After 120 s beats the 5 s backoff
    clock.now = new Date(clock.now.getTime() + 61_000);
    expect(await worker.runOnce()).toBe(1);
    expect(received).toHaveLength(2);
    expect(received[1]!.headers['webhook-id']).toBe(id); // same message id on a retry: receivers de-duplicate on it
    expect(received[1]!.body).toBe(received[0]!.body);
    expect(verifyWebhook(SECRET, received[1]!.headers as Record<string, string>, received[1]!.body, clock.now)).toBe(id);
    const [delivery] = await store.listDeliveries('acme', 1);
    expect([delivery?.state, delivery?.attempts, delivery?.lastStatus]).toEqual(['delivered', 2, 204]);
  });

  it('gives up after maxAttempts, and at once on 410 Gone', async () => {
    const routes = new WebhookRoutes([tenant()]);
    const worker = new WebhookWorker({ store, routes, log: createLogger('silent'), clock: () => clock.now, random: () => 0.5 });
    await store.transaction((tx) => publishEvent(tx, routes, { tenant: 'acme', type: 'request.expired', data: {}, at: clock.now }));
    answers = [{ status: 500 }, { status: 500 }, { status: 500 }];
    for (let i = 0; i < 3; i++) {
      await worker.runOnce();
      clock.now = new Date(clock.now.getTime() + 3_600_000);
    }
    expect((await store.listDeliveries('acme', 1))[0]).toMatchObject({ state: 'failed', attempts: 3, lastError: 'HTTP 500' });

    await store.transaction((tx) => publishEvent(tx, routes, { tenant: 'acme', type: 'request.cancelled', data: {}, at: clock.now }));
    answers = [{ status: 410 }];
    await worker.runOnce();
    expect((await store.listDeliveries('acme', 1))[0]).toMatchObject({ state: 'failed', attempts: 1, lastStatus: 410 });
  });

  it('a wrong webhook URL fails naming the setting to fix; the delivery is kept and listed as failed, not lost', async () => {
    const routes = new WebhookRoutes([tenant()]);
    const worker = new WebhookWorker({ store, routes, log: createLogger('silent'), clock: () => clock.now, random: () => 0.5 });
    const id = await store.transaction((tx) => publishEvent(tx, routes, { tenant: 'acme', type: 'request.approved', data: {}, at: clock.now }));
    answers = [{ status: 404 }, { status: 404 }, { status: 404 }];
    for (let i = 0; i < 3; i++) {
      await worker.runOnce();
      clock.now = new Date(clock.now.getTime() + 3_600_000);
    }
    const [failed] = (await store.listDeliveries('acme', 10, { state: 'failed' })).filter((d) => d.eventId === id);
    expect(failed).toMatchObject({ state: 'failed', attempts: 3, lastStatus: 404, lastError: 'HTTP 404: check tenants[acme].webhooks[soar].url' });

    // Nothing listens at the configured address: the error names the setting and the reason.
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/hook`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const dead = new WebhookRoutes([
      { ...tenant(), webhooks: WebhooksConfig.parse([{ name: 'soar', url: deadUrl, secret: 'soar', events: ['request.*'], maxAttempts: 1 }]) },
    ]);
    const deadWorker = new WebhookWorker({ store, routes: dead, log: createLogger('silent'), clock: () => clock.now, random: () => 0.5 });
    const other = await store.transaction((tx) => publishEvent(tx, dead, { tenant: 'acme', type: 'request.approved', data: {}, at: clock.now }));
    await deadWorker.runOnce();
    const [unreachable] = (await store.listDeliveries('acme', 10, { state: 'failed' })).filter((d) => d.eventId === other);
    expect(unreachable?.lastError).toMatch(/^could not reach tenants\[acme\]\.webhooks\[soar\]\.url: .*ECONNREFUSED/);
  });

  it('refuses plain http to anything but localhost', () => {
    const t = tenant();
    expect(() => new WebhookRoutes([{ ...t, webhooks: WebhooksConfig.parse([{ name: 'x', url: 'http://soar.example/hook', secret: 'soar' }]) }])).toThrow(
      /must be https/,
    );
  });
});
