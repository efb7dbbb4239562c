import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetEvent, startWorkflowServer, type WorkflowServer } from '../helpers/workflow-server.js';

/**
 * The people's operations beside requests, through the HTTP API (the console
 * and the CLI call the same workflow operations): an admin releases a held
 * change with a reason, closes an alert with a reason, and an auditor takes
 * a request's evidence bundle. Each refusal is its own case.
 */
describe('hold release, alert closing and evidence bundles over the API', () => {
  let w: WorkflowServer;
  let held = '';
  const start = new Date('2026-03-02T09:00:00.000Z');
  beforeAll(async () => {
    w = await startWorkflowServer({ start });
    // A help-desk reset with no request: held, and detection raises an alert on the person.
    await w.okta.deliver(w.server.url, 'acme', resetEvent('evt-unasked', 'eve', 'tom', w.clock.now));
    await w.server.inbox.runOnce();
    held = (await w.server.store.listHolds('acme', 10))[0]!.id;
  });
  afterAll(() => w?.close());

  const release = async (token: string, body: Record<string, unknown>, id = held) => w.call('POST', `/v1/holds/${id}/release`, { token, body });
  const reason = 'Eve called back on the HR number; the reset was hers';

  it('releases a hold for an admin with a recent MFA sign-in, once, and refuses everyone else', async () => {
    const helpdesk = await release(await w.tokenFor('sam'), { tenant: 'acme', reason });
    expect([helpdesk.status, helpdesk.body.code, helpdesk.body.detail]).toEqual([
      403,
      'ERR_FORBIDDEN',
      expect.stringContaining('releasing a hold needs the role admin'),
    ]);
    const key = await release(await w.apiKey(['requests:write']), { tenant: 'acme', reason });
    expect([key.status, key.body.code]).toEqual([403, 'ERR_FORBIDDEN']);
    const stale = await release(await w.tokenFor('priya', { auth_time: Math.floor(start.getTime() / 1000) - 3600 }), { tenant: 'acme', reason });
    expect([stale.status, stale.body.code]).toEqual([401, 'ERR_STEP_UP_REQUIRED']);
    const priya = await w.tokenFor('priya');
    const missing = await release(priya, { tenant: 'acme' });
    expect([missing.status, missing.body.code]).toEqual([400, 'ERR_VALIDATION']);
    const short = await release(priya, { tenant: 'acme', reason: 'fine' });
    expect([short.status, short.body.detail]).toEqual([400, expect.stringContaining('at least 10 characters')]);
    const unknown = await release(priya, { tenant: 'acme', reason }, '00000000-0000-7000-8000-000000000000');
    expect([unknown.status, unknown.body.code]).toEqual([404, 'ERR_NOT_FOUND']);
    expect(await w.server.store.getRelease('acme', held)).toBeUndefined();

    const ok = await release(priya, { tenant: 'acme', reason });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ released: true });
    expect(await w.server.store.getRelease('acme', held)).toMatchObject({ reason, actor: { type: 'user', id: '00u1priya' } });
    expect((await w.audit()).filter((r) => r.type === 'hold.released')).toEqual([
      expect.objectContaining({ actor: expect.objectContaining({ id: '00u1priya' }), subject: expect.objectContaining({ decisionId: held }) }),
    ]);
    const again = await release(priya, { tenant: 'acme', reason });
    expect([again.status, again.body.code, again.body.detail]).toEqual([409, 'ERR_CONFLICT', expect.stringContaining('was released before')]);
  });

  it('closes an alert with who, why and when, audited and published; refuses a missing reason, an unknown or closed alert, and the wrong caller', async () => {
    const [alert] = await w.server.store.listAlerts('acme', { limit: 1, status: 'open' });
    expect(alert).toBeDefined();
    const close = async (token: string, body: Record<string, unknown>, id = alert!.id) => w.call('POST', `/v1/alerts/${id}/close`, { token, body });
    const why = 'Eve confirmed the reset; the help desk filed the ticket late';
    const auditor = await close(await w.tokenFor('aude'), { tenant: 'acme', reason: why });
    expect([auditor.status, auditor.body.detail]).toEqual([403, expect.stringContaining('closing an alert needs the role admin')]);
    const key = await close(await w.apiKey(['alerts:read']), { tenant: 'acme', reason: why });
    expect([key.status, key.body.code]).toEqual([403, 'ERR_FORBIDDEN']);
    const priya = await w.tokenFor('priya');
    const blank = await close(priya, { tenant: 'acme', reason: '   ' });
    expect([blank.status, blank.body.detail]).toEqual([400, 'closing an alert needs a reason']);
    const unknown = await close(priya, { tenant: 'acme', reason: why }, '00000000-0000-7000-8000-000000000000');
    expect([unknown.status, unknown.body.code]).toEqual([404, 'ERR_NOT_FOUND']);
    expect((await w.server.store.getAlert('acme', alert!.id))?.status).toBe('open');

    const ok = await close(priya, { tenant: 'acme', reason: why });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({
      id: alert!.id,
      status: 'closed',
      closed: { at: w.clock.now.toISOString(), by: { type: 'user', id: '00u1priya' }, reason: why },
    });
    expect((await w.audit()).find((r) => r.type === 'alert.closed')).toMatchObject({ subject: { alertId: alert!.id }, data: { reason: why } });
    const events = await w.server.store.listDeliveries('acme', 100);
    expect(events.map((d) => JSON.parse(d.event.body))).toContainEqual(
      expect.objectContaining({ type: 'alert.closed', data: expect.objectContaining({ alertId: alert!.id, reason: why }) }),
    );
    const again = await close(priya, { tenant: 'acme', reason: why });
    expect([again.status, again.body.code, again.body.detail]).toEqual([409, 'ERR_CONFLICT', expect.stringContaining('was closed before')]);
  });

  it("gives auditors a request's evidence bundle with verifiable audit records, and nobody without the role", async () => {
    w.ticket('INC0031001');
    const created = await w.call('POST', '/v1/requests', {
      token: await w.tokenFor('sam'),
      body: {
        tenant: 'acme',
        kind: 'factor.reset_all',
        target: { login: 'eve.staff@acme.example' },
        requester: { id: 'eve.staff@acme.example', login: 'eve.staff@acme.example' },
        justification: { ticket: { system: 'servicenow', id: 'INC0031001' } },
        contact: { channel: 'phone' },
      },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const refused = await w.call('GET', `/v1/requests/${id}/evidence?tenant=acme`, { token: await w.tokenFor('sam') });
    expect([refused.status, refused.body.detail]).toEqual([403, expect.stringContaining('an evidence bundle needs the role auditor or admin')]);
    const unknown = await w.call('GET', '/v1/requests/00000000-0000-7000-8000-000000000000/evidence?tenant=acme', { token: await w.tokenFor('aude') });
    expect(unknown.status).toBe(404);
    const res = await w.call('GET', `/v1/requests/${id}/evidence?tenant=acme`, { token: await w.tokenFor('aude') });
    expect(res.status).toBe(200);
    const bundle = res.body;
    expect(bundle).toMatchObject({ kind: 'warden.evidence-bundle', version: 1, tenant: 'acme', request: { id } });
    expect(bundle.transitions.map((t: { type: string }) => t.type)).toContain('request.created');
    expect(bundle.audit.length).toBeGreaterThan(0);
    for (const r of bundle.audit) {
      expect(r.verifies).toBe(true);
      expect(createHash('sha256').update(r.record).digest('hex')).toBe(r.hash);
      expect(JSON.parse(r.record).subject.requestId).toBe(id);
    }
    // A record edited after the fact no longer matches its digest: what an auditor checking the file sees.
    const edited = bundle.audit[0].record.replace('request.created', 'request.approved');
    expect(createHash('sha256').update(edited).digest('hex')).not.toBe(bundle.audit[0].hash);
  });

  it('documents the three operations in /openapi.json', async () => {
    const doc = (await w.call('GET', '/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/holds/{decisionId}/release', '/v1/alerts/{id}/close', '/v1/requests/{id}/evidence']));
  });
});
