import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PEOPLE, resetEvent, resetRequest, startWorkflowServer, type WorkflowServer } from '../helpers/workflow-server.js';

/**
 * Break-glass: an executor acts without approval on a written reason; the
 * change is allowed, an alert goes out, and a review is due within the
 * configured time (24 h by default). After the deadline (fake clock) the
 * review is overdue: `warden reviews overdue` lists it and the metric counts it.
 */
describe('break-glass', () => {
  let w: WorkflowServer;
  let requestId: string;
  let reviewId: string;
  beforeAll(async () => {
    w = await startWorkflowServer();
  });
  afterAll(() => w?.close());

  const cli = (...args: string[]) => w.cli(...args);

  it('refuses a break-glass without a real written reason', async () => {
    const res = await w.call('POST', '/v1/requests', { token: await w.tokenFor('sam'), body: resetRequest({ breakGlass: { reason: 'urgent' } }) });
    expect([res.status, res.body.code]).toEqual([400, 'ERR_VALIDATION']);
  });

  it('is approved at once, raises an alert and opens a review due in 24 h', async () => {
    const reason = 'Regional IdP outage INC-OUT-7: Dana must sign in to run payroll before 10:00';
    const res = await w.call('POST', '/v1/requests', {
      token: await w.tokenFor('sam'),
      body: resetRequest({ justification: { outage: 'ServiceNow unreachable during the regional outage' }, breakGlass: { reason } }),
    });
    expect(res.status).toBe(201);
    requestId = res.body.id;
    reviewId = res.body.breakGlass.reviewId;
    expect(res.body).toMatchObject({ state: 'approved', breakGlass: { reason }, review: { id: reviewId, state: 'open', dueAt: '2026-03-03T09:00:00.000Z' } });
    const alert = (await w.audit()).find((r) => r.type === 'alert.break_glass');
    expect(alert).toMatchObject({ subject: { requestId, reviewId }, data: { reason, severity: 'high', reviewDueAt: '2026-03-03T09:00:00.000Z' } });
    while ((await w.server.webhooks.runOnce()) > 0);
    const sent = w.webhooks.map((h) => JSON.parse(h.body) as { type: string; data: { reason?: string } });
    expect(sent.find((e) => e.type === 'alert.break_glass')?.data.reason).toBe(reason);
  });

  it('allows the change it covers, and the decision says it was break-glass', async () => {
    w.advance(5 * 60_000);
    await w.okta.deliver(w.server.url, 'acme', resetEvent('evt-bg', 'dana', 'sam', w.clock.now));
    await w.server.inbox.runOnce();
    const decision = (await w.audit()).find((r) => r.type === 'decision.recorded' && r.data.change.source.eventIds.includes('evt-bg'));
    expect(decision?.data).toMatchObject({ outcome: 'allow', rules: [{ id: 'assisted-reset-standard', outcome: 'allow', requestId, breakGlass: true }] });
    expect((await w.call('GET', `/v1/requests/${requestId}`, { token: await w.tokenFor('aude') })).body.state).toBe('executed');
  });

  it('lists no overdue review before the deadline', async () => {
    expect(await cli('reviews', 'overdue', '--tenant', 'acme')).toEqual({ code: 0, out: 'no overdue reviews\n', err: '' });
  });

  it('reports the review overdue after the deadline: alert, `warden reviews overdue`, metric, API', async () => {
    w.advance(24 * 3600_000);
    expect((await w.server.workflow.sweep()).overdue).toBe(1);
    expect((await w.server.workflow.sweep()).overdue).toBe(0); // reported once
    expect((await w.audit()).filter((r) => r.type === 'alert.review_overdue').map((r) => r.subject.reviewId)).toEqual([reviewId]);
    const listed = await cli('reviews', 'overdue', '--tenant', 'acme');
    expect(listed.code).toBe(1);
    expect(listed.out).toContain(
      `review ${reviewId}  due 2026-03-03T09:00:00.000Z  break-glass ${requestId}: factor.reset_all on dana.lee@acme.example by ${PEOPLE.sam.login}`,
    );
    const metrics = (await w.call('GET', '/metrics')).body as string;
    expect(metrics).toContain('warden_reviews_overdue{tenant="acme"} 1');
    expect(metrics).toContain('warden_break_glass_total{tenant="acme"} 1');
    const api = await w.call('GET', '/v1/reviews?state=overdue', { token: await w.tokenFor('aude') });
    expect(api.body.items.map((r: { id: string }) => r.id)).toEqual([reviewId]);
  });

  it('is reviewed by an auditor, never by the executor; the request becomes reviewed', async () => {
    const bySam = await w.call('POST', `/v1/reviews/${reviewId}/complete`, {
      token: await w.tokenFor('sam', { groups: ['Service Desk', 'security-audit'] }),
      body: { tenant: 'acme', outcome: 'justified', notes: 'mine' },
    });
    expect([bySam.status, bySam.body.code]).toEqual([403, 'ERR_SOD_VIOLATION']);
    const done = await w.call('POST', `/v1/reviews/${reviewId}/complete`, {
      token: await w.tokenFor('aude'),
      body: { tenant: 'acme', outcome: 'justified', notes: 'Outage confirmed in INC-OUT-7; Dana verified on video afterwards' },
    });
    expect(done.body).toMatchObject({ state: 'done', outcome: 'justified', reviewer: { id: PEOPLE.aude.id } });
    expect((await w.call('GET', `/v1/requests/${requestId}`, { token: await w.tokenFor('aude') })).body.state).toBe('reviewed');
    expect(await cli('reviews', 'overdue')).toMatchObject({ code: 0, out: 'no overdue reviews\n' });
    expect((await w.call('GET', '/metrics')).body as string).toContain('warden_reviews_overdue{tenant="acme"} 0');
  });

  it('cannot be declared by a machine without the break-glass scope', async () => {
    const key = await w.apiKey(['requests:write']);
    const res = await w.call('POST', '/v1/requests', {
      token: key,
      body: resetRequest({ executor: { id: PEOPLE.sam.id }, breakGlass: { reason: 'Twenty characters of a real reason here' } }),
    });
    expect([res.status, res.body.code]).toEqual([403, 'ERR_FORBIDDEN']);
  });
});
