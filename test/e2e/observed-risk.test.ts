import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOktaWorkflowServer, type OktaPerson, type OktaWorkflowServer } from '../helpers/okta-workflow-server.js';

/**
 * Issue 14, "risk context that Warden observes itself", through the API on
 * the real server, the Okta connector and the Okta simulator: a phone factor
 * the person enrolled (Okta's `user.mfa.factor.activate`, delivered by the
 * event hook) raises the proofing level of a request filed for them, with no
 * context from the caller, and the request names the change; an older time
 * given by the caller does not lower it.
 */
describe('proofing raised by what Warden observed (issue 14)', () => {
  let w: OktaWorkflowServer;
  beforeAll(async () => {
    w = await startOktaWorkflowServer();
  });
  afterAll(() => w?.close());

  let tickets = 700;
  const file = async (target: OktaPerson, context?: Record<string, unknown>) => {
    const number = `INC0032${tickets++}`;
    w.ticket(number, target, 'sam');
    const filed = await w.call('POST', '/v1/requests', {
      token: await w.tokenFor('sam'),
      body: {
        tenant: 'acme',
        kind: 'password.reset',
        changeChannel: 'helpdesk',
        target: { login: w.people[target].profile.login },
        requester: { id: w.people[target].id },
        justification: { ticket: { system: 'servicenow', id: number } },
        contact: { channel: 'phone' },
        ...(context ? { context } : {}),
      },
    });
    expect(filed.status, JSON.stringify(filed.body)).toBe(201);
    return filed.body;
  };

  it('raises the level for a phone factor the IdP logged, names the change, and the caller cannot lower it', async () => {
    const quiet = await file('frank');
    expect(quiet.needs.raisedBy).toEqual([]);
    expect(quiet.needs).not.toHaveProperty('observed');

    const { event } = w.sim.selfEnroll(w.people.eve.id, 'sms');
    await w.settle();
    const stored = (await w.audit()).find((r) => r.type === 'decision.recorded' && (r.data.change.source.eventIds as string[]).includes(event.uuid))!;
    expect(stored.data.change.kind).toBe('factor.enroll');

    for (const context of [undefined, { phoneChangedAt: '2020-01-01T00:00:00Z' }]) {
      const r = await file('eve', context);
      expect(r.needs.proofing).not.toBe(quiet.needs.proofing);
      expect(r.needs.policyProofing).toBe(quiet.needs.proofing);
      expect(r.needs.observed).toEqual([
        {
          signal: 'phoneChangedAt',
          at: stored.data.change.occurredAt,
          changeId: stored.subject.changeId,
          kind: 'factor.enroll',
          idp: 'okta',
          rawType: 'user.mfa.factor.activate',
          eventIds: [event.uuid],
        },
      ]);
      expect(r.needs.raisedBy).toEqual([expect.stringContaining(`observed by Warden: okta user.mfa.factor.activate, change ${stored.subject.changeId}`)]);
    }
  });
});
