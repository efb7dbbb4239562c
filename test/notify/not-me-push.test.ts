import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOktaWorkflowServer, type OktaPerson, type OktaWorkflowServer } from '../helpers/okta-workflow-server.js';
import { SmtpSink } from './fake-endpoints.js';

/**
 * "This wasn't me" through an Okta Verify push (`notMe.oktaVerifyPush`): the
 * real server, the real Okta connector's proofer calling the Okta simulator
 * over HTTP (`POST /api/v1/users/{id}/factors/{factorId}/verify`, then the
 * transaction poll), the notice e-mailed to a local SMTP sink. A rejected
 * push answers "not me", an approved one "it was me" (evidence, never
 * proofing); no push is sent when the change may be to the push factor.
 */
describe('"this wasn\'t me" by Okta Verify push', () => {
  let w: OktaWorkflowServer;
  let smtp: SmtpSink;
  let tickets = 0;

  beforeAll(async () => {
    smtp = await new SmtpSink().start();
    w = await startOktaWorkflowServer({
      secrets: { notMeKey: 'not-me-push-test-key-0123456789abcdef0123456789' },
      tenantYaml: `    notifications:
      publicUrl: https://warden.acme.example
      channels:
        - { name: mail, type: email, host: 127.0.0.1, port: ${smtp.port}, requireTls: false, from: 'Warden <warden@acme.example>' }
      notMe: { secret: notMeKey, channel: mail, oktaVerifyPush: true }
`,
    });
  });
  afterAll(async () => {
    await w?.close();
    await smtp?.stop();
  });

  /** Sam files a help-desk request of `kind` for `target`; returns its id. */
  async function fileFor(target: OktaPerson, kind: string): Promise<string> {
    const number = `INC0040${tickets++}`;
    w.ticket(number, target, 'sam');
    const res = await w.call('POST', '/v1/requests', {
      token: await w.tokenFor('sam'),
      body: {
        tenant: 'acme',
        kind,
        target: { login: w.people[target].profile.login },
        requester: { id: w.people[target].id },
        justification: { ticket: { system: 'servicenow', id: number } },
        contact: { channel: 'phone' },
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id as string;
  }
  const request = async (id: string) => (await w.call('GET', `/v1/requests/${id}?tenant=acme`, { token: await w.tokenFor('sam') })).body;
  const mailTo = (person: OktaPerson) => smtp.mails.filter((m) => m.to.includes(w.people[person].profile.login!));
  const pushCalls = (person: OktaPerson) =>
    w.sim.requests.filter((r) => r.method === 'POST' && r.path.startsWith(`/api/v1/users/${w.people[person].id}/factors/`) && r.path.endsWith('/verify'));

  it('a rejected push answers "not me": the open requests are cancelled and a hold in Okta is queued', async () => {
    const id = await fileFor('dana', 'password.reset');
    await w.server.notMe.runOnce();
    expect(mailTo('dana')).toHaveLength(1);
    expect(mailTo('dana')[0]!.raw).toContain('Okta Verify push');
    expect(pushCalls('dana')).toHaveLength(1);
    // Nothing happens while the push waits.
    expect(await w.server.notMe.runOnce()).toBe(0);
    expect((await request(id)).state).not.toBe('cancelled');

    w.sim.answerPush(w.people.dana.id, 'deny');
    expect(await w.server.notMe.runOnce()).toBe(1);
    expect((await request(id)).state).toBe('cancelled');
    const notMe = (await w.audit()).find((r) => r.type === 'person.not_me' && r.subject.requestId === id);
    expect(notMe?.data).toMatchObject({ personId: w.people.dana.id, via: 'okta_verify_push', cancelled: [id] });
    expect(notMe?.data.heldIn).toEqual([expect.objectContaining({ connector: 'okta', id: w.people.dana.id })]);
    // The e-mailed link is used up by the push's answer.
    const token = decodeURIComponent(/\/me\/confirm\/([A-Za-z0-9_.%-]+)/.exec(mailTo('dana')[0]!.raw)![1]!);
    const again = await fetch(`${w.server.url}/me/confirm`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, answer: 'was_me' }).toString(),
    });
    expect(again.status).toBe(409);
  });

  it('an approved push is "it was me": evidence of its own kind, never proofing', async () => {
    const id = await fileFor('eve', 'password.reset');
    await w.server.notMe.runOnce();
    expect(pushCalls('eve')).toHaveLength(1);
    const before = await request(id);
    w.sim.answerPush(w.people.eve.id, 'approve');
    expect(await w.server.notMe.runOnce()).toBe(1);
    const after = await request(id);
    expect((after.evidence as Array<{ kind: string; method: string }>).filter((e) => e.kind === 'affected_person')).toEqual([
      expect.objectContaining({ kind: 'affected_person', method: 'not_me_push', accepted: true }),
    ]);
    expect(after.state).toBe(before.state);
    expect(after.proofing).toBeUndefined();
  });

  it('sends no push when the change is to the push factor itself (all factors reset): e-mail only', async () => {
    const id = await fileFor('frank', 'factor.reset_all');
    await w.server.notMe.runOnce();
    expect(mailTo('frank')).toHaveLength(1);
    expect(mailTo('frank')[0]!.raw).not.toContain('Okta Verify push');
    expect(pushCalls('frank')).toHaveLength(0);
    expect(() => w.sim.answerPush(w.people.frank.id, 'deny')).toThrow(/no Okta Verify push is waiting/);
    expect((await request(id)).state).not.toBe('cancelled');
  });

  it('sends no push to a factor changed within the minimum age (an attacker may have enrolled it): e-mail only', async () => {
    await fileFor('hal', 'password.reset');
    await w.server.notMe.runOnce();
    expect(mailTo('hal')).toHaveLength(1);
    expect(pushCalls('hal')).toHaveLength(0);
  });
});
