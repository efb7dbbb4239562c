import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PEOPLE, resetEvent, resetRequest, startWorkflowServer, type Person, type WorkflowServer } from '../helpers/workflow-server.js';

/**
 * Release on approval: the executor acted in the IdP before the request was
 * approved, Warden held the change, and the approval releases that hold (with
 * the request as the reason) and is used up by it. What "would have covered"
 * means is tested here on the fake connector (each case its own target); the
 * same on the Okta simulator, with the user taken out of the hold group, is in
 * test/e2e/seed-story-okta.test.ts.
 */
describe('release on approval', () => {
  let w: WorkflowServer;
  beforeAll(async () => {
    w = await startWorkflowServer();
  });
  afterAll(() => w?.close());

  let tickets = 20;
  /** A request by `executor` for `target`'s factor reset, ticketed and proofed by callback: pending approval. */
  const pendingRequest = async (target: Person, executor: Person, extra: Record<string, unknown> = {}) => {
    const number = `INC00100${tickets++}`;
    w.ticket(number, {
      caller: [PEOPLE[target].email, PEOPLE[target].login.split('@')[0]!],
      openedBy: [PEOPLE[executor].email, PEOPLE[executor].login.split('@')[0]!],
      group: 'Service Desk',
    });
    const token = await w.tokenFor(executor);
    const created = await w.call('POST', '/v1/requests', {
      token,
      body: resetRequest({
        target: { id: PEOPLE[target].id },
        requester: { id: PEOPLE[target].id },
        justification: { ticket: { system: 'servicenow', id: number } },
        ...extra,
      }),
    });
    expect(created.status).toBe(201);
    const proofed = await w.call('POST', `/v1/requests/${created.body.id}/proofing/callback`, {
      token,
      body: { tenant: 'acme', number: '+1 415 555 0199', numberSource: 'hr', numberLastChangedAt: '2024-06-01T00:00:00Z' },
    });
    expect(proofed.body.state).toBe('pending_approval');
    return created.body.id as string;
  };
  const deliver = async (event: ReturnType<typeof resetEvent>) => {
    expect(await w.okta.deliver(w.server.url, 'acme', event)).toBe(200);
    expect(await w.server.inbox.runOnce()).toBe(1);
    return (await w.audit()).find((r) => r.type === 'decision.recorded' && (r.data.change.source.eventIds as string[]).includes(event.id))!;
  };
  const approve = (id: string, approver: Person = 'bob') =>
    w.tokenFor(approver).then((token) => w.call('POST', `/v1/requests/${id}/approve`, { token, body: { tenant: 'acme' } }));
  const releases = async () => (await w.audit()).filter((r) => r.type === 'hold.released');

  it("releases the executor's reset held before the approval, with the request as the reason, and uses the request up", async () => {
    const id = await pendingRequest('eve', 'tom');
    w.advance(60_000);
    const first = await deliver(resetEvent('rel-first', 'eve', 'tom', w.clock.now));
    w.advance(30_000);
    const second = await deliver(resetEvent('rel-second', 'eve', 'tom', w.clock.now));
    expect([first.data.outcome, second.data.outcome]).toEqual(['hold', 'hold']);
    while ((await w.server.outbox.runOnce()) > 0);
    expect(w.okta.executed.filter((a) => a.targetId === PEOPLE.eve.id).map((a) => a.kind)).toContain('hold_group');

    w.advance(60_000);
    const approved = await approve(id);
    expect(approved.status).toBe(200);
    // The oldest held change uses the request up; the approval answers with it executed.
    expect(approved.body).toMatchObject({
      state: 'executed',
      consumed: { changeId: first.subject.changeId, decisionId: first.subject.decisionId, eventIds: ['rel-first'], releasedHold: true },
    });

    const [released] = await releases();
    expect(released).toMatchObject({
      subject: { decisionId: first.subject.decisionId, changeId: first.subject.changeId, requestId: id },
      actor: { type: 'user', id: PEOPLE.bob.id },
      data: {
        outcome: 'hold',
        cancelled: [],
        undo: ['release_hold_group'],
        reason: expect.stringMatching(new RegExp(`change request ${id}, approved by bob.approver@acme.example, covers this change made before its approval`)),
      },
    });
    const matched = (await w.audit()).find((r) => r.type === 'request.matched' && r.subject.requestId === id)!;
    expect(matched.data).toMatchObject({ eventIds: ['rel-first'], releasedHold: { undo: ['release_hold_group'] }, approvals: [{ approverId: PEOPLE.bob.id }] });

    // The undo runs through the connector; the second reset stays held: a request is used once.
    while ((await w.server.outbox.runOnce()) > 0);
    expect(w.okta.executed.filter((a) => a.targetId === PEOPLE.eve.id).map((a) => a.kind)).toContain('release_hold_group');
    expect((await releases()).map((r) => r.subject.decisionId)).toEqual([first.subject.decisionId]);
    const report = await w.call('GET', '/v1/reports/accountability?tenant=acme&since=1d&format=json', { token: await w.tokenFor('aude') });
    const row = (report.body.changes as Array<{ changeId: string; requestId?: string; unmatched: boolean }>).find((c) => c.changeId === first.subject.changeId);
    expect(row).toMatchObject({ requestId: id, unmatched: false });
  });

  it('does not release what the request would not have covered: another agent, another kind, a change before the request was filed', async () => {
    const before = await deliver(resetEvent('rel-before', 'omar', 'sam', w.clock.now));
    w.advance(5 * 60_000); // more than the clock skew Warden tolerates
    const id = await pendingRequest('omar', 'sam');
    w.advance(60_000);
    const other = await deliver(resetEvent('rel-other-agent', 'omar', 'tom', w.clock.now));
    const password = { ...resetEvent('rel-password', 'omar', 'sam', w.clock.now), type: 'user.account.reset_password' };
    password.change = { ...password.change, kind: 'password.reset' };
    const kind = await deliver(password);
    expect([before, other, kind].map((d) => d.data.outcome)).toEqual(['hold', 'hold', 'hold']);
    w.advance(60_000);
    const approved = await approve(id);
    expect(approved.body).toMatchObject({ state: 'approved' });
    expect(approved.body.consumed).toBeUndefined();
    expect((await releases()).filter((r) => [before, other, kind].some((d) => d.subject.decisionId === r.subject.decisionId))).toEqual([]);
  });

  it('releases at once a reset made before the approval that the IdP reports after it: the containment never runs', async () => {
    const id = await pendingRequest('aude', 'sam');
    w.advance(60_000);
    const madeAt = new Date(w.clock.now);
    w.advance(5 * 60_000); // more than the clock skew Warden tolerates
    expect((await approve(id)).body.state).toBe('approved');
    w.advance(5 * 60_000); // Okta delivers late (or the poller finds it)
    const decision = await deliver(resetEvent('rel-late', 'aude', 'sam', madeAt));
    expect(decision.data.outcome).toBe('hold');
    expect(decision.data.rules[0].reason).toMatch(/approved after the change/);
    const released = (await releases()).find((r) => r.subject.decisionId === decision.subject.decisionId)!;
    expect(released).toMatchObject({ subject: { requestId: id }, actor: { type: 'system', id: 'warden' }, data: { undo: [] } });
    expect(released.data.cancelled).toHaveLength(3);
    while ((await w.server.outbox.runOnce()) > 0);
    expect(w.okta.executed.filter((a) => a.targetId === PEOPLE.aude.id)).toEqual([]);
    expect((await w.call('GET', `/v1/requests/${id}`, { token: await w.tokenFor('sam') })).body).toMatchObject({
      state: 'executed',
      consumed: { eventIds: ['rel-late'], releasedHold: true },
    });
  });

  it('does not release with a brokered request: Warden performs that change itself', async () => {
    const id = await pendingRequest('cara', 'sam', { broker: true, changeChannel: 'api' });
    w.advance(60_000);
    const held = await deliver(resetEvent('rel-broker', 'cara', 'sam', w.clock.now));
    expect(held.data.outcome).toBe('hold');
    w.advance(60_000);
    expect((await approve(id)).body).toMatchObject({ state: 'approved' });
    expect((await releases()).filter((r) => r.subject.decisionId === held.subject.decisionId)).toEqual([]);
  });
});
