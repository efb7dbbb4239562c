import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../src/core/alert.js';
import { uuidv7 } from '../../src/core/ids.js';
import { newAlert } from '../../src/detect/alert.js';
import { createApiKey, revokeApiKey } from '../../src/access/api-keys.js';
import type { AlertList } from '../../src/server/api-schemas.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

let app: TestApp;
let reader: string;
let globexReader: string;
const T0 = Date.parse('2026-03-02T09:00:00Z');
const stored: Alert[] = [];

function alert(tenant: string, i: number, severity: Alert['severity'], rule: string): Alert {
  const occurredAt = new Date(T0 + i * 60_000).toISOString();
  return newAlert({
    id: uuidv7(T0 + i * 1000),
    tenant,
    now: new Date(T0 + i * 1000),
    rulesVersion: 'sha256:0000000000000000',
    match: {
      rule: { id: rule, title: rule, severity, attack: ['T1098'] },
      key: `user${i}@acme.example`,
      changes: [
        {
          id: uuidv7(),
          kind: 'factor.enroll',
          channel: 'self_service',
          occurredAt,
          idp: 'okta',
          eventIds: [`e${i}`],
          rawType: 'user.mfa.factor.activate',
          targetId: `u${i}`,
          target: `user${i}@acme.example`,
          actor: `user${i}@acme.example`,
        },
      ],
    },
  });
}

beforeAll(async () => {
  app = await startTestApp();
  const actor = { type: 'cli' as const, id: 'test' };
  reader = (await createApiKey(app.store, { tenant: 'acme', name: 'siem', scopes: ['alerts:read'], actor })).key;
  globexReader = (await createApiKey(app.store, { tenant: 'globex', name: 'siem', scopes: ['alerts:read'], actor })).key;
  for (let i = 0; i < 7; i++)
    stored.push(alert('acme', i, i === 6 ? 'critical' : i % 2 ? 'high' : 'medium', i === 3 ? 'helpdesk-takeover-chain' : 'factor-change-and-password-reset'));
  stored.push(alert('globex', 9, 'high', 'vendor-support-access'));
  for (const a of stored) await app.store.putAlert(a);
});
afterAll(() => app.close());

