import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAudit } from '../../src/audit/verify-audit.js';
import { uuidv7 } from '../../src/core/ids.js';
import { revokeApiKey } from '../../src/access/api-keys.js';
import { packageRoot } from '../../src/package-root.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

const EXAMPLE_BODY = JSON.parse(readFileSync(path.join(packageRoot(), 'examples', 'changes', 'helpdesk-factor-reset.json'), 'utf8')) as {
  tenant: string;
  change: Record<string, unknown>;
};

async function post(body: unknown, headers: Record<string, string> = {}, raw?: string) {
  const res = await fetch(`${app.url}/v1/decisions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${app.key}`, ...headers },
    body: raw ?? JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: (text ? JSON.parse(text) : undefined) as Record<string, any> };
}

/** A response that is a problem document with this status and code, and leaks no stack trace. */
function expectProblem(r: Awaited<ReturnType<typeof post>>, status: number, code: string) {
  expect(r.status).toBe(status);
  expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(r.json).toMatchObject({ status, code, type: `urn:warden:error:${code}` });
  expect(r.text).not.toMatch(/\bat .*\.(ts|js):\d+/);
}

describe('POST /v1/decisions', () => {
  it('decides the example change (help-desk reset, no request): hold, with reasons and obligations', async () => {
    const r = await post(EXAMPLE_BODY);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      tenant: 'acme',
      outcome: 'hold',
      mode: 'enforce',
      tier: 'standard',
      defaulted: false,
      policyVersion: app.policies.get('acme').version,
      obligations: { request: 'approved', proofing: 'callback', actions: ['hold_group', 'revoke_sessions', 'remove_new_factor'] },
    });
    expect(r.json.rules).toEqual([
      expect.objectContaining({ id: 'assisted-reset-standard', outcome: 'hold', reason: expect.stringContaining('no approved change request') }),
    ]);
    expect(r.json.decisionId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('stores the change and the decision and audits it', async () => {
    const r = await post(EXAMPLE_BODY);
    const stored = await app.store.getDecision('acme', r.json.decisionId);
    expect(stored).toMatchObject({ id: r.json.decisionId, outcome: 'hold', changeId: r.json.changeId });
    expect(await app.store.getChange('acme', r.json.changeId)).toMatchObject({ kind: 'factor.reset_all', channel: 'helpdesk' });
    const audit = await app.store.readAudit('acme', 0, 1000);
    const record = audit.map((a) => JSON.parse(a.record)).find((a) => a.subject.decisionId === r.json.decisionId);
    expect(record).toMatchObject({
      type: 'decision.recorded',
      actor: { type: 'api_key' },
      data: { outcome: 'hold', change: { kind: 'factor.reset_all', targetId: '00u1a2b3c4d5e6f7g8h9' } },
    });
    expect((await verifyAudit(app.store, 'acme')).ok).toBe(true);
  });

  it('returns the earlier decision when a change id is posted again', async () => {
    const id = uuidv7();
    const first = await post({ ...EXAMPLE_BODY, change: { ...EXAMPLE_BODY.change, id } });
    const again = await post({ ...EXAMPLE_BODY, change: { ...EXAMPLE_BODY.change, id } });
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.json.decisionId).toBe(first.json.decisionId);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
  });

  it('cannot claim an IdP event: a proposed change never takes the place of the event the IdP reports', async () => {
    const { decideChange } = await import('../../src/engine/decide-change.js');
    const claimed = { idp: 'okta', eventIds: ['a1b2c3-real-okta-uuid'], rawType: 'user.mfa.factor.reset_all', via: 'hook' };
    const proposed = await post({ ...EXAMPLE_BODY, change: { ...EXAMPLE_BODY.change, source: claimed } });
    expect(proposed.status).toBe(200);
    expect((await app.store.getChange('acme', proposed.json.changeId))?.source).toEqual({
      ...claimed,
      via: 'api',
      eventIds: ['proposed:a1b2c3-real-okta-uuid'],
    });
    // The IdP's own report of that event is decided on its own.
    const { makeChange } = await import('../helpers/changes.js');
    const observed = await decideChange(
      { store: app.store, policies: app.policies },
      { change: makeChange({ source: { ...claimed, via: 'hook' } }), actor: { type: 'idp', id: 'okta' }, observed: true },
    );
    expect(observed.replayed).toBe(false);
    expect(observed.decision.id).not.toBe(proposed.json.decisionId);
  });

  it('allows what the policy allows, by default', async () => {
    const r = await post({
      tenant: 'acme',
      change: { kind: 'factor.enroll', channel: 'self_service', target: { id: 'u1' }, actor: { id: 'u1' }, context: { deviceTrusted: true } },
    });
    expect(r.json).toMatchObject({ outcome: 'allow', defaulted: true, rules: [] });
  });

  it('counts decisions in the metrics', async () => {
    await post({ tenant: 'globex', change: EXAMPLE_BODY.change }, { authorization: `Bearer ${app.otherKey}` });
    const text = await (await fetch(`${app.url}/metrics`)).text();
    expect(text).toMatch(/warden_decisions_total\{tenant="globex",outcome="hold",mode="monitor"\} 1/);
    expect(text).toMatch(/warden_http_request_duration_seconds_bucket\{le="[0-9.]+",method="POST",route="\/v1\/decisions",status="200"\}/);
  });

  describe('bad input gets a clear error and changes nothing', () => {
    it('400 ERR_BODY_MALFORMED for JSON that does not parse', async () => {
      expectProblem(await post(undefined, {}, '{"tenant": "acme", "change": '), 400, 'ERR_BODY_MALFORMED');
    });

    it('400 ERR_VALIDATION with the zod issues as data for a schema violation', async () => {
      const r = await post({ tenant: 'acme', change: { ...EXAMPLE_BODY.change, kind: 'factor.nuke', channel: undefined } });
      expectProblem(r, 400, 'ERR_VALIDATION');
      expect(r.json.issues).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ path: ['change', 'kind'], code: 'invalid_value' }),
          expect.objectContaining({ path: ['change', 'channel'] }),
        ]),
      );
    });

    it('400 ERR_VALIDATION for a key the schema does not know', async () => {
      const r = await post({ ...EXAMPLE_BODY, verdict: 'allow' });
      expectProblem(r, 400, 'ERR_VALIDATION');
      expect(r.json.issues[0]).toMatchObject({ code: 'unrecognized_keys' });
    });

    it('400 ERR_VALIDATION when change.tenant contradicts tenant', async () => {
      const r = await post({ tenant: 'acme', change: { ...EXAMPLE_BODY.change, tenant: 'globex' } });
      expectProblem(r, 400, 'ERR_VALIDATION');
      expect(r.json.issues[0].path).toEqual(['change', 'tenant']);
    });

    it('404 ERR_TENANT_UNKNOWN for a tenant that is not configured', async () => {
      expectProblem(await post({ ...EXAMPLE_BODY, tenant: 'initech' }), 404, 'ERR_TENANT_UNKNOWN');
    });

    it('413 ERR_BODY_TOO_LARGE for a body over the limit', async () => {
      const big = {
        ...EXAMPLE_BODY,
        change: { ...EXAMPLE_BODY.change, target: { id: 'u', groups: Array.from({ length: 5000 }, (_, i) => `group-with-a-long-name-${i}`) } },
      };
      expectProblem(await post(big), 413, 'ERR_BODY_TOO_LARGE');
    });

    it('415 ERR_UNSUPPORTED_MEDIA_TYPE for a body that is not JSON', async () => {
      expectProblem(await post(undefined, { 'content-type': 'text/plain' }, 'tenant=acme'), 415, 'ERR_UNSUPPORTED_MEDIA_TYPE');
    });

    it('404 ERR_NOT_FOUND for a route that does not exist', async () => {
      const res = await fetch(`${app.url}/v1/nothing`, { headers: { authorization: `Bearer ${app.key}` } });
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ code: 'ERR_NOT_FOUND' });
    });

    it('records nothing for a refused request', async () => {
      const before = await app.store.auditHead('acme');
      await post(undefined, {}, '{');
      await post({ tenant: 'acme', change: {} });
      expect(await app.store.auditHead('acme')).toEqual(before);
    });
  });

  describe('API key authentication', () => {
    it('401 ERR_AUTH_REQUIRED without credentials, with a WWW-Authenticate challenge', async () => {
      const r = await post(EXAMPLE_BODY, { authorization: '' });
      expectProblem(r, 401, 'ERR_AUTH_REQUIRED');
      expect(r.headers.get('www-authenticate')).toContain('Bearer');
    });

    it('401 ERR_AUTH_INVALID for another scheme', async () => {
      expectProblem(await post(EXAMPLE_BODY, { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }), 401, 'ERR_AUTH_INVALID');
    });

    it('401 ERR_AUTH_INVALID for a malformed key', async () => {
      expectProblem(await post(EXAMPLE_BODY, { authorization: 'Bearer wdn_nothex_short' }), 401, 'ERR_AUTH_INVALID');
    });

    it('401 ERR_AUTH_INVALID for an unknown key id', async () => {
      expectProblem(await post(EXAMPLE_BODY, { authorization: `Bearer wdn_000000000000_${'A'.repeat(43)}` }), 401, 'ERR_AUTH_INVALID');
    });

    it('401 ERR_AUTH_INVALID for a known id with the wrong secret', async () => {
      const id = app.key.split('_')[1];
      const r = await post(EXAMPLE_BODY, { authorization: `Bearer wdn_${id}_${'B'.repeat(43)}` });
      expectProblem(r, 401, 'ERR_AUTH_INVALID');
      expect(r.json.detail).toBe('invalid API key');
    });

    it('401 ERR_AUTH_INVALID for a revoked key', async () => {
      const { createApiKey } = await import('../../src/access/api-keys.js');
      const minted = await createApiKey(app.store, { tenant: 'acme', name: 'to-revoke', actor: { type: 'cli', id: 't' } });
      expect((await post(EXAMPLE_BODY, { authorization: `Bearer ${minted.key}` })).status).toBe(200);
      await revokeApiKey(app.store, { id: minted.row.id, actor: { type: 'cli', id: 't' } });
      const r = await post(EXAMPLE_BODY, { authorization: `Bearer ${minted.key}` });
      expectProblem(r, 401, 'ERR_AUTH_INVALID');
      expect(r.json.detail).toContain('revoked');
    });

    it('403 ERR_FORBIDDEN for a key of another tenant', async () => {
      expectProblem(await post(EXAMPLE_BODY, { authorization: `Bearer ${app.otherKey}` }), 403, 'ERR_FORBIDDEN');
    });
  });
});
