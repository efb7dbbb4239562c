import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WardenError } from '../core/errors.js';
import type { ConnectorContext, Connector } from '../connector/contract.js';
import { createLogger } from '../runtime/logger.js';
import { Metrics } from '../runtime/metrics.js';
import { rawRouteListener } from './raw-routes.js';

describe('raw routes', () => {
  const metrics = new Metrics({ processMetrics: false });
  const seen: Array<{ params: Record<string, string>; token: string | null }> = [];
  const connector: Connector = {
    name: 'fake',
    description: 'raw route test',
    rawRoutes: [
      {
        method: 'POST',
        path: '/hooks/fake/:tenant/events',
        async handle(_req, res, { params, query }) {
          seen.push({ params, token: query.get('token') });
          if (params.tenant === 'refused') throw new WardenError('ERR_AUTH_INVALID', 'no');
          if (params.tenant === 'broken') throw new Error('secret internals');
          res.writeHead(202);
          res.end();
        },
      },
      {
        method: 'GET',
        path: '/hooks/fake/:tenant/challenge',
        async handle(_req, res) {
          res.writeHead(200, { 'content-length': 2 });
          res.end('ok');
        },
      },
    ],
  };
  let server: http.Server;
  let url: string;
  beforeAll(async () => {
    const listener = rawRouteListener([connector], { context: () => ({}) as ConnectorContext, metrics, log: createLogger('silent') }, (_req, res) => {
      res.writeHead(299);
      res.end('express');
    });
    server = http.createServer(listener);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('serves a matching request with decoded params and query, and times it by route', async () => {
    const res = await fetch(`${url}/hooks/fake/acme%2Dx/events?token=a%2Bb`, { method: 'POST' });
    expect(res.status).toBe(202);
    expect(seen.at(-1)).toEqual({ params: { tenant: 'acme-x' }, token: 'a+b' });
    expect(await metrics.registry.metrics()).toMatch(
      /warden_http_request_duration_seconds_count\{method="POST",route="\/hooks\/fake\/:tenant\/events",status="202"\} 1/,
    );
  });

  it('matches paths as express does: any case, an optional trailing slash; a GET route answers HEAD', async () => {
    for (const path of ['/HOOKS/Fake/acme/EVENTS', '/hooks/fake/acme/events/']) {
      const res = await fetch(`${url}${path}`, { method: 'POST' });
      expect([path, res.status]).toEqual([path, 202]);
    }
    expect(seen.at(-1)!.params).toEqual({ tenant: 'acme' });
    const head = await fetch(`${url}/hooks/fake/acme/challenge`, { method: 'HEAD' });
    expect([head.status, head.headers.get('content-length'), await head.text()]).toEqual([200, '2', '']);
    expect(await metrics.registry.metrics()).toMatch(
      /warden_http_request_duration_seconds_count\{method="HEAD",route="\/hooks\/fake\/:tenant\/challenge",status="200"\} 1/,
    );
  });

  it('hands everything else to express', async () => {
    for (const [method, path] of [
      ['GET', '/hooks/fake/acme/events'],
      ['POST', '/hooks/fake/acme/events/more'],
      ['POST', '/v1/decisions'],
    ] as const) {
      const res = await fetch(`${url}${path}`, { method });
      expect([method, path, res.status, await res.text()]).toEqual([method, path, 299, 'express']);
    }
  });

  it('answers a WardenError as its problem response, anything else as a 500 without detail', async () => {
    const refused = await fetch(`${url}/hooks/fake/refused/events`, { method: 'POST' });
    expect([refused.status, refused.headers.get('content-type'), refused.headers.get('www-authenticate')]).toEqual([
      401,
      'application/problem+json; charset=utf-8',
      'Bearer realm="warden"',
    ]);
    expect(await refused.json()).toMatchObject({ status: 401, code: 'ERR_AUTH_INVALID', detail: 'no' });
    const broken = await fetch(`${url}/hooks/fake/broken/events`, { method: 'POST' });
    expect(broken.status).toBe(500);
    expect(await broken.json()).toMatchObject({ code: 'ERR_INTERNAL', detail: 'internal error' });
  });

  it('refuses a malformed path escape', async () => {
    const res = await fetch(`${url}/hooks/fake/%E0%A4%A/events`, { method: 'POST' });
    expect([res.status, ((await res.json()) as { code: string }).code]).toEqual([400, 'ERR_VALIDATION']);
  });
});
