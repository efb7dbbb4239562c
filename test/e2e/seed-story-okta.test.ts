import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAudit } from '../../src/audit/verify-audit.js';
import { startOktaWorkflowServer, type OktaPerson, type OktaWorkflowServer } from '../helpers/okta-workflow-server.js';

/**
 * The seed's story end to end on Okta (issue 6's done-when, with issue 4's
 * release): the real server, the real Okta connector and okta-sdk-nodejs
 * against the Okta simulator, which delivers event hooks to Warden as Okta
 * does; ServiceNow answered by nock on the vendor's shapes; people signed in
 * with tokens from a local OIDC issuer.
 *
 * Dana calls the help desk; Sam files a request citing a ServiceNow ticket;
 * Dana approves the Okta Verify push Warden sends through Okta; Ann (IAM
 * approver) approves; Sam resets Dana's factors in Okta; Okta's event hook
 * brings the reset to Warden, which matches the request and allows it. A
 * reset without approval is held (the user lands in the hold group in Okta),
 * and the approval that covers it releases it (the user leaves the group). A
 * second reset with the same request is held; an expired request does not
 * match. In broker mode Warden resets the factors itself and Okta's event of
 * that reset matches its own request.
 */
describe('the seed story on Okta: request, push proofing, approval, reset, match', () => {
  let w: OktaWorkflowServer;
  beforeAll(async () => {
    w = await startOktaWorkflowServer();
  });
  afterAll(() => w?.close());

  const id = (p: OktaPerson) => w.people[p].id;
  const held = (p: OktaPerson) => w.sim.groupNames(id(p)).includes('Warden Hold');
  /** The decision on the newest Okta event of this type about this user. */
  const decisionOn = async (p: OktaPerson, eventType = 'user.mfa.factor.reset_all') => {
    const event = w.sim.log.filter((e) => e.eventType === eventType && JSON.stringify(e.target).includes(id(p))).at(-1)!;
    return (await w.audit()).find((r) => r.type === 'decision.recorded' && (r.data.change.source.eventIds as string[]).includes(event.uuid))!;
  };
  const get = async (requestId: string) => (await w.call('GET', `/v1/requests/${requestId}`, { token: await w.tokenFor('sam') })).body;
  const approve = async (requestId: string, approver: OktaPerson) =>
    w.call('POST', `/v1/requests/${requestId}/approve`, {
      token: await w.tokenFor(approver),
      body: { tenant: 'acme', comment: 'ticket and proofing check out' },
    });
  /** `executor` files a factor reset for `target` citing a fresh ServiceNow ticket. */
  let tickets = 100;
  const file = async (target: OktaPerson, executor: OktaPerson, extra: Record<string, unknown> = {}) => {
    const number = `INC0020${tickets++}`;
    w.ticket(number, target, executor);
    const res = await w.call('POST', '/v1/requests', {
      token: await w.tokenFor(executor),
      body: {
        tenant: 'acme',
        kind: 'factor.reset_all',
        target: { login: w.people[target].profile.login },
        requester: { id: id(target) },
        justification: { ticket: { system: 'servicenow', id: number } },
        contact: { channel: 'phone' },
        ...extra,
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body;
  };
  const callback = async (requestId: string, executor: OktaPerson) =>
    (
      await w.call('POST', `/v1/requests/${requestId}/proofing/callback`, {
        token: await w.tokenFor(executor),
        body: { tenant: 'acme', number: '+1 415 555 0199', numberSource: 'hr', numberLastChangedAt: '2024-06-01T00:00:00Z' },
      })
    ).body;

  describe('Dana: the request covers the reset Sam makes after the approval', () => {
    let requestId: string;

    it('files the request with its ticket; the target is read from Okta', async () => {
      const request = await file('dana', 'sam');
      requestId = request.id;
      expect(request).toMatchObject({
        state: 'proofing',
        target: { id: id('dana'), login: 'dana.lee@acme.example', groups: ['Everyone', 'Finance'] },
        executor: { id: id('sam') },
        needs: { proofing: 'callback', approvals: { count: 1, from: ['group:iam-approvers'] }, rules: ['assisted-reset-standard'] },
        ticket: { system: 'servicenow', state: 'In Progress', valid: true },
      });
    });

    it('proofs Dana with an Okta Verify push through Okta: waiting until she approves it on her phone', async () => {
      const token = await w.tokenFor('sam');
      const started = await w.call('POST', `/v1/requests/${requestId}/proofing/push`, { token, body: { tenant: 'acme' } });
      expect(started.status).toBe(202);
      const factor = w.sim.factorsOf(id('dana'))[0]!;
      expect(started.body).toMatchObject({ method: 'okta_verify_push', factor: { id: factor.id, type: 'push', enrolledAt: factor.created } });
      expect(w.sim.requests.some((r) => r.method === 'POST' && r.path === `/api/v1/users/${id('dana')}/factors/${factor.id}/verify`)).toBe(true);
      const poll = () => w.call('POST', `/v1/requests/${requestId}/proofing/push/${started.body.transactionId}`, { token, body: { tenant: 'acme' } });
      expect((await poll()).body.status).toBe('waiting');
      w.advance(20_000);
      w.sim.answerPush(id('dana'), 'approve');
      const done = await poll();
      expect(done.body).toMatchObject({
        status: 'success',
        request: { state: 'pending_approval', proofing: { level: 'callback', method: 'okta_verify_push' } },
      });
    });

    it('is approved by Ann, an IAM approver signed in with a recent MFA', async () => {
      w.advance(60_000);
      const res = await approve(requestId, 'ann');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ state: 'approved', approvals: [{ approverId: id('ann'), verdict: 'approve', groups: ['Everyone', 'iam-approvers'] }] });
    });

    it("matches Sam's reset in Okta, delivered by Okta's event hook, allows it and uses the request up", async () => {
      w.advance(120_000);
      w.sim.adminResetFactors(id('sam'), id('dana'));
      await w.settle();
      const decision = await decisionOn('dana');
      expect(decision).toMatchObject({
        subject: { requestId },
        data: {
          outcome: 'allow',
          actions: [],
          rules: [{ id: 'assisted-reset-standard', outcome: 'allow', requestId }],
          change: { channel: 'helpdesk', actorId: id('sam'), source: { idp: 'okta', via: 'hook' } },
        },
      });
      expect(held('dana')).toBe(false);
      const request = await get(requestId);
      expect(request).toMatchObject({ state: 'executed', consumed: { changeId: decision.subject.changeId, decisionId: decision.subject.decisionId } });
      const matched = (await w.audit()).find((r) => r.type === 'request.matched' && r.subject.requestId === requestId)!;
      expect(matched.data).toMatchObject({ idp: 'okta', actor: { id: id('sam') }, approvals: [{ approverId: id('ann') }], ticket: { valid: true } });
      expect(matched.data.evidence.map((e: { method: string }) => e.method)).toEqual(['servicenow', 'okta_verify_push']);
    });

    it('holds a second reset with the same request (single use): Dana lands in the hold group in Okta', async () => {
      w.advance(60_000);
      w.sim.selfEnroll(id('dana'), 'push'); // Dana sets her phone up again
      await w.settle();
      w.advance(60_000);
      w.sim.adminResetFactors(id('sam'), id('dana'));
      await w.settle();
      const decision = await decisionOn('dana');
      expect(decision.data).toMatchObject({
        outcome: 'hold',
        rules: [{ id: 'assisted-reset-standard', reason: expect.stringMatching(/no approved change request covers this change/) }],
      });
      expect(held('dana')).toBe(true);
      expect(w.sim.users.get(id('dana'))!.sessions).toBe(0);
    });
  });

  describe('Eve: the same reset without approval is held, and the approval releases it', () => {
    it('holds the reset Tom makes before the approval, then releases it when Bob approves: Eve leaves the hold group', async () => {
      const request = await file('eve', 'tom');
      expect((await callback(request.id, 'tom')).state).toBe('pending_approval');
      w.advance(60_000);
      w.sim.adminResetFactors(id('tom'), id('eve'));
      await w.settle();
      const decision = await decisionOn('eve');
      expect(decision.data).toMatchObject({ outcome: 'hold', actions: [{ kind: 'hold_group' }, { kind: 'revoke_sessions' }, { kind: 'remove_new_factor' }] });
      expect(held('eve')).toBe(true);

      w.advance(5 * 60_000);
      const approved = await approve(request.id, 'bob');
      expect(approved.status).toBe(200);
      expect(approved.body).toMatchObject({
        state: 'executed',
        consumed: { decisionId: decision.subject.decisionId, changeId: decision.subject.changeId, releasedHold: true },
      });
      await w.settle();
      expect(held('eve')).toBe(false);
      const records = await w.audit();
      expect(records.find((r) => r.type === 'hold.released' && r.subject.decisionId === decision.subject.decisionId)).toMatchObject({
        actor: { type: 'user', id: id('bob') },
        subject: { requestId: request.id },
        data: {
          undo: ['release_hold_group'],
          reason: expect.stringMatching(/approved by bob.approver@acme.example, covers this change made before its approval/),
        },
      });
      // The hold and the factor removal run together; the sessions end once both are done; the release comes last.
      const executed = records.filter((r) => r.type === 'action.executed' && r.data.targetId === id('eve')).map((r) => r.data.kind as string);
      expect([[...executed.slice(0, 2)].sort(), executed.slice(2)]).toEqual([
        ['hold_group', 'remove_new_factor'],
        ['revoke_sessions', 'release_hold_group'],
      ]);
      // Okta's record of Warden taking Eve out of the group is Warden's own: nothing new is judged.
      expect(records.filter((r) => r.type === 'decision.recorded' && r.data.change.targetId === id('eve')).map((r) => r.data.change.kind)).toEqual([
        'factor.reset_all',
      ]);
    });
  });

  describe('Frank: an expired request does not match', () => {
    it('holds a reset made after the approved request ran out', async () => {
      const request = await file('frank', 'tom');
      await callback(request.id, 'tom');
      expect((await approve(request.id, 'bob')).body.state).toBe('approved');
      w.advance(3600_000 + 5 * 60_000);
      w.sim.adminResetFactors(id('tom'), id('frank'));
      await w.settle();
      const decision = await decisionOn('frank');
      expect(decision.data.outcome).toBe('hold');
      expect(decision.data.rules[0].reason).toMatch(new RegExp(`request ${request.id} expired at`));
      expect(held('frank')).toBe(true);
      expect((await get(request.id)).state).toBe('approved');
      expect(await w.server.workflow.sweep()).toMatchObject({ expired: 1 });
      expect((await get(request.id)).state).toBe('expired');
    });
  });

  describe('Gina: broker mode', () => {
    it("has Warden reset the factors through Okta; Okta's event of that reset matches Warden's own request", async () => {
      const request = await file('gina', 'sam', { broker: true, changeChannel: 'api' });
      await callback(request.id, 'sam');
      expect((await approve(request.id, 'ann')).body.state).toBe('approved');
      const factor = w.sim.factorsOf(id('gina'))[0]!;
      const executed = await w.call('POST', `/v1/requests/${request.id}/execute`, { token: await w.tokenFor('sam'), body: { tenant: 'acme' } });
      expect(executed.status).toBe(200);
      expect(executed.body).toMatchObject({ reference: `okta:reset_factors:${id('gina')}:${request.id}`, request: { brokered: { state: 'done' } } });
      expect(w.sim.factors.has(factor.id)).toBe(false);
      await w.settle();
      const decision = await decisionOn('gina');
      expect(decision).toMatchObject({
        subject: { requestId: request.id },
        data: { outcome: 'allow', rules: [{ requestId: request.id }], change: { channel: 'api', actorId: w.sim.tokenOwner.id } },
      });
      expect(await get(request.id)).toMatchObject({ state: 'executed', consumed: { decisionId: decision.subject.decisionId } });
      expect(held('gina')).toBe(false);
    });
  });

  describe('what the workflow reads from Okta', () => {
    it('refuses a push to an Okta Verify factor enrolled two days ago, keeping the refusal as evidence', async () => {
      const request = await file('hal', 'sam');
      const res = await w.call('POST', `/v1/requests/${request.id}/proofing/push`, { token: await w.tokenFor('sam'), body: { tenant: 'acme' } });
      expect([res.status, res.body.code]).toEqual([422, 'ERR_EVIDENCE_REJECTED']);
      expect(res.body.detail).toMatch(/enrolled or changed 2 day\(s\) ago; factors newer than 7 days do not count/);
      expect((await get(request.id)).evidence).toEqual(expect.arrayContaining([expect.objectContaining({ method: 'okta_verify_push', accepted: false })]));
    });

    it('lets only the manager Okta names (profile managerId) attest for a contractor', async () => {
      const request = await file('cole', 'sam');
      expect(request).toMatchObject({ target: { managerId: id('omar'), employeeType: 'contractor' }, needs: { proofing: 'manager_attest' } });
      const notManager = await w.call('POST', `/v1/requests/${request.id}/proofing/attest`, { token: await w.tokenFor('ann'), body: { tenant: 'acme' } });
      expect([notManager.status, notManager.body.code]).toEqual([403, 'ERR_FORBIDDEN']);
      const attested = await w.call('POST', `/v1/requests/${request.id}/proofing/attest`, { token: await w.tokenFor('omar'), body: { tenant: 'acme' } });
      expect(attested.status).toBe(200);
      expect(attested.body).toMatchObject({ state: 'pending_approval', proofing: { level: 'manager_attest', method: 'manager_attestation' } });
    });
  });

  it('kept an unbroken audit chain', async () => {
    expect((await verifyAudit(w.server.store, 'acme')).ok).toBe(true);
  });
});
