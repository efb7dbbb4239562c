import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAudit } from '../../src/audit/verify-audit.js';
import { verifyWebhook } from '../../src/notify/standard-webhooks.js';
import { PEOPLE, resetEvent, resetRequest, SOAR_SECRET, startWorkflowServer, type WorkflowServer } from '../helpers/workflow-server.js';

/**
 * The seed's story, end to end on the real server with a fake Okta-like
 * connector (the workflow's side; the same story against the Okta simulator
 * and the real Okta connector is test/e2e/seed-story-okta.test.ts): Dana
 * calls the help desk, Sam files a request citing a ServiceNow ticket, Dana
 * approves an Okta Verify push, Ann (IAM approver) approves, Sam resets Dana's
 * factors in the IdP, the event comes back through the connector's receiver
 * and inbox, and Warden matches it to the request and allows it. Around it: a
 * reset by another agent before the approval is held (and the approval does
 * not release it: not the executor), a second reset with the same request is
 * held (single use), an expired request does not match.
 */
describe('the seed story: a help-desk MFA reset, accountable end to end', () => {
  let w: WorkflowServer;
  let requestId: string;
  beforeAll(async () => {
    w = await startWorkflowServer();
  });
  afterAll(() => w?.close());

  const decisionFor = async (eventId: string) => {
    const records = await w.audit();
    return records.find((r) => r.type === 'decision.recorded' && (r.data.change.source.eventIds as string[]).includes(eventId));
  };

  it('files the request with the ticket: the policy fixes what it needs, the ticket is checked in ServiceNow', async () => {
    w.ticket('INC0010002');
    const sam = await w.tokenFor('sam');
    const res = await w.call('POST', '/v1/requests', { token: sam, body: resetRequest() });
    expect(res.status).toBe(201);
    requestId = res.body.id;
    expect(res.body).toMatchObject({
      state: 'proofing',
      kind: 'factor.reset_all',
      target: { id: PEOPLE.dana.id, login: PEOPLE.dana.login, managerId: PEOPLE.omar.id },
      executor: { id: PEOPLE.sam.id },
      needs: {
        proofing: 'callback',
        ticket: { system: 'servicenow', states: ['In Progress'] },
        approvals: { count: 1, from: ['group:iam-approvers'] },
        ttlSeconds: 3600,
        rules: ['assisted-reset-standard'],
      },
      ticket: { system: 'servicenow', id: 'INC0010002', state: 'In Progress', valid: true, problems: [] },
    });
    expect(res.body.evidence).toEqual([
      expect.objectContaining({ kind: 'ticket', method: 'servicenow', accepted: true, reference: 'ef43c6d40a0a0b5700c77f9bf387afe3' }),
    ]);
  });

  it('proofs Dana with an Okta Verify push through the proofer port', async () => {
    const sam = await w.tokenFor('sam');
    const started = await w.call('POST', `/v1/requests/${requestId}/proofing/push`, { token: sam, body: { tenant: 'acme' } });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ method: 'okta_verify_push', factor: { type: 'push' } });
    const poll = () => w.call('POST', `/v1/requests/${requestId}/proofing/push/${started.body.transactionId}`, { token: sam, body: { tenant: 'acme' } });
    expect((await poll()).body.status).toBe('waiting');
    w.okta.pushAnswers.set(started.body.transactionId, 'success');
    const done = await poll();
    expect(done.body.status).toBe('success');
    expect(done.body.request).toMatchObject({ state: 'pending_approval', proofing: { level: 'callback', method: 'okta_verify_push' } });
  });

  it('holds a reset of the same user by another agent before the approval, and contains the account', async () => {
    expect(await w.okta.deliver(w.server.url, 'acme', resetEvent('evt-early', 'dana', 'tom', w.clock.now))).toBe(200);
    expect(await w.server.inbox.runOnce()).toBe(1);
    const decision = await decisionFor('evt-early');
    expect(decision?.data.outcome).toBe('hold');
    expect(decision?.data.rules[0].reason).toMatch(/no approved change request covers this change/);
    expect(decision?.data.actions.map((a: { kind: string }) => a.kind)).toEqual(['hold_group', 'revoke_sessions', 'remove_new_factor']);
    expect((await w.call('GET', `/v1/requests/${requestId}`, { token: await w.tokenFor('sam') })).body.state).toBe('pending_approval');
  });

  it('is approved by an IAM approver signed in with a recent MFA', async () => {
    w.advance(60_000);
    const res = await w.call('POST', `/v1/requests/${requestId}/approve`, {
      token: await w.tokenFor('ann'),
      body: { tenant: 'acme', comment: 'ticket and push check out' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      state: 'approved',
      approvals: [{ approverId: PEOPLE.ann.id, verdict: 'approve', groups: ['Everyone', 'iam-approvers'], amr: ['pwd', 'mfa', 'okta_verify'] }],
    });
    expect(Date.parse(res.body.expiresAt) - Date.parse(res.body.approvedAt)).toBe(3600_000);
    // Tom's earlier reset stays held: the request names Sam as its executor, so its approval does not release it.
    expect((await w.audit()).filter((r) => r.type === 'hold.released')).toEqual([]);
  });

  it("matches the agent's reset, delivered through the connector's receiver, allows it and consumes the request", async () => {
    w.advance(120_000);
    expect(await w.okta.deliver(w.server.url, 'acme', resetEvent('evt-reset', 'dana', 'sam', w.clock.now))).toBe(200);
    expect(await w.server.inbox.runOnce()).toBe(1);
    const decision = await decisionFor('evt-reset');
    expect(decision).toMatchObject({
      subject: { requestId },
      data: { outcome: 'allow', actions: [], rules: [{ id: 'assisted-reset-standard', outcome: 'allow', requestId }] },
    });
    const request = (await w.call('GET', `/v1/requests/${requestId}`, { token: await w.tokenFor('sam') })).body;
    expect(request).toMatchObject({
      state: 'executed',
      consumed: { changeId: decision!.subject.changeId, decisionId: decision!.subject.decisionId, eventIds: ['evt-reset'] },
    });

    // The audit binds the request, its evidence and approvals to the IdP event ids.
    const matched = (await w.audit()).find((r) => r.type === 'request.matched')!;
    expect(matched.subject).toEqual({ requestId, changeId: decision!.subject.changeId, decisionId: decision!.subject.decisionId });
    expect(matched.data).toMatchObject({
      idp: 'fakeokta',
      eventIds: ['evt-reset'],
      requester: { id: PEOPLE.dana.id },
      executor: { id: PEOPLE.sam.id },
      actor: { id: PEOPLE.sam.id },
      approvals: [{ approverId: PEOPLE.ann.id, verdict: 'approve' }],
      ticket: { id: 'INC0010002', state: 'In Progress' },
    });
    expect(matched.data.evidence.map((e: { method: string }) => e.method)).toEqual(['servicenow', 'okta_verify_push']);
  });

  it('holds a second reset with the same request: a request is used once', async () => {
    w.advance(60_000);
    await w.okta.deliver(w.server.url, 'acme', resetEvent('evt-again', 'dana', 'sam', w.clock.now));
    await w.server.inbox.runOnce();
    const decision = await decisionFor('evt-again');
    expect(decision?.data.outcome).toBe('hold');
    expect(decision?.data.rules[0].reason).toMatch(/no approved change request covers this change/);
  });

  it('does not match an expired request', async () => {
    w.ticket('INC0010003', { caller: ['eve.staff@acme.example', 'eve.staff'], openedBy: ['tom.agent@acme.example', 'tom.agent'], group: 'Service Desk' });
    const tom = await w.tokenFor('tom');
    const created = await w.call('POST', '/v1/requests', {
      token: tom,
      body: resetRequest({
        target: { id: PEOPLE.eve.id },
        requester: { id: PEOPLE.eve.id },
        justification: { ticket: { system: 'servicenow', id: 'INC0010003' } },
      }),
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    await w.call('POST', `/v1/requests/${id}/proofing/callback`, {
      token: tom,
      body: { tenant: 'acme', number: '+1 415 555 0199', numberSource: 'hr', numberLastChangedAt: '2024-06-01T00:00:00Z' },
    });
    const approved = await w.call('POST', `/v1/requests/${id}/approve`, { token: await w.tokenFor('bob'), body: { tenant: 'acme' } });
    expect(approved.body.state).toBe('approved');

    w.advance(3600_000 + 5 * 60_000);
    await w.okta.deliver(w.server.url, 'acme', resetEvent('evt-late', 'eve', 'tom', w.clock.now));
    await w.server.inbox.runOnce();
    const decision = await decisionFor('evt-late');
    expect(decision?.data.outcome).toBe('hold');
    expect(decision?.data.rules[0].reason).toMatch(new RegExp(`request ${id} expired at`));
    expect((await w.call('GET', `/v1/requests/${id}`, { token: await w.tokenFor('tom') })).body.state).toBe('approved');
    expect(await w.server.workflow.sweep()).toMatchObject({ expired: 1 });
    expect((await w.call('GET', `/v1/requests/${id}`, { token: await w.tokenFor('tom') })).body).toMatchObject({
      state: 'expired',
      closed: { reason: expect.stringMatching(/approved but not used/) },
    });
  });

  it('recorded every transition as an audit record and a signed webhook, and the chain verifies', async () => {
    const types = (await w.audit()).filter((r) => r.subject.requestId === requestId).map((r) => r.type);
    expect(types).toEqual([
      'request.created',
      'request.ticket_checked',
      'request.proofing',
      'request.proofing_started',
      'request.evidence_added',
      'request.pending_approval',
      'request.approval_recorded',
      'request.approved',
      'decision.recorded',
      'request.executed',
      'request.matched',
    ]);
    while ((await w.server.webhooks.runOnce()) > 0);
    const delivered = w.webhooks.map((h) => ({
      type: JSON.parse(h.body).type as string,
      ok: verifyWebhook(SOAR_SECRET, h.headers as Record<string, string>, h.body, w.clock.now),
    }));
    expect(delivered.filter((d) => d.type.startsWith('request.')).length).toBeGreaterThanOrEqual(types.length - 1);
    expect(delivered.every((d) => typeof d.ok === 'string')).toBe(true);
    expect(delivered.map((d) => d.type)).toEqual(
      expect.arrayContaining(['request.created', 'request.approved', 'request.executed', 'request.matched', 'request.expired']),
    );
    expect((await verifyAudit(w.server.store, 'acme')).ok).toBe(true);
  });
});