async function get(path: string, key: string | null = reader) {
  const res = await fetch(`${app.url}${path}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', text, json: JSON.parse(text) as Record<string, unknown> };
}

function expectProblem(r: Awaited<ReturnType<typeof get>>, status: number, code: string) {
  expect(r.status).toBe(status);
  expect(r.type).toMatch(/^application\/problem\+json/);
  expect(r.json).toMatchObject({ status, code });
  expect(r.text).not.toMatch(/\bat .*\.(ts|js):\d+/);
}

const ids = (r: { json: Record<string, unknown> }) => (r.json as unknown as AlertList).alerts.map((a) => stored.findIndex((s) => s.id === a.id));

describe('GET /v1/alerts', () => {
  it("lists the key's tenant's alerts newest first, with rule, severity, key, changes and summary", async () => {
    const r = await get('/v1/alerts');
    expect(r.status).toBe(200);
    expect(ids(r)).toEqual([6, 5, 4, 3, 2, 1, 0]);
    const first = (r.json as unknown as AlertList).alerts[0]!;
    expect(first).toEqual(stored[6]);
    expect(first.changes[0]).toMatchObject({ id: expect.any(String), occurredAt: expect.any(String), eventIds: ['e6'] });
  });

  it('filters by severity, rule, key, status and time', async () => {
    expect(ids(await get('/v1/alerts?severity=high'))).toEqual([6, 5, 3, 1]);
    expect(ids(await get('/v1/alerts?rule=helpdesk-takeover-chain'))).toEqual([3]);
    expect(ids(await get('/v1/alerts?key=user2@acme.example'))).toEqual([2]);
    expect(ids(await get('/v1/alerts?status=closed'))).toEqual([]);
    expect(ids(await get(`/v1/alerts?since=${encodeURIComponent(new Date(T0 + 5000).toISOString())}`))).toEqual([6, 5]);
  });

  it('pages with the next cursor until the last page', async () => {
    const seen: number[] = [];
    let path = '/v1/alerts?limit=3';
    for (let page = 0; page < 5; page++) {
      const r = await get(path);
      seen.push(...ids(r));
      const next = (r.json as unknown as AlertList).next;
      if (!next) break;
      path = `/v1/alerts?limit=3&before=${next}`;
    }
    expect(seen).toEqual([6, 5, 4, 3, 2, 1, 0]);
  });

  it('gives one alert by id', async () => {
    const r = await get(`/v1/alerts/${stored[3]!.id}`);
    expect([r.status, r.json.id]).toEqual([200, stored[3]!.id]);
  });

  it('is documented in /openapi.json with its parameters and the alerts:read scope', async () => {
    const doc = (await (await fetch(`${app.url}/openapi.json`)).json()) as {
      paths: Record<string, { get: { parameters: Array<{ name: string }>; description: string } }>;
    };
    expect(doc.paths['/v1/alerts']!.get.parameters.map((p) => p.name)).toEqual(['tenant', 'status', 'severity', 'rule', 'key', 'since', 'before', 'limit']);
    expect(doc.paths['/v1/alerts']!.get.description).toContain('alerts:read');
    expect(doc.paths['/v1/alerts/{id}']).toBeDefined();
  });
});

describe('GET /v1/alerts refuses, each with its code', () => {
  it('no API key: 401 ERR_AUTH_REQUIRED', async () => {
    expectProblem(await get('/v1/alerts', null), 401, 'ERR_AUTH_REQUIRED');
  });

  it('a wrong API key: 401 ERR_AUTH_INVALID', async () => {
    expectProblem(await get('/v1/alerts', `wdn_000000000000_${'A'.repeat(43)}`), 401, 'ERR_AUTH_INVALID');
  });

  it('a revoked API key: 401 ERR_AUTH_INVALID', async () => {
    const minted = await createApiKey(app.store, { tenant: 'acme', name: 'gone', scopes: ['alerts:read'], actor: { type: 'cli', id: 'test' } });
    await revokeApiKey(app.store, { id: minted.row.id, actor: { type: 'cli', id: 'test' } });
    expectProblem(await get('/v1/alerts', minted.key), 401, 'ERR_AUTH_INVALID');
  });

  it('a key without the alerts:read scope: 403 ERR_FORBIDDEN', async () => {
    const r = await get('/v1/alerts', app.key);
    expectProblem(r, 403, 'ERR_FORBIDDEN');
    expect(r.json.detail).toContain('alerts:read');
  });

  it("another tenant's key: 403 ERR_FORBIDDEN, and it sees only its own alerts", async () => {
    expectProblem(await get('/v1/alerts?tenant=acme', globexReader), 403, 'ERR_FORBIDDEN');
    expectProblem(await get(`/v1/alerts/${stored[0]!.id}?tenant=acme`, globexReader), 403, 'ERR_FORBIDDEN');
    expect(ids(await get('/v1/alerts', globexReader))).toEqual([7]);
    expectProblem(await get(`/v1/alerts/${stored[0]!.id}`, globexReader), 404, 'ERR_NOT_FOUND');
  });

  it('an unknown tenant: 404 ERR_TENANT_UNKNOWN', async () => {
    expectProblem(await get('/v1/alerts?tenant=initech'), 404, 'ERR_TENANT_UNKNOWN');
  });

  it('an unknown or malformed alert id: 404 ERR_NOT_FOUND', async () => {
    expectProblem(await get(`/v1/alerts/${uuidv7()}`), 404, 'ERR_NOT_FOUND');
    expectProblem(await get('/v1/alerts/not-a-uuid'), 404, 'ERR_NOT_FOUND');
  });

  it('bad query parameters: 400 ERR_VALIDATION with the issues', async () => {
    for (const q of ['severity=severe', 'limit=0', 'limit=501', 'status=snoozed', 'since=yesterday', 'before=bm90LWEtY3Vyc29y', 'colour=red']) {
      const r = await get(`/v1/alerts?${q}`);
      expectProblem(r, 400, 'ERR_VALIDATION');
      expect((r.json.issues as unknown[]).length, q).toBeGreaterThan(0);
    }
  });
});
