import nock from 'nock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PEOPLE, resetEvent, resetRequest, SNOW, startWorkflowServer, type WorkflowServer } from '../helpers/workflow-server.js';

/** The request API around the story: idempotent retries, listing, cancelling, tickets, machines, broker mode, OpenAPI. */
describe('the change-request API', () => {
  let w: WorkflowServer;
  let n = 0;
  beforeAll(async () => {
    w = await startWorkflowServer();
  });
  afterAll(() => w?.close());
  const nextTicket = () => `INC00500${String(++n).padStart(2, '0')}`;

  describe('Idempotency-Key', () => {
    it('returns the first result to a retry and creates nothing new', async () => {
      const key = await w.apiKey(['requests:write']);
      const ticket = nextTicket();
      w.ticket(ticket);
      const body = resetRequest({ executor: { id: PEOPLE.sam.id, login: PEOPLE.sam.login }, justification: { ticket: { system: 'servicenow', id: ticket } } });
      const first = await w.call('POST', '/v1/requests', { token: key, body, headers: { 'Idempotency-Key': 'snow-flow-RITM0042' } });
      expect(first.status).toBe(201);
      const retry = await w.call('POST', '/v1/requests', { token: key, body, headers: { 'Idempotency-Key': 'snow-flow-RITM0042' } });
      expect([retry.status, retry.headers.get('idempotent-replayed')]).toEqual([201, 'true']);
      expect(retry.body).toEqual(first.body);
      const mine = (await w.call('GET', `/v1/requests?target=${PEOPLE.dana.id}&limit=200`, { token: key })).body.items.filter(
        (r: { ticket?: { id: string } }) => r.ticket?.id === ticket,
      );
      expect(mine).toHaveLength(1);
      expect((await w.audit()).filter((r) => r.type === 'request.created' && r.subject.requestId === first.body.id)).toHaveLength(1);
    });

    it('creates one request when retries race', async () => {
      const key = await w.apiKey(['requests:write']);
      const ticket = nextTicket();
      nock(SNOW).get('/api/now/table/incident').query(true).times(3).reply(200, { result: [] });
      const body = resetRequest({ executor: { id: PEOPLE.sam.id }, justification: { ticket: { system: 'servicenow', id: ticket } } });
      const results = await Promise.all([1, 2, 3].map(() => w.call('POST', '/v1/requests', { token: key, body, headers: { 'Idempotency-Key': 'race-1' } })));
      expect(results.map((r) => r.status)).toEqual([201, 201, 201]);
      expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
      nock.cleanAll();
    });

    it('refuses a key reused for a different request: 422 ERR_IDEMPOTENCY_MISMATCH', async () => {
      const key = await w.apiKey(['requests:write']);
      const ticket = nextTicket();
      w.ticket(ticket);
      const body = resetRequest({ executor: { id: PEOPLE.sam.id }, justification: { ticket: { system: 'servicenow', id: ticket } } });
      expect((await w.call('POST', '/v1/requests', { token: key, body, headers: { 'Idempotency-Key': 'k-2' } })).status).toBe(201);
      const other = await w.call('POST', '/v1/requests', { token: key, body: { ...body, kind: 'password.reset' }, headers: { 'Idempotency-Key': 'k-2' } });
      expect([other.status, other.body.code]).toEqual([422, 'ERR_IDEMPOTENCY_MISMATCH']);
    });

    it('makes other POSTs safe to retry too (cancel)', async () => {
      const ticket = nextTicket();
      w.ticket(ticket);
      const sam = await w.tokenFor('sam');
      const r = await w.call('POST', '/v1/requests', { token: sam, body: resetRequest({ justification: { ticket: { system: 'servicenow', id: ticket } } }) });
      const cancel = () =>
        w.call('POST', `/v1/requests/${r.body.id}/cancel`, {
          token: sam,
          body: { tenant: 'acme', reason: 'caller hung up' },
          headers: { 'Idempotency-Key': 'cancel-1' },
        });
      const first = await cancel();
      const again = await cancel();
      expect([first.status, again.status, again.headers.get('idempotent-replayed'), again.body.state]).toEqual([200, 200, 'true', 'cancelled']);
      const without = await w.call('POST', `/v1/requests/${r.body.id}/cancel`, { token: sam, body: { tenant: 'acme', reason: 'again' } });
      expect([without.status, without.body.code]).toEqual([409, 'ERR_ILLEGAL_TRANSITION']);
    });
  });

  describe('tickets', () => {
    it("keeps a request raised from the target's own mailbox in draft, with the problem, until a valid ticket is attached", async () => {
      const ticket = nextTicket();
      w.ticket(
        ticket,
        { caller: ['dana.lee@acme.example', 'dana.lee'], openedBy: ['dana.lee@acme.example', 'dana.lee'], group: 'Service Desk' },
        { contact_type: 'email' },
      );
      const sam = await w.tokenFor('sam');
      const r = await w.call('POST', '/v1/requests', { token: sam, body: resetRequest({ justification: { ticket: { system: 'servicenow', id: ticket } } }) });
      expect(r.body).toMatchObject({ state: 'draft', ticket: { valid: false, problems: [expect.stringContaining('raised by the target through email')] } });
      const good = nextTicket();
      w.ticket(good);
      const attached = await w.call('POST', `/v1/requests/${r.body.id}/ticket`, { token: sam, body: { tenant: 'acme', system: 'servicenow', id: good } });
      expect(attached.body).toMatchObject({ state: 'proofing', ticket: { id: good, valid: true } });
      expect(attached.body.evidence.filter((e: { kind: string }) => e.kind === 'ticket').map((e: { accepted: boolean }) => e.accepted)).toEqual([false, true]);
    });

    it('keeps the request in draft when ServiceNow cannot be reached, and answers 502 when attaching then', async () => {
      const ticket = nextTicket();
      nock(SNOW)
        .get('/api/now/table/incident')
        .query(true)
        .reply(503, { error: { message: 'Service Unavailable', detail: 'maintenance' }, status: 'failure' });
      const sam = await w.tokenFor('sam');
      const r = await w.call('POST', '/v1/requests', { token: sam, body: resetRequest({ justification: { ticket: { system: 'servicenow', id: ticket } } }) });
      expect(r.body).toMatchObject({
        state: 'draft',
        ticket: { valid: false, problems: [expect.stringMatching(/could not be read from servicenow: ServiceNow answered HTTP 503: Service Unavailable/)] },
      });
      nock(SNOW)
        .get('/api/now/table/incident')
        .query(true)
        .reply(503, { error: { message: 'Service Unavailable', detail: 'maintenance' }, status: 'failure' });
      const attach = await w.call('POST', `/v1/requests/${r.body.id}/ticket`, { token: sam, body: { tenant: 'acme', system: 'servicenow', id: ticket } });
      expect([attach.status, attach.body.code]).toEqual([502, 'ERR_UPSTREAM']);
    });
  });

  describe('reading', () => {
    it('lists with filters and a cursor, newest first', async () => {
      const aude = await w.tokenFor('aude');
      const all = (await w.call('GET', '/v1/requests?limit=200', { token: aude })).body.items as Array<{ id: string; state: string }>;
      expect(all.length).toBeGreaterThan(4);
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await w.call('GET', `/v1/requests?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: aude });
        expect(page.body.items.length).toBeLessThanOrEqual(2);
        seen.push(...page.body.items.map((r: { id: string }) => r.id));
        cursor = page.body.nextCursor;
      } while (cursor);
      expect(seen).toEqual(all.map((r) => r.id));
      const cancelled = (await w.call('GET', '/v1/requests?state=cancelled', { token: aude })).body.items;
      expect(cancelled.length).toBeGreaterThan(0);
      expect(cancelled.every((r: { state: string }) => r.state === 'cancelled')).toBe(true);
      const bad = await w.call('GET', '/v1/requests?cursor=not-ours', { token: aude });
      expect([bad.status, bad.body.code]).toEqual([400, 'ERR_VALIDATION']);
    });

    it('answers 404 for an unknown request and refuses another tenant', async () => {
      const aude = await w.tokenFor('aude');
      const missing = await w.call('GET', '/v1/requests/01a00000-0000-7000-8000-000000000000', { token: aude });
      expect([missing.status, missing.body.code]).toEqual([404, 'ERR_NOT_FOUND']);
      const other = await w.call('GET', '/v1/requests?tenant=globex', { token: aude });
      expect([other.status, other.body.code]).toEqual([404, 'ERR_TENANT_UNKNOWN']);
    });

    it('needs the right scope from machines', async () => {
      const decisionsOnly = await w.apiKey(['decisions:write']);
      const res = await w.call('GET', '/v1/requests', { token: decisionsOnly });
      expect([res.status, res.body.code]).toEqual([403, 'ERR_FORBIDDEN']);
      const reader = await w.apiKey(['requests:read']);
      expect((await w.call('GET', '/v1/requests', { token: reader })).status).toBe(200);
      const create = await w.call('POST', '/v1/requests', { token: reader, body: resetRequest({ executor: { id: PEOPLE.sam.id } }) });
      expect([create.status, create.body.code]).toEqual([403, 'ERR_FORBIDDEN']);
    });
  });

  it('refuses a change the policy refuses whatever a request says: 422 ERR_POLICY_FORBIDS', async () => {
    const res = await w.call('POST', '/v1/requests', { token: await w.tokenFor('sam'), body: resetRequest({ kind: 'mfa.bypass' }) });
    expect([res.status, res.body.code]).toEqual([422, 'ERR_POLICY_FORBIDS']);
    expect(res.body.detail).toMatch(/rule mfa-bypass/);
  });

  it('answers a proposed change on /v1/decisions with allow once a request covers it, without using it up', async () => {
    const ticket = nextTicket();
    w.ticket(ticket, { caller: ['eve.staff@acme.example', 'eve.staff'], openedBy: ['tom.agent@acme.example', 'tom.agent'], group: 'Service Desk' });
    const tom = await w.tokenFor('tom');
    const r = await w.call('POST', '/v1/requests', {
      token: tom,
      body: resetRequest({ target: { id: PEOPLE.eve.id }, requester: { id: PEOPLE.eve.id }, justification: { ticket: { system: 'servicenow', id: ticket } } }),
    });
    await w.call('POST', `/v1/requests/${r.body.id}/proofing/callback`, {
      token: tom,
      body: { tenant: 'acme', number: '+1 415 555 0100', numberSource: 'idp', numberLastChangedAt: '2024-01-01T00:00:00Z' },
    });
    await w.call('POST', `/v1/requests/${r.body.id}/approve`, { token: await w.tokenFor('ann'), body: { tenant: 'acme' } });
    const key = await w.apiKey(['decisions:write']);
    const ask = await w.call('POST', '/v1/decisions', { token: key, body: { tenant: 'acme', change: resetEvent('x', 'eve', 'tom', w.clock.now).change } });
    expect(ask.body).toMatchObject({ outcome: 'allow', rules: [{ requestId: r.body.id }] });
    expect((await w.call('GET', `/v1/requests/${r.body.id}`, { token: tom })).body.state).toBe('approved');
  });

  describe('broker mode', () => {
    /** Sam files a broker-mode factor reset for Eve, with a valid ticket. */
    const fileBrokered = async () => {
      const ticket = nextTicket();
      w.ticket(ticket, { caller: ['eve.staff@acme.example', 'eve.staff'], openedBy: ['sam.agent@acme.example', 'sam.agent'], group: 'Service Desk' });
      const sam = await w.tokenFor('sam');
      const r = await w.call('POST', '/v1/requests', {
        token: sam,
        body: resetRequest({
          target: { id: PEOPLE.eve.id },
          requester: { id: PEOPLE.eve.id },
          broker: true,
          changeChannel: 'api',
          justification: { ticket: { system: 'servicenow', id: ticket } },
        }),
      });
      return { sam, r };
    };
    /** The callback proofing and Ann's approval that make it approved. */
    const approve = async (sam: string, id: string) => {
      await w.call('POST', `/v1/requests/${id}/proofing/callback`, {
        token: sam,
        body: { tenant: 'acme', number: '+1 415 555 0100', numberSource: 'hr', numberLastChangedAt: '2024-01-01T00:00:00Z' },
      });
      await w.call('POST', `/v1/requests/${id}/approve`, { token: await w.tokenFor('ann'), body: { tenant: 'acme' } });
    };

    it('has Warden reset the factors once, and the resulting IdP event matches its own request', async () => {
      const { sam, r } = await fileBrokered();
      expect(r.status).toBe(201);
      const early = await w.call('POST', `/v1/requests/${r.body.id}/execute`, { token: sam, body: { tenant: 'acme' } });
      expect([early.status, early.body.code]).toEqual([409, 'ERR_ILLEGAL_TRANSITION']);
      await approve(sam, r.body.id);
      const notExecutor = await w.call('POST', `/v1/requests/${r.body.id}/execute`, { token: await w.tokenFor('tom'), body: { tenant: 'acme' } });
      expect([notExecutor.status, notExecutor.body.code]).toEqual([403, 'ERR_FORBIDDEN']);
      const done = await w.call('POST', `/v1/requests/${r.body.id}/execute`, { token: sam, body: { tenant: 'acme' } });
      expect(done.body).toMatchObject({ reference: `reset-${r.body.id}`, request: { brokered: { state: 'done' } } });
      expect(done.headers.get('cache-control')).toBe('no-store');
      const retry = await w.call('POST', `/v1/requests/${r.body.id}/execute`, { token: sam, body: { tenant: 'acme' } });
      expect([retry.status, retry.body.replayed, retry.headers.get('idempotent-replayed')]).toEqual([200, true, 'true']);
      expect(w.okta.brokered.filter((b) => b.requestId === r.body.id)).toHaveLength(1);

      // The IdP reports the reset with the broker's service identity as the actor.
      await w.server.inbox.runOnce();
      const decision = (await w.audit()).find((x) => x.type === 'decision.recorded' && x.data.change.source.eventIds.includes(`evt-broker-${r.body.id}`));
      expect(decision?.data).toMatchObject({ outcome: 'allow', change: { actorId: w.okta.brokerIdentity }, rules: [{ requestId: r.body.id }] });
      expect((await w.call('GET', `/v1/requests/${r.body.id}`, { token: sam })).body.state).toBe('executed');
    });

    it("shows the run as its one record says (Warden's own change broker:<id>), and keeps no copy with the request", async () => {
      const { sam, r } = await fileBrokered();
      await approve(sam, r.body.id);
      const shown = async () => (await w.call('GET', `/v1/requests/${r.body.id}`, { token: sam })).body.brokered;
      expect(await shown()).toBeUndefined();

      // Another attempt has the run: the request shows it started, and this one is refused without calling the IdP.
      const startedAt = w.clock.now;
      await w.server.store.claimBrokerRun({
        tenant: 'acme',
        requestId: r.body.id,
        connector: 'fakeokta',
        kind: 'factor.reset_all',
        startedAt,
        targetId: PEOPLE.eve.id,
      });
      expect(await shown()).toEqual({ state: 'started', at: startedAt.toISOString() });
      const busy = await w.call('POST', `/v1/requests/${r.body.id}/execute`, { token: sam, body: { tenant: 'acme' } });
      expect([busy.status, busy.body.code]).toEqual([409, 'ERR_CONFLICT']);

      // That attempt records what it did: the request shows exactly that, and executing it again replays it.
      const finishedAt = new Date(startedAt.getTime() + 5_000);
      await w.server.store.finishBrokerRun(
        'acme',
        r.body.id,
        { reference: 'reset-from-the-record', expiresAt: new Date(startedAt.getTime() + 3_600_000) },
        finishedAt,
      );
      expect(await shown()).toEqual({
        state: 'done',
        at: finishedAt.toISOString(),
        reference: 'reset-from-the-record',
        expiresAt: new Date(startedAt.getTime() + 3_600_000).toISOString(),
      });
      const replay = await w.call('POST', `/v1/requests/${r.body.id}/execute`, { token: sam, body: { tenant: 'acme' } });
      expect(replay.body).toMatchObject({
        reference: 'reset-from-the-record',
        replayed: true,
        request: { brokered: { state: 'done', reference: 'reset-from-the-record' } },
      });
      expect(w.okta.brokered.filter((b) => b.requestId === r.body.id)).toHaveLength(0);
      expect(await w.server.store.getRequest('acme', r.body.id)).not.toHaveProperty('brokered');
    });
  });

  it('refuses broker mode when workflow.brokerIdentities does not say whom the broker acts as: 400 ERR_VALIDATION', async () => {
    const bare = await startWorkflowServer({ brokerIdentities: [] });
    try {
      const r = await bare.call('POST', '/v1/requests', { token: await bare.tokenFor('sam'), body: resetRequest({ broker: true, changeChannel: 'api' }) });
      expect([r.status, r.body.code]).toEqual([400, 'ERR_VALIDATION']);
      expect(r.body.detail).toMatch(/broker mode needs tenants\[\]\.workflow\.brokerIdentities/);
    } finally {
      await bare.close();
    }
  });

  it('documents every route in /openapi.json with its schemas and security', async () => {
    const doc = (await w.call('GET', '/openapi.json')).body;
    for (const path of [
      '/v1/requests',
      '/v1/requests/{id}',
      '/v1/requests/{id}/approve',
      '/v1/requests/{id}/proofing/push',
      '/v1/requests/{id}/execute',
      '/v1/reviews',
      '/v1/exceptions',
      '/v1/reports/accountability',
      '/hooks/verifiers/{tenant}/{verifier}',
    ])
      expect(doc.paths[path], path).toBeDefined();
    expect(doc.paths['/v1/requests'].post.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/CreateRequestBody' });
    expect(doc.paths['/v1/requests/{id}/approve'].post.security).toEqual([{ idpToken: [] }]);
    expect(doc.paths['/v1/requests/{id}'].get.parameters).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'id', in: 'path', required: true })]),
    );
    expect(doc.paths['/v1/requests'].get.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['tenant', 'state', 'cursor', 'limit']),
    );
    expect(doc.components.securitySchemes.idpToken).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining(['RequestView', 'RequestList', 'ExternalEvidenceBody', 'CompleteReviewBody', 'CreateExceptionBody', 'BrokerResultBody']),
    );
  });
});
