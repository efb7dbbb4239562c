import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signNotMeToken, type NotMePayload } from '../../src/requests/not-me/not-me-token.js';
import { makeChange } from '../helpers/changes.js';
import { PEOPLE, resetRequest, startWorkflowServer, type Person, type WorkflowServer } from '../helpers/workflow-server.js';
import { rawSql } from '../helpers/test-stores.js';
import { fakeTeams, SmtpSink, type FakeHttp } from './fake-endpoints.js';

/**
 * "This wasn't me" end to end: the real server, the affected person's notice
 * e-mailed to a local SMTP sink, the link's pages over HTTP on 127.0.0.1.
 * One test per way a link is refused (expired, reused, another person's,
 * tampered, signed with another key), the happy paths, and the rate limit.
 */
describe('"this wasn\'t me": the affected person as a control', () => {
  const KEY = 'not-me-test-key-0123456789abcdef0123456789abcdef';
  let w: WorkflowServer;
  let smtp: SmtpSink;
  let teams: FakeHttp;
  let n = 0;

  beforeAll(async () => {
    smtp = await new SmtpSink().start();
    teams = await fakeTeams().start();
    w = await startWorkflowServer({
      secrets: { notMeKey: KEY, teamsHook: `${teams.url}/workflows/secops?sig=t` },
      workflow: `    notifications:
      publicUrl: https://warden.acme.example
      channels:
        - { name: mail, type: email, host: 127.0.0.1, port: ${smtp.port}, requireTls: false, from: 'Warden <warden@acme.example>' }
        - { name: secops-teams, type: teams, webhookUrl: teamsHook }
      routes:
        - { role: security, events: [person.not_me, hold.placed], channel: secops-teams }
      notMe: { secret: notMeKey, channel: mail, linkTtl: 30m, perPersonPerHour: 3 }
`,
    });
  });
  afterAll(async () => {
    await w?.close();
    await smtp?.stop();
    await teams?.stop();
  });

  /** Files a help-desk request for `target` (Sam at the desk) and returns its id. */
  async function fileFor(target: Person): Promise<string> {
    const p = PEOPLE[target];
    const ticket = `INC00300${String(++n).padStart(2, '0')}`;
    w.ticket(ticket, { caller: [p.email, p.login], openedBy: ['sam.agent@acme.example', 'sam.agent'], group: 'Service Desk' });
    const res = await w.call('POST', '/v1/requests', {
      token: await w.tokenFor('sam'),
      body: resetRequest({ target: { id: p.id }, requester: { id: p.id, login: p.login }, justification: { ticket: { system: 'servicenow', id: ticket } } }),
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id as string;
  }

  /** Runs the notifier and returns the token of the last notice e-mailed to `person`. */
  async function noticeTo(person: Person): Promise<string> {
    await w.server.notMe.runOnce();
    const mail = [...smtp.mails].reverse().find((m) => m.to.includes(PEOPLE[person].email));
    expect(mail, `no notice e-mailed to ${person}`).toBeDefined();
    const token = /https:\/\/warden\.acme\.example\/me\/confirm\/([A-Za-z0-9_.%-]+)/.exec(mail!.raw)?.[1];
    expect(token).toBeDefined();
    return decodeURIComponent(token!);
  }

  const show = (token: string) => fetch(`${w.server.url}/me/confirm/${encodeURIComponent(token)}`);
  const answer = (token: string, a: 'not_me' | 'was_me') =>
    fetch(`${w.server.url}/me/confirm`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, answer: a }).toString(),
    });
  const payloadOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as NotMePayload;

  it('e-mails the person the address on file when a help-desk request is filed for them; the page only shows, with a strict CSP', async () => {
    const id = await fileFor('dana');
    const token = await noticeTo('dana');
    const mail = smtp.mails.at(-1)!;
    expect(mail.to).toEqual([PEOPLE.dana.email]);
    expect(mail.raw).toContain('Subject: Was this you?');
    expect(mail.raw).toContain('The help desk was asked to reset all your sign-in factors (MFA).');
    expect(payloadOf(token)).toMatchObject({ t: 'acme', p: PEOPLE.dana.id, k: 'request', s: id });

    for (let i = 0; i < 2; i++) {
      const page = await show(token);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toBe("default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
      expect(page.headers.get('referrer-policy')).toBe('no-referrer');
      const html = await page.text();
      expect(html).toContain('Was this you?');
      expect(html).toContain('<form method="post" action="/me/confirm">');
      expect(html).not.toContain('<script');
    }
    // Showing it twice changed nothing: the request is still open.
    const request = await w.call('GET', `/v1/requests/${id}?tenant=acme`, { token: await w.tokenFor('sam') });
    expect(request.body.state).not.toBe('cancelled');
  });

  it('"it was me" is recorded as evidence of its own kind, never as proofing; the link then works no more (reused link)', async () => {
    const id = await fileFor('omar');
    const token = await noticeTo('omar');
    const before = await w.call('GET', `/v1/requests/${id}?tenant=acme`, { token: await w.tokenFor('sam') });
    const ok = await answer(token, 'was_me');
    expect(ok.status).toBe(200);
    const after = await w.call('GET', `/v1/requests/${id}?tenant=acme`, { token: await w.tokenFor('sam') });
    const evidence = (after.body.evidence as Array<{ kind: string; method: string; accepted: boolean }>).filter((e) => e.kind === 'affected_person');
    expect(evidence).toEqual([expect.objectContaining({ kind: 'affected_person', method: 'not_me_link', accepted: true })]);
    // Proofing is still what it was: the request did not move, and still needs proofing.
    expect(after.body.state).toBe(before.body.state);
    expect(after.body.proofing).toBeUndefined();
    expect((await w.audit()).some((r) => r.type === 'request.affected_person_confirmed' && r.subject.requestId === id)).toBe(true);

    const again = await answer(token, 'not_me');
    expect(again.status).toBe(409);
    expect(await again.text()).toContain('This link was used already');
    expect((await w.call('GET', `/v1/requests/${id}?tenant=acme`, { token: await w.tokenFor('sam') })).body.state).toBe(before.body.state);
  });

  it('"not me" cancels the person\'s open requests, queues a hold in every IdP, raises a critical alert and tells security', async () => {
    const first = await fileFor('eve');
    await noticeTo('eve');
    const second = await fileFor('eve');
    const token = await noticeTo('eve');
    w.webhooks.length = 0;
    const res = await answer(token, 'not_me');
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('Security has been told');

    for (const id of [first, second])
      expect((await w.call('GET', `/v1/requests/${id}?tenant=acme`, { token: await w.tokenFor('sam') })).body.state).toBe('cancelled');
    const actions = await rawSql(w.server.store).query<{ connector: string; params: { reason: string } }>(
      `SELECT connector, params FROM actions WHERE tenant = 'acme' AND target_id = $1 AND kind = 'hold_group'`,
      [PEOPLE.eve.id],
    );
    expect(actions.map((a) => [a.connector, a.params.reason])).toEqual([['fakeokta', 'not_me']]);
    const alerts = await w.server.store.listAlerts('acme', { limit: 10, severity: 'critical' });
    const alert = alerts.find((a) => a.rule === 'affected-person-not-me' && a.key === PEOPLE.eve.login)!;
    expect(alert).toMatchObject({ severity: 'critical', status: 'open' });
    expect(alert.changes[0]!.id).toBe(second);

    await w.server.webhooks.runOnce();
    const types = w.webhooks.map((h) => JSON.parse(h.body).type as string);
    expect(types).toEqual(expect.arrayContaining(['person.not_me', 'alert.raised', 'request.cancelled']));
    const event = w.webhooks.map((h) => JSON.parse(h.body)).find((b) => b.type === 'person.not_me');
    expect(event.data).toMatchObject({
      personId: PEOPLE.eve.id,
      subjectKind: 'request',
      subjectId: second,
      cancelled: 2,
      heldIn: ['fakeokta'],
      alertId: alert.id,
    });
    // Security's Teams channel hears it through the same event stream.
    await w.server.notifications.runOnce();
    const card = teams.received.map((r) => r.body).find((b) => b.includes('This wasn'));
    expect(card).toBeDefined();
    expect(card).toContain(`https://warden.acme.example/v1/alerts/${alert.id}?tenant=acme`);
    expect(card).toContain('"value":"critical"');
  });

  it("refuses an expired link (on the server's clock), showing and acting alike", async () => {
    const id = await fileFor('bob');
    const token = await noticeTo('bob');
    w.advance(31 * 60_000);
    const page = await show(token);
    expect(page.status).toBe(410);
    expect(await page.text()).toContain('This link has expired');
    expect((await answer(token, 'not_me')).status).toBe(410);
    expect((await w.call('GET', `/v1/requests/${id}?tenant=acme`, { token: await w.tokenFor('sam') })).body.state).not.toBe('cancelled');
  });

  it('refuses a tampered link: another request id in the payload, the signature kept', async () => {
    await fileFor('cara');
    const token = await noticeTo('cara');
    const [body, sig] = token.split('.') as [string, string];
    const payload = payloadOf(token);
    const tampered = `${Buffer.from(JSON.stringify({ ...payload, s: '01900000-0000-7000-8000-000000000bad' })).toString('base64url')}.${sig}`;
    expect(tampered.split('.')[0]).not.toBe(body);
    const res = await answer(tampered, 'not_me');
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('This link is not valid');
    // A flipped signature character is refused too.
    const flipped = `${body}.${sig.startsWith('A') ? 'B' : 'A'}${sig.slice(1)}`;
    expect((await show(flipped)).status).toBe(400);
  });

  it('refuses a link signed with another key (a forged link)', async () => {
    await fileFor('aude');
    const token = await noticeTo('aude');
    const forged = signNotMeToken(payloadOf(token), 'some-other-key-of-the-same-length-00000000000');
    expect((await answer(forged, 'not_me')).status).toBe(400);
  });

  it("refuses another person's link: a stored link presented for a different person or subject", async () => {
    const danasRequest = await fileFor('ann');
    const annsToken = await noticeTo('ann');
    // Properly signed (the key leaked, or a bug minted it) but naming Pat for Ann's stored link: the store binds the link to Ann.
    const forPat = signNotMeToken({ ...payloadOf(annsToken), p: PEOPLE.pat.id }, KEY);
    const res = await answer(forPat, 'not_me');
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('This link was not sent to you');
    // And Ann's link bound to a request that is not hers.
    const other = await fileFor('tom');
    await noticeTo('tom');
    const redirected = signNotMeToken({ ...payloadOf(annsToken), s: other }, KEY);
    expect((await answer(redirected, 'not_me')).status).toBe(403);
    // Ann's own link still works afterwards: refusals did not use it up.
    expect((await answer(annsToken, 'was_me')).status).toBe(200);
    expect(danasRequest).toBeDefined();
  });

  it('tells the person when someone else changes their factors (change.by_other), by the address on file', async () => {
    const change = makeChange({
      kind: 'factor.reset_all',
      channel: 'admin',
      target: { id: PEOPLE.priya.id, login: PEOPLE.priya.login },
      actor: { id: PEOPLE.pat.id, login: PEOPLE.pat.login, type: 'user' },
      source: { idp: 'fakeokta', via: 'hook', eventIds: ['evt-by-other-1'], rawType: 'user.mfa.factor.reset_all' },
    });
    await w.server.context.decide(change, { type: 'system', id: 'test' }, { observed: true });
    const token = await noticeTo('priya');
    expect(payloadOf(token)).toMatchObject({ p: PEOPLE.priya.id, k: 'change', s: change.id });
    expect(smtp.mails.at(-1)!.raw).toContain('pat.ops@acme.example made this change in fakeokta: reset all your sign-in factors (MFA).');
    const page = await show(token);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('pat.ops@acme.example made a change to your account (factor.reset_all)');
    // A change the person made themselves tells no one.
    const own = makeChange({
      kind: 'factor.enroll',
      channel: 'self_service',
      target: { id: PEOPLE.priya.id, login: PEOPLE.priya.login },
      actor: { id: PEOPLE.priya.id, login: PEOPLE.priya.login, type: 'user' },
      source: { idp: 'fakeokta', via: 'hook', eventIds: ['evt-own-1'], rawType: 'user.mfa.factor.activate' },
    });
    const before = smtp.mails.length;
    await w.server.context.decide(own, { type: 'system', id: 'test' }, { observed: true });
    await w.server.notMe.runOnce();
    expect(smtp.mails.length).toBe(before);
  });

  it('sends at most perPersonPerHour notices to one person; more are listed as failed, rate limited', async () => {
    for (let i = 0; i < 3; i++) {
      await fileFor('pat');
      await noticeTo('pat');
    }
    const sent = smtp.mails.filter((m) => m.to.includes(PEOPLE.pat.email)).length;
    await fileFor('pat');
    await w.server.notMe.runOnce();
    expect(smtp.mails.filter((m) => m.to.includes(PEOPLE.pat.email)).length).toBe(sent);
    const failed = await w.server.store.listDeliveries('acme', 10, { kind: 'notme', state: 'failed' });
    expect(failed[0]!.lastError).toContain('notMe.perPersonPerHour 3');
  });
});
