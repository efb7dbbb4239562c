import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WardenError } from '../../src/core/errors.js';
import { CHANGE_KINDS } from '../../src/core/identity-change.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

describe('operations routes', () => {
  it('GET /healthz says alive', async () => {
    const res = await fetch(`${app.url}/healthz`);
    expect([res.status, await res.json()]).toEqual([200, { status: 'ok' }]);
  });

  it('GET /readyz checks store, migrations and policies', async () => {
    const res = await fetch(`${app.url}/readyz`);
    const body = (await res.json()) as { status: string; checks: Record<string, { ok: boolean; detail: string }> };
    expect(res.status).toBe(200);
    expect(body.status).toBe('ready');
    expect(body.checks.store!.ok && body.checks.migrations!.ok && body.checks.policies!.ok).toBe(true);
    expect(body.checks.policies!.detail).toContain(`acme@${app.policies.get('acme').version}`);
  });

  it('GET /readyz shows where the store is only to a caller with an API key', async () => {
    const anonymous = (await (await fetch(`${app.url}/readyz`)).json()) as { checks: Record<string, { detail: string }> };
    expect(anonymous.checks.store!.detail).toBe('reachable');
    const wrongKey = (await (
      await fetch(`${app.url}/readyz`, { headers: { authorization: 'Bearer wdn_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } })
    ).json()) as typeof anonymous;
    expect(wrongKey.checks.store!.detail).toBe('reachable');
    const operator = (await (await fetch(`${app.url}/readyz`, { headers: { authorization: `Bearer ${app.key}` } })).json()) as typeof anonymous;
    expect(operator.checks.store!.detail).toBe(`${app.store.driver} at ${app.store.location}`);
  });

  it('GET /readyz answers 503 when the store does not answer, without saying where it is', async () => {
    const ping = vi.spyOn(app.store, 'ping').mockRejectedValue(new WardenError('ERR_STORE', 'the store is unavailable: connect ECONNREFUSED db.internal:5432'));
    try {
      const res = await fetch(`${app.url}/readyz`, { headers: { authorization: `Bearer ${app.key}` } });
      const text = await res.text();
      expect(res.status).toBe(503);
      expect(JSON.parse(text)).toMatchObject({ status: 'not_ready', checks: { store: { ok: false, detail: 'unreachable' } } });
      expect(text).not.toContain('db.internal');
    } finally {
      ping.mockRestore();
    }
    expect((await fetch(`${app.url}/readyz`)).status).toBe(200);
  });

  it('GET /metrics speaks Prometheus text with the request histogram', async () => {
    await fetch(`${app.url}/healthz`);
    const res = await fetch(`${app.url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toContain('# TYPE warden_http_request_duration_seconds histogram');
    expect(text).toMatch(/warden_http_request_duration_seconds_count\{method="GET",route="\/healthz",status="200"\} [1-9]/);
    expect(text).toContain('# TYPE warden_decisions_total counter');
  });

  it('GET /openapi.json is generated from the zod schemas the handlers use', async () => {
    const doc = (await (await fetch(`${app.url}/openapi.json`)).json()) as any;
    expect(doc.openapi).toBe('3.1.0');
    const op = doc.paths['/v1/decisions'].post;
    expect(op.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/DecisionRequest' });
    expect(op.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/DecisionResponse' });
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403', '404', '413', '415']));
    expect(op.security).toEqual([{ apiKey: [] }]);
    const request = doc.components.schemas.DecisionRequest;
    expect(request.required).toEqual(['tenant', 'change']);
    expect(request.additionalProperties).toBe(false);
    // The change kinds come straight from the domain enum.
    expect(request.properties.change.properties.kind.enum).toEqual([...CHANGE_KINDS]);
    expect(doc.components.schemas.Problem.properties.code).toBeDefined();
    expect(doc.paths['/readyz'].get.responses['503']).toBeDefined();
  });
});
