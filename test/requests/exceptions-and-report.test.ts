import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PEOPLE, resetEvent, resetRequest, startWorkflowServer, type WorkflowServer } from '../helpers/workflow-server.js';

/**
 * Policy exceptions (a rule not applied to a named target: owner, reason,
 * expiry, admin only; decisions that used one say so; expired ones stop
 * applying) and the accountability report (every change with its four
 * parties; unmatched changes; break-glass and exceptions with their state).
 */
describe('policy exceptions and the accountability report', () => {
  let w: WorkflowServer;
  let exceptionId: string;
  let matchedRequest: string;
  const start = new Date('2026-03-02T09:00:00.000Z');
  beforeAll(async () => {
    w = await startWorkflowServer({ start });
  });
  afterAll(() => w?.close());

  const decisionFor = async (eventId: string) =>
    (await w.audit()).find((r) => r.type === 'decision.recorded' && r.data.change.source.eventIds.includes(eventId));

  it('needs an admin signed in with a recent MFA, and a rule the policy has', async () => {
    const body = {
      tenant: 'acme',
      ruleId: 'assisted-reset-standard',
      target: PEOPLE.eve.login,
      owner: 'it-ops@acme.example',
      reason: 'Kiosk account reset by the night shift without a ticket system',
      expiresAt: '2026-03-09T09:00:00.000Z',
    };
    const helpdesk = await w.call('POST', '/v1/exceptions', { token: await w.tokenFor('sam'), body });
    expect([helpdesk.status, helpdesk.body.code]).toEqual([403, 'ERR_FORBIDDEN']);
    const key = await w.call('POST', '/v1/exceptions', { token: await w.apiKey(['requests:write']), body });
    expect([key.status, key.body.code]).toEqual([403, 'ERR_FORBIDDEN']);
    const stale = await w.call('POST', '/v1/exceptions', { token: await w.tokenFor('priya', { auth_time: Math.floor(start.getTime() / 1000) - 3600 }), body });
    expect([stale.status, stale.body.code]).toEqual([401, 'ERR_STEP_UP_REQUIRED']);
    const unknownRule = await w.call('POST', '/v1/exceptions', { token: await w.tokenFor('priya'), body: { ...body, ruleId: 'no-such-rule' } });
    expect([unknownRule.status, unknownRule.body.code]).toEqual([400, 'ERR_VALIDATION']);
    const tooLong = await w.call('POST', '/v1/exceptions', { token: await w.tokenFor('priya'), body: { ...body, expiresAt: '2027-03-09T09:00:00.000Z' } });
    expect([tooLong.status, tooLong.body.code]).toEqual([400, 'ERR_VALIDATION']);
    const created = await w.call('POST', '/v1/exceptions', { token: await w.tokenFor('priya'), body, headers: { 'Idempotency-Key': 'exc-eve-1' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ state: 'active', ruleId: 'assisted-reset-standard', target: PEOPLE.eve.login, createdBy: PEOPLE.priya.id });
    exceptionId = created.body.id;
  });

  it('exempts the target from the rule, and the decision says which exception it used', async () => {
    w.advance(60_000);
    await w.okta.deliver(w.server.url, 'acme', resetEvent('evt-exempt', 'eve', 'tom', w.clock.now));
    await w.server.inbox.runOnce();
    const decision = await decisionFor('evt-exempt');
    expect(decision?.data).toMatchObject({
      outcome: 'allow',
      exceptions: [exceptionId],
      rules: [{ id: 'assisted-reset-standard', outcome: 'allow', exceptionId }],
    });
  });

  it('stops applying once expired', async () => {
    w.advance(7 * 86400_000);
    await w.okta.deliver(w.server.url, 'acme', resetEvent('evt-after', 'eve', 'tom', w.clock.now));
    await w.server.inbox.runOnce();
    expect((await decisionFor('evt-after'))?.data.outcome).toBe('hold');
    const listed = await w.call('GET', '/v1/exceptions', { token: await w.tokenFor('aude') });
    expect(listed.body.items).toEqual([expect.objectContaining({ id: exceptionId, state: 'expired' })]);
  });

  it('matches an approved request for the report', async () => {
    w.ticket('INC0030001');
    const sam = await w.tokenFor('sam');
    const created = await w.call('POST', '/v1/requests', {
      token: sam,
      body: resetRequest({ justification: { ticket: { system: 'servicenow', id: 'INC0030001' } } }),
    });
    matchedRequest = created.body.id;
    // An access token with no display name (Okta's by default): the report still names the person, not 00u….
    const samWithoutName = await w.tokenFor('sam', { name: undefined });
    await w.call('POST', `/v1/requests/${matchedRequest}/proofing/callback`, {
      token: samWithoutName,
      body: { tenant: 'acme', number: '+1 415 555 0100', numberSource: 'hr', numberLastChangedAt: '2024-01-01T00:00:00Z' },
    });
    expect((await w.call('POST', `/v1/requests/${matchedRequest}/approve`, { token: await w.tokenFor('ann'), body: { tenant: 'acme' } })).body.state).toBe(
      'approved',
    );
    await w.okta.deliver(w.server.url, 'acme', resetEvent('evt-matched', 'dana', 'sam', w.clock.now));
    await w.server.inbox.runOnce();
    expect((await decisionFor('evt-matched'))?.data.outcome).toBe('allow');
  });

  it('lists each change with its four parties, the unmatched ones, and the exceptions (JSON)', async () => {
    const { code, out } = await w.cli('report', 'accountability', '--tenant', 'acme', '--since', '2026-03-01T00:00:00Z', '--format', 'json');
    expect(code).toBe(0);
    const report = JSON.parse(out);
    expect(report.controls.map((c: { control: string }) => c.control.split(' ')[0])).toEqual(['NHI-03', 'PR.AA-01', 'GOVERN']);
    const matched = report.changes.find((c: { eventIds: string[] }) => c.eventIds.includes('evt-matched'));
    expect(matched).toMatchObject({
      kind: 'factor.reset_all',
      target: PEOPLE.dana.login,
      outcome: 'allow',
      requestId: matchedRequest,
      requester: PEOPLE.dana.login,
      verification: { method: 'callback', level: 'callback', verifier: PEOPLE.sam.login },
      approvers: [PEOPLE.ann.email],
      executor: PEOPLE.sam.login,
      actor: PEOPLE.sam.login,
      ticket: 'servicenow:INC0030001',
      unmatched: false,
    });
    expect(report.changes.find((c: { eventIds: string[] }) => c.eventIds.includes('evt-exempt'))).toMatchObject({
      outcome: 'allow',
      exceptions: [exceptionId],
      unmatched: true,
    });
    expect(report.unmatched.map((c: { eventIds: string[] }) => c.eventIds[0])).toEqual(['evt-exempt', 'evt-after']);
    expect(report.exceptions).toEqual([expect.objectContaining({ id: exceptionId, state: 'expired', usedBy: 1, owner: 'it-ops@acme.example' })]);
  });

  it('prints the same as a table and as CSV with the controls in the header', async () => {
    const table = await w.cli('report', 'accountability', '--tenant', 'acme', '--since', '2026-03-01T00:00:00Z');
    expect(table.out).toContain('OWASP Non-Human Identities Top 10 (2025) NHI-03');
    expect(table.out).toContain('NIST CSF 2.0 PR.AA-01');
    expect(table.out).toContain('NIST AI RMF 1.0 GOVERN');
    expect(table.out).toContain(
      `asked: ${PEOPLE.dana.login}   verified: callback (callback) by ${PEOPLE.sam.login}   approved: ${PEOPLE.ann.email}   executed: ${PEOPLE.sam.login} (in the IdP: ${PEOPLE.sam.login})   ticket: servicenow:INC0030001`,
    );
    expect(table.out).toMatch(/UNMATCHED/);
    const csv = await w.cli('report', 'accountability', '--tenant', 'acme', '--since', '2026-03-01T00:00:00Z', '--format', 'csv');
    const lines = csv.out.trim().split('\n');
    expect(lines.filter((l) => l.startsWith('# '))).toHaveLength(4);
    const header = lines.find((l) => l.startsWith('record,'))!.split(',');
    const row = lines.find((l) => l.includes('INC0030001'))!.split(',');
    const cell = (name: string) => row[header.indexOf(name)];
    expect([cell('record'), cell('requester'), cell('verified_by'), cell('approvers'), cell('executor'), cell('ticket')]).toEqual([
      'change',
      PEOPLE.dana.login,
      PEOPLE.sam.login,
      PEOPLE.ann.email,
      PEOPLE.sam.login,
      'servicenow:INC0030001',
    ]);
    expect(lines.some((l) => l.startsWith('exception,'))).toBe(true);
    const http = await w.call('GET', '/v1/reports/accountability?since=30d&format=csv', { token: await w.tokenFor('aude') });
    expect([http.status, http.headers.get('content-type')]).toEqual([200, 'text/csv; charset=utf-8']);
  });

  it('refuses a period reaching past any date (400 ERR_VALIDATION, not a RangeError and a 500)', async () => {
    const res = await w.call('GET', '/v1/reports/accountability?since=999999999d', { token: await w.tokenFor('aude') });
    expect([res.status, res.body.code]).toEqual([400, 'ERR_VALIDATION']);
  });

  it('is for admins and auditors only', async () => {
    const res = await w.call('GET', '/v1/reports/accountability', { token: await w.tokenFor('sam') });
    expect([res.status, res.body.code]).toEqual([403, 'ERR_FORBIDDEN']);
  });
});
