import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PEOPLE, postVerifierEvidence, resetRequest, startWorkflowServer, type WorkflowServer } from '../helpers/workflow-server.js';

/**
 * Proofing: Okta Verify push through the proofer port (a recently changed
 * factor does not count; a denied push is recorded), callback on a number of
 * record, manager attestation, signed evidence from an external verifier
 * bound to the request and its target, and risky context raising the level.
 */
describe('proofing the requester', () => {
  let w: WorkflowServer;
  let n = 0;
  beforeAll(async () => {
    w = await startWorkflowServer();
  });
  afterAll(() => w?.close());

  async function open(overrides: Record<string, unknown> = {}) {
    const ticket = `INC00400${String(++n).padStart(2, '0')}`;
    w.ticket(ticket);
    const res = await w.call('POST', '/v1/requests', {
      token: await w.tokenFor('sam'),
      body: resetRequest({ justification: { ticket: { system: 'servicenow', id: ticket } }, ...overrides }),
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body;
  }
  const evidenceTypes = async (requestId: string) =>
    (await w.audit()).filter((r) => r.subject.requestId === requestId && r.type.startsWith('request.evidence')).map((r) => r.type);

  it('refuses a push to a factor changed within the minimum age (7 days), and keeps the refusal as evidence: 422 ERR_EVIDENCE_REJECTED', async () => {
    const r = await open();
    w.okta.factors.set(PEOPLE.dana.id, { id: 'opf-new', type: 'push', enrolledAt: '2026-02-28T10:00:00.000Z', lastUpdated: '2026-02-28T10:00:00.000Z' });
    try {
      const res = await w.call('POST', `/v1/requests/${r.id}/proofing/push`, { token: await w.tokenFor('sam'), body: { tenant: 'acme' } });
      expect([res.status, res.body.code]).toEqual([422, 'ERR_EVIDENCE_REJECTED']);
      expect(res.body.detail).toMatch(/changed at 2026-02-28T10:00:00.000Z, less than 7 days ago/);
      expect(await evidenceTypes(r.id)).toEqual(['request.evidence_rejected']);
    } finally {
      w.okta.factors.set(PEOPLE.dana.id, { id: 'opf-dana', type: 'push', enrolledAt: '2025-01-10T08:00:00.000Z', lastUpdated: '2025-06-01T08:00:00.000Z' });
    }
  });

  it('records a denied push as rejected evidence: the request stays in proofing', async () => {
    const r = await open();
    const sam = await w.tokenFor('sam');
    const started = await w.call('POST', `/v1/requests/${r.id}/proofing/push`, { token: sam, body: { tenant: 'acme' } });
    w.okta.pushAnswers.set(started.body.transactionId, 'rejected');
    const polled = await w.call('POST', `/v1/requests/${r.id}/proofing/push/${started.body.transactionId}`, { token: sam, body: { tenant: 'acme' } });
    expect(polled.body.status).toBe('rejected');
    expect(polled.body.request.state).toBe('proofing');
    expect(polled.body.request.evidence.find((e: { kind: string }) => e.kind === 'proofing')).toMatchObject({
      accepted: false,
      problems: ['the user rejected the push'],
    });
    const unknown = await w.call('POST', `/v1/requests/${r.id}/proofing/push/txn-not-mine`, { token: sam, body: { tenant: 'acme' } });
    expect([unknown.status, unknown.body.code]).toEqual([404, 'ERR_NOT_FOUND']);
  });

  it('refuses a callback to a number the caller gave, or one changed recently: 422, kept as rejected evidence', async () => {
    const r = await open();
    const sam = await w.tokenFor('sam');
    const callback = (patch: Record<string, unknown>) =>
      w.call('POST', `/v1/requests/${r.id}/proofing/callback`, {
        token: sam,
        body: { tenant: 'acme', number: '+1 415 555 0111', numberSource: 'hr', numberLastChangedAt: '2024-01-01T00:00:00Z', ...patch },
      });
    const given = await callback({ numberSource: 'caller' });
    expect([given.status, given.body.code]).toEqual([422, 'ERR_EVIDENCE_REJECTED']);
    const recent = await callback({ numberLastChangedAt: '2026-02-20T00:00:00Z' });
    expect([recent.status, recent.body.code]).toEqual([422, 'ERR_EVIDENCE_REJECTED']);
    expect(recent.body.detail).toMatch(/changed at 2026-02-20T00:00:00Z, less than 30 days before the call/);
    const ok = await callback({});
    expect([ok.status, ok.body.state]).toEqual([200, 'pending_approval']);
    expect(
      ok.body.evidence
        .filter((e: { kind: string }) => e.kind === 'proofing')
        .map((e: { accepted: boolean; details: { number: string } }) => [e.accepted, e.details.number]),
    ).toEqual([
      [false, '+1 415 555 0111'],
      [false, '+1 415 555 0111'],
      [true, '+1 415 555 0111'],
    ]);
  });

  it('raises the level for risky context: a recently changed phone makes a callback insufficient', async () => {
    const r = await open({ context: { phoneChangedAt: '2026-02-27T12:00:00Z', deviceTrusted: true } });
    expect(r.needs).toMatchObject({ proofing: 'manager_attest', policyProofing: 'callback', raisedBy: ['phone number changed at 2026-02-27T12:00:00Z'] });
    const ok = await w.call('POST', `/v1/requests/${r.id}/proofing/callback`, {
      token: await w.tokenFor('sam'),
      body: { tenant: 'acme', number: '+1 415 555 0100', numberSource: 'hr', numberLastChangedAt: '2024-01-01T00:00:00Z' },
    });
    expect(ok.body.state).toBe('proofing');
    // Only the target's manager attests, signed in with a recent MFA.
    const byEve = await w.call('POST', `/v1/requests/${r.id}/proofing/attest`, { token: await w.tokenFor('eve'), body: { tenant: 'acme' } });
    expect([byEve.status, byEve.body.code]).toEqual([403, 'ERR_FORBIDDEN']);
    const stale = await w.call('POST', `/v1/requests/${r.id}/proofing/attest`, { token: await w.tokenFor('omar', { amr: ['pwd'] }), body: { tenant: 'acme' } });
    expect([stale.status, stale.body.code]).toEqual([401, 'ERR_STEP_UP_REQUIRED']);
    const attested = await w.call('POST', `/v1/requests/${r.id}/proofing/attest`, { token: await w.tokenFor('omar'), body: { tenant: 'acme' } });
    expect(attested.body).toMatchObject({ state: 'pending_approval', proofing: { level: 'manager_attest', method: 'manager_attestation' } });
    expect(attested.body.evidence.find((e: { method: string }) => e.method === 'manager_attestation')).toMatchObject({
      verifier: { type: 'user', id: PEOPLE.omar.id },
    });
  });

  it('raises the level for a mailbox with new rules and for an untrusted device', async () => {
    expect((await open({ context: { mailboxRulesChangedAt: '2026-03-01T22:00:00Z' } })).needs.proofing).toBe('manager_attest');
    expect((await open({ context: { deviceTrusted: false } })).needs.proofing).toBe('manager_attest');
  });

  describe('external verifier evidence (signed, bound to the request and its target)', () => {
    it("accepts verified evidence about the target at the verifier's configured level, once per message", async () => {
      const r = await open();
      const body = {
        requestId: r.id,
        result: 'verified',
        subject: { email: PEOPLE.dana.email },
        verifiedAt: w.clock.now.toISOString(),
        reference: 'inq_ABC',
        claims: { verified_claims: { verification: { trust_framework: 'de_aml' } } },
      };
      const res = await postVerifierEvidence(w, body, { messageId: 'msg_dana_1' });
      expect([res.status, res.body.state]).toEqual([200, 'pending_approval']);
      expect(res.body.proofing).toMatchObject({ level: 'idv', method: 'persona' });
      const again = await postVerifierEvidence(w, body, { messageId: 'msg_dana_1' });
      expect([again.status, again.headers.get('idempotent-replayed')]).toEqual([200, 'true']);
      expect(again.body.evidence.filter((e: { method: string }) => e.method === 'persona')).toHaveLength(1);
    });

    it('refuses evidence whose subject is not the target: 422, kept as rejected', async () => {
      const r = await open();
      const res = await postVerifierEvidence(w, {
        requestId: r.id,
        result: 'verified',
        subject: { login: PEOPLE.eve.login },
        verifiedAt: w.clock.now.toISOString(),
      });
      expect([res.status, res.body.code]).toEqual([422, 'ERR_EVIDENCE_REJECTED']);
      expect(res.body.detail).toMatch(/is not the request's target/);
      expect(await evidenceTypes(r.id)).toEqual(['request.evidence_rejected']);
    });

    it('refuses a bad signature (401), an unknown verifier or request (404), a failed verification (422)', async () => {
      const r = await open();
      const body = { requestId: r.id, result: 'verified', subject: { id: PEOPLE.dana.id }, verifiedAt: w.clock.now.toISOString() };
      const forged = await postVerifierEvidence(w, body, { secret: 'whsec_' + Buffer.alloc(32, 9).toString('base64') });
      expect([forged.status, forged.body.code]).toEqual([401, 'ERR_AUTH_INVALID']);
      const replayed = await postVerifierEvidence(w, body, { timestamp: Math.floor(w.clock.now.getTime() / 1000) - 3600 });
      expect([replayed.status, replayed.body.code]).toEqual([401, 'ERR_AUTH_INVALID']);
      const unsigned = await w.call('POST', '/hooks/verifiers/acme/persona', {
        headers: { 'content-type': 'application/json' },
        rawBody: JSON.stringify(body),
      });
      expect([unsigned.status, unsigned.body.code]).toEqual([401, 'ERR_AUTH_REQUIRED']);
      const nobody = await w.call('POST', '/hooks/verifiers/acme/nobody', { headers: { 'content-type': 'application/json' }, rawBody: '{}' });
      expect([nobody.status, nobody.body.code]).toEqual([404, 'ERR_NOT_FOUND']);
      const noRequest = await postVerifierEvidence(w, { ...body, requestId: '01a00000-0000-7000-8000-000000000000' });
      expect([noRequest.status, noRequest.body.code]).toEqual([404, 'ERR_NOT_FOUND']);
      const failed = await postVerifierEvidence(w, { ...body, result: 'failed' });
      expect([failed.status, failed.body.code]).toEqual([422, 'ERR_EVIDENCE_REJECTED']);
    });
  });
});
