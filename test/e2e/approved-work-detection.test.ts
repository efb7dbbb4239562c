import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOktaWorkflowServer, type OktaPerson, type OktaWorkflowServer } from '../helpers/okta-workflow-server.js';

/**
 * Issue 14, "Warden's own approved work holds itself", on the real server,
 * the Okta connector and the Okta simulator, with the example policy:
 * Gina's factors are reset and then her password, each through an approved
 * broker-mode request that Warden executes itself. The two resets are the
 * `factor-change-and-password-reset` chain: detection still raises it (it
 * is told which requests covered the changes), and the example policy no
 * longer holds the approved password reset for it. Before the fix the
 * reset was held by `open-detection-alert` and Gina went into the hold group.
 */
describe('approved work does not accuse itself (issue 14)', () => {
  let w: OktaWorkflowServer;
  beforeAll(async () => {
    w = await startOktaWorkflowServer();
  });
  afterAll(() => w?.close());

  const id = (p: OktaPerson) => w.people[p].id;
  const held = (p: OktaPerson) => w.sim.groupNames(id(p)).includes('Warden Hold');
  let tickets = 500;
  const brokered = async (target: OktaPerson, kind: 'factor.reset_all' | 'password.reset') => {
    const number = `INC0030${tickets++}`;
    w.ticket(number, target, 'sam');
    const filed = await w.call('POST', '/v1/requests', {
      token: await w.tokenFor('sam'),
      body: {
        tenant: 'acme',
        kind,
        broker: true,
        changeChannel: 'api',
        target: { login: w.people[target].profile.login },
        requester: { id: id(target) },
        justification: { ticket: { system: 'servicenow', id: number } },
        contact: { channel: 'phone' },
      },
    });
    expect(filed.status, JSON.stringify(filed.body)).toBe(201);
    await w.call('POST', `/v1/requests/${filed.body.id}/proofing/callback`, {
      token: await w.tokenFor('sam'),
      body: { tenant: 'acme', number: '+1 415 555 0199', numberSource: 'hr', numberLastChangedAt: '2024-06-01T00:00:00Z' },
    });
    const approved = await w.call('POST', `/v1/requests/${filed.body.id}/approve`, {
      token: await w.tokenFor('ann'),
      body: { tenant: 'acme', comment: 'checked' },
    });
    expect(approved.body.state, JSON.stringify(approved.body)).toBe('approved');
    const executed = await w.call('POST', `/v1/requests/${filed.body.id}/execute`, { token: await w.tokenFor('sam'), body: { tenant: 'acme' } });
    expect(executed.status, JSON.stringify(executed.body)).toBe(200);
    await w.settle();
    return filed.body.id as string;
  };
  /** Files a brokered password reset for `target`, proofs the caller, runs `between`, approves: the filed and the approved request. */
  const fileAndApprove = async (target: OktaPerson, between?: () => Promise<void>) => {
    const number = `INC0031${tickets++}`;
    w.ticket(number, target, 'sam');
    const filed = await w.call('POST', '/v1/requests', {
      token: await w.tokenFor('sam'),
      body: {
        tenant: 'acme',
        kind: 'password.reset',
        broker: true,
        changeChannel: 'api',
        target: { login: w.people[target].profile.login },
        requester: { id: id(target) },
        justification: { ticket: { system: 'servicenow', id: number } },
        contact: { channel: 'phone' },
      },
    });
    expect(filed.status, JSON.stringify(filed.body)).toBe(201);
    await w.call('POST', `/v1/requests/${filed.body.id}/proofing/callback`, {
      token: await w.tokenFor('sam'),
      body: { tenant: 'acme', number: '+1 415 555 0199', numberSource: 'hr', numberLastChangedAt: '2024-06-01T00:00:00Z' },
    });
    await between?.();
    const approved = await w.call('POST', `/v1/requests/${filed.body.id}/approve`, {
      token: await w.tokenFor('ann'),
      body: { tenant: 'acme', comment: 'checked' },
    });
    expect(approved.body.state, JSON.stringify(approved.body)).toBe('approved');
    return { filed: filed.body, approved: approved.body };
  };
  /** The person enrolls a factor and resets their own password: an uncovered `factor-change-and-password-reset` alert (high). */
  const uncoveredAlert = async (p: OktaPerson) => {
    w.sim.selfEnroll(id(p), 'push');
    await w.settle();
    w.advance(5 * 60_000);
    w.sim.resetPassword(id(p), id(p));
    await w.settle();
    const [alert] = await w.server.store.listAlerts('acme', { key: w.people[p].profile.login, limit: 5 });
    expect(alert).toMatchObject({ rule: 'factor-change-and-password-reset', severity: 'high', status: 'open' });
    return alert!.id;
  };
  const decisionOn = async (eventType: string) => {
    const event = w.sim.log.filter((e) => e.eventType === eventType && JSON.stringify(e.target).includes(id('gina'))).at(-1)!;
    return (await w.audit()).find((r) => r.type === 'decision.recorded' && (r.data.change.source.eventIds as string[]).includes(event.uuid))!;
  };

  it('correlates the two approved resets into an alert naming their requests, and allows the approved password reset', async () => {
    const factors = await brokered('gina', 'factor.reset_all');
    w.advance(10 * 60_000);
    const password = await brokered('gina', 'password.reset');

    const reset = await decisionOn('user.account.reset_password');
    expect(reset.data.alerts).toEqual([expect.objectContaining({ rule: 'factor-change-and-password-reset', severity: 'high', on: 'target', covered: true })]);
    expect(reset.data).toMatchObject({ outcome: 'allow', rules: [{ requestId: password }] });
    expect(held('gina')).toBe(false);

    const alerts = await w.call('GET', `/v1/requests/${password}`, { token: await w.tokenFor('sam') });
    expect(alerts.body.state).toBe('executed');
    const [alert] = await w.server.store.listAlerts('acme', { key: 'gina.staff@acme.example', limit: 5 });
    expect(alert!.changes.map((c) => [c.kind, c.coveredBy])).toEqual([
      ['factor.reset_all', factors],
      ['password.reset', password],
    ]);
  });

  it('says in needs, when filing and when approving, that an uncovered open alert on the target would hold the change, and how to recover', async () => {
    const alert = await uncoveredAlert('eve');
    const { filed, approved } = await fileAndApprove('eve');
    const want = [
      {
        alert,
        alertRule: 'factor-change-and-password-reset',
        severity: 'high',
        on: 'target',
        rules: ['open-detection-alert'],
        outcome: 'hold',
        recovery: expect.stringContaining(`warden alerts close ${alert}`),
      },
    ];
    expect(filed.needs.heldBy).toEqual(want);
    expect(approved.needs.heldBy).toEqual(want);
    const stored = await w.call('GET', `/v1/requests/${filed.id}`, { token: await w.tokenFor('sam') });
    expect(stored.body.needs.heldBy).toEqual(want);
  });

  it('says it on approval for an alert opened after filing', async () => {
    let alert = '';
    const { filed, approved } = await fileAndApprove('dana', async () => {
      alert = await uncoveredAlert('dana');
    });
    expect(filed.needs.heldBy).toBeUndefined();
    expect(approved.needs.heldBy).toEqual([expect.objectContaining({ alert, rules: ['open-detection-alert'], outcome: 'hold' })]);
  });

  it('says nothing when no open alert would hold the change', async () => {
    expect(await w.server.store.listAlerts('acme', { key: w.people.frank.profile.login, limit: 5 })).toEqual([]);
    const { filed, approved } = await fileAndApprove('frank');
    expect(filed.needs).not.toHaveProperty('heldBy');
    expect(approved.needs).not.toHaveProperty('heldBy');
  });
});
