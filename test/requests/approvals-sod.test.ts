import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PEOPLE, postVerifierEvidence, resetRequest, startWorkflowServer, type Person, type WorkflowServer } from '../helpers/workflow-server.js';

/**
 * Separation of duties and sign-in, one failure mode per test, each asserting
 * the status and the typed error code: the server refuses an approval by the
 * requester, the target, the executor or the filer, a second approval by the
 * same person, a sign-in too old or without MFA (step-up), and tokens with
 * the wrong audience or issuer, expired, unsigned (`alg: none`), or signed
 * with a key the IdP does not publish.
 */
describe('approvals: separation of duties and authentication', () => {
  let w: WorkflowServer;
  let n = 0;
  beforeAll(async () => {
    w = await startWorkflowServer();
  });
  afterAll(() => w?.close());

  /** A request proofed by callback and waiting for approval. */
  async function pending(
    filer: Person = 'sam',
    overrides: Record<string, unknown> = {},
    claims: Record<string, unknown> = {},
    assignedTo?: [string, string],
  ): Promise<string> {
    const ticket = `INC00200${String(++n).padStart(2, '0')}`;
    const target = (overrides.target as { id: string } | undefined)?.id ?? PEOPLE.dana.id;
    const targetPerson = Object.values(PEOPLE).find((p) => p.id === target)!;
    w.ticket(ticket, {
      caller: [targetPerson.email, targetPerson.login],
      openedBy: ['sam.agent@acme.example', 'sam.agent'],
      group: 'Service Desk',
      ...(assignedTo ? { assignedTo } : {}),
    });
    const token = await w.tokenFor(filer, claims);
    const res = await w.call('POST', '/v1/requests', {
      token,
      body: resetRequest({ justification: { ticket: { system: 'servicenow', id: ticket } }, ...overrides }),
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const proofed = await w.call('POST', `/v1/requests/${res.body.id}/proofing/callback`, {
      token,
      body: { tenant: 'acme', number: '+1 415 555 0100', numberSource: 'hr', numberLastChangedAt: '2024-01-01T00:00:00Z' },
    });
    expect(proofed.body.state, JSON.stringify(proofed.body)).toBe('pending_approval');
    return res.body.id;
  }

  const approve = (id: string, token: string) => w.call('POST', `/v1/requests/${id}/approve`, { token, body: { tenant: 'acme' } });
  const expectProblem = (res: { status: number; body: any }, status: number, code: string) => {
    expect([res.status, res.body.code], JSON.stringify(res.body)).toEqual([status, code]);
  };

  it('refuses the requester approving: 403 ERR_SOD_VIOLATION', async () => {
    const id = await pending('sam', { requester: { id: PEOPLE.bob.id, login: PEOPLE.bob.login } });
    const res = await approve(id, await w.tokenFor('bob'));
    expectProblem(res, 403, 'ERR_SOD_VIOLATION');
    expect(res.body.detail).toMatch(/you are the requester/);
  });

  it('refuses the target approving: 403 ERR_SOD_VIOLATION', async () => {
    const id = await pending('sam', { target: { id: PEOPLE.ann.id }, requester: { id: PEOPLE.omar.id } });
    const res = await approve(id, await w.tokenFor('ann'));
    expectProblem(res, 403, 'ERR_SOD_VIOLATION');
    expect(res.body.detail).toMatch(/you are the target/);
  });

  it('refuses the executor approving: 403 ERR_SOD_VIOLATION', async () => {
    // The ticket is assigned to Bob himself (he is not in the Service Desk group).
    const id = await pending('sam', { executor: { id: PEOPLE.bob.id, login: PEOPLE.bob.login } }, {}, [PEOPLE.bob.email, PEOPLE.bob.login]);
    const res = await approve(id, await w.tokenFor('bob'));
    expectProblem(res, 403, 'ERR_SOD_VIOLATION');
    expect(res.body.detail).toMatch(/you are the executor/);
  });

  it('refuses whoever filed the request approving it: 403 ERR_SOD_VIOLATION', async () => {
    const id = await pending('tom', { executor: { id: PEOPLE.sam.id } }, { groups: ['Service Desk', 'iam-approvers'] });
    const res = await approve(id, await w.tokenFor('tom', { groups: ['Service Desk', 'iam-approvers'] }));
    expectProblem(res, 403, 'ERR_SOD_VIOLATION');
    expect(res.body.detail).toMatch(/you are the creator/);
  });

  it('refuses a party approving under another of their names (login instead of id)', async () => {
    const id = await pending('sam', { requester: { id: 'bob.approver@acme.example' } });
    expectProblem(await approve(id, await w.tokenFor('bob')), 403, 'ERR_SOD_VIOLATION');
  });

  it('refuses a second approval by the same person: 409 ERR_DUPLICATE_APPROVAL', async () => {
    // Privileged targets need IDV and two approvers (example policy, assisted-reset-privileged).
    w.ticket('INC0020999', { caller: ['pat.ops@acme.example', 'pat.ops'], openedBy: ['sam.agent@acme.example', 'sam.agent'], group: 'Service Desk' });
    const created = await w.call('POST', '/v1/requests', {
      token: await w.tokenFor('sam'),
      body: resetRequest({
        target: { id: PEOPLE.pat.id },
        requester: { id: PEOPLE.pat.id },
        justification: { ticket: { system: 'servicenow', id: 'INC0020999' } },
      }),
    });
    expect(created.body.needs).toMatchObject({ proofing: 'idv', approvals: { count: 2 } });
    const evidence = await postVerifierEvidence(w, {
      requestId: created.body.id,
      result: 'verified',
      subject: { login: PEOPLE.pat.login },
      verifiedAt: w.clock.now.toISOString(),
      reference: 'inq_123',
    });
    expect([evidence.status, evidence.body.state]).toEqual([200, 'pending_approval']);
    const first = await approve(created.body.id, await w.tokenFor('ann'));
    expect([first.status, first.body.state]).toEqual([200, 'pending_approval']);
    const again = await approve(created.body.id, await w.tokenFor('ann'));
    expectProblem(again, 409, 'ERR_DUPLICATE_APPROVAL');
    const second = await approve(created.body.id, await w.tokenFor('bob'));
    expect([second.status, second.body.state, second.body.approvals.length]).toEqual([200, 'approved', 2]);
  });

  /** A request for Pat (privileged: IDV and two approvers in the example policy), verified and waiting for approval. */
  async function pendingTwoApprovers(ticket: string): Promise<string> {
    w.ticket(ticket, { caller: ['pat.ops@acme.example', 'pat.ops'], openedBy: ['sam.agent@acme.example', 'sam.agent'], group: 'Service Desk' });
    const created = await w.call('POST', '/v1/requests', {
      token: await w.tokenFor('sam'),
      body: resetRequest({ target: { id: PEOPLE.pat.id }, requester: { id: PEOPLE.pat.id }, justification: { ticket: { system: 'servicenow', id: ticket } } }),
    });
    expect(created.body.needs, JSON.stringify(created.body)).toMatchObject({ approvals: { count: 2 } });
    const evidence = await postVerifierEvidence(w, {
      requestId: created.body.id,
      result: 'verified',
      subject: { login: PEOPLE.pat.login },
      verifiedAt: w.clock.now.toISOString(),
      reference: `inq_${ticket}`,
    });
    expect([evidence.status, evidence.body.state]).toEqual([200, 'pending_approval']);
    return created.body.id;
  }

  /** The same text in full-width characters (U+FF01–U+FF5E), as an IME types it. */
  const fullWidth = (s: string) => [...s].map((c) => (c >= '!' && c <= '~' ? String.fromCharCode(c.charCodeAt(0) + 0xfee0) : c)).join('');

  describe('one person, many names (issue 11: separation-of-duties bypass)', () => {
    it('refuses the same person approving twice, once with sub = her IdP id and once with sub = her login: 409 ERR_DUPLICATE_APPROVAL; a second person is still accepted', async () => {
      const id = await pendingTwoApprovers('INC0021001');
      const first = await approve(id, await w.tokenFor('ann'));
      expect([first.status, first.body.state, first.body.approvals[0].approverId]).toEqual([200, 'pending_approval', PEOPLE.ann.id]);
      const again = await approve(id, await w.tokenFor('ann', { sub: PEOPLE.ann.login }));
      expectProblem(again, 409, 'ERR_DUPLICATE_APPROVAL');
      const bob = await approve(id, await w.tokenFor('bob'));
      expect([bob.status, bob.body.state, bob.body.approvals.map((a: { approverId: string }) => a.approverId).sort()]).toEqual([
        200,
        'approved',
        [PEOPLE.ann.id, PEOPLE.bob.id],
      ]);
    });

    it('refuses the same person approving twice, first with sub = her login, then with sub = her IdP id: 409 ERR_DUPLICATE_APPROVAL', async () => {
      const id = await pendingTwoApprovers('INC0021002');
      const first = await approve(id, await w.tokenFor('ann', { sub: PEOPLE.ann.login, preferred_username: undefined, email: undefined }));
      expect([first.status, first.body.approvals[0]]).toEqual([200, expect.objectContaining({ approverId: PEOPLE.ann.id, subject: PEOPLE.ann.login })]);
      expectProblem(await approve(id, await w.tokenFor('ann', { preferred_username: undefined, email: undefined })), 409, 'ERR_DUPLICATE_APPROVAL');
    });

    it('keeps one verdict when the same person approves under two subs at the same moment: the database refuses the second (409 ERR_DUPLICATE_APPROVAL)', async () => {
      const id = await pendingTwoApprovers('INC0021003');
      const [a, b] = await Promise.all([approve(id, await w.tokenFor('ann')), approve(id, await w.tokenFor('ann', { sub: PEOPLE.ann.login }))]);
      expect([a.status, b.status].sort()).toEqual([200, 409]);
      expect([a, b].find((r) => r.status === 409)!.body.code).toBe('ERR_DUPLICATE_APPROVAL');
      const after = await w.call('GET', `/v1/requests/${id}?tenant=acme`, { token: await w.tokenFor('sam') });
      expect([after.body.state, after.body.approvals.length]).toEqual(['pending_approval', 1]);
    });

    it('refuses the filer approving their own request with a token whose sub is their login: 403 ERR_SOD_VIOLATION', async () => {
      const id = await pending('tom', { executor: { id: PEOPLE.sam.id } }, { groups: ['Service Desk', 'iam-approvers'] });
      const res = await approve(id, await w.tokenFor('tom', { sub: PEOPLE.tom.login, groups: ['Service Desk', 'iam-approvers'] }));
      expectProblem(res, 403, 'ERR_SOD_VIOLATION');
      expect(res.body.detail).toMatch(/you are the creator/);
    });

    it('refuses the requester approving when the request names him with a trailing space ("00u1bob "): 403 ERR_SOD_VIOLATION', async () => {
      const id = await pending('sam', { requester: { id: `${PEOPLE.bob.id} ` } });
      const res = await approve(id, await w.tokenFor('bob'));
      expectProblem(res, 403, 'ERR_SOD_VIOLATION');
      expect(res.body.detail).toMatch(/you are the requester/);
    });

    it('refuses the requester approving when the request names him by his login in full-width characters: 403 ERR_SOD_VIOLATION', async () => {
      const id = await pending('sam', { requester: { id: fullWidth(PEOPLE.bob.login) } });
      expectProblem(await approve(id, await w.tokenFor('bob')), 403, 'ERR_SOD_VIOLATION');
    });

    it('refuses the requester approving when the request names him with a trailing-dot domain (bob@acme.example.): 403 ERR_SOD_VIOLATION', async () => {
      const id = await pending('sam', { requester: { id: `${PEOPLE.bob.login}.` } });
      expectProblem(await approve(id, await w.tokenFor('bob')), 403, 'ERR_SOD_VIOLATION');
    });

    it('refuses the requester approving when the request names him in another case: 403 ERR_SOD_VIOLATION', async () => {
      const id = await pending('sam', { requester: { id: PEOPLE.bob.login.toUpperCase() } });
      expectProblem(await approve(id, await w.tokenFor('bob', { sub: 'Bob.Approver@ACME.example' })), 403, 'ERR_SOD_VIOLATION');
    });

    it('stores the IdP id every party resolved to on the request', async () => {
      const id = await pending('sam', { requester: { id: ` ${fullWidth(PEOPLE.omar.login)}.` } });
      const res = await w.call('GET', `/v1/requests/${id}?tenant=acme`, { token: await w.tokenFor('sam') });
      expect(res.body.people, JSON.stringify(res.body)).toEqual({
        requester: PEOPLE.omar.id,
        executor: PEOPLE.sam.id,
        target: PEOPLE.dana.id,
        filer: PEOPLE.sam.id,
      });
    });

    it('refuses an approver whose token names no one the IdP knows: 403 ERR_IDENTITY_UNRESOLVED', async () => {
      const id = await pending();
      const res = await approve(id, await w.tokenFor('ann', { sub: '00u1ghost', preferred_username: 'ghost@acme.example', email: 'ghost@acme.example' }));
      expectProblem(res, 403, 'ERR_IDENTITY_UNRESOLVED');
      expect(res.body.detail).toMatch(/refused, not trusted/);
    });

    it('refuses filing a request whose requester names no one the IdP knows: 403 ERR_IDENTITY_UNRESOLVED', async () => {
      const res = await w.call('POST', '/v1/requests', { token: await w.tokenFor('sam'), body: resetRequest({ requester: { id: 'mallory@evil.example' } }) });
      expectProblem(res, 403, 'ERR_IDENTITY_UNRESOLVED');
    });

    it('refuses filing a request whose requester id and login are two different people: 403 ERR_IDENTITY_UNRESOLVED', async () => {
      const res = await w.call('POST', '/v1/requests', {
        token: await w.tokenFor('sam'),
        body: resetRequest({ requester: { id: PEOPLE.dana.id, login: PEOPLE.bob.login } }),
      });
      expectProblem(res, 403, 'ERR_IDENTITY_UNRESOLVED');
    });

    it('refuses an executor who is the requester under another spelling at filing: 403 ERR_SOD_VIOLATION', async () => {
      const res = await w.call('POST', '/v1/requests', { token: await w.tokenFor('sam'), body: resetRequest({ requester: { id: `${PEOPLE.sam.login}.` } }) });
      expectProblem(res, 403, 'ERR_SOD_VIOLATION');
    });

    it('refuses the declarer reviewing their own break-glass with a token whose sub is their login: 403 ERR_SOD_VIOLATION', async () => {
      const declared = await w.call('POST', '/v1/requests', {
        token: await w.tokenFor('sam'),
        body: resetRequest({
          executor: { id: PEOPLE.tom.id },
          justification: { outage: 'ServiceNow unreachable' },
          breakGlass: { reason: 'Regional outage INC-OUT-9: Dana must run payroll before 10:00' },
        }),
      });
      expect(declared.status, JSON.stringify(declared.body)).toBe(201);
      const res = await w.call('POST', `/v1/reviews/${declared.body.breakGlass.reviewId}/complete`, {
        token: await w.tokenFor('sam', { sub: PEOPLE.sam.login, groups: ['Service Desk', 'security-audit'] }),
        body: { tenant: 'acme', outcome: 'justified', notes: 'mine' },
      });
      expectProblem(res, 403, 'ERR_SOD_VIOLATION');
      expect(res.body.detail).toMatch(/you are the declarer/);
    });
  });

  it('asks for a step-up when the sign-in is older than allowed: 401 ERR_STEP_UP_REQUIRED with an RFC 9470 challenge', async () => {
    const id = await pending();
    const stale = await w.tokenFor('ann', { auth_time: Math.floor(w.clock.now.getTime() / 1000) - 20 * 60 });
    const res = await approve(id, stale);
    expectProblem(res, 401, 'ERR_STEP_UP_REQUIRED');
    expect(res.body.stepUp).toEqual({ maxAgeSeconds: 600, amr: ['mfa'] });
    expect(res.headers.get('www-authenticate')).toMatch(
      /^Bearer realm="warden", error="insufficient_user_authentication", error_description="[^"]+", max_age=600$/,
    );
    expect((await approve(id, await w.tokenFor('ann'))).status).toBe(200);
  });

  it('asks for a step-up when the sign-in was not multi-factor: 401 ERR_STEP_UP_REQUIRED', async () => {
    const id = await pending();
    expectProblem(await approve(id, await w.tokenFor('ann', { amr: ['pwd'] })), 401, 'ERR_STEP_UP_REQUIRED');
    expectProblem(await approve(id, await w.tokenFor('ann', { auth_time: undefined })), 401, 'ERR_STEP_UP_REQUIRED');
  });

  it('refuses a token for another audience: 401 ERR_AUTH_INVALID', async () => {
    const id = await pending();
    const res = await approve(id, await w.tokenFor('ann', { aud: 'api://someone-else' }));
    expectProblem(res, 401, 'ERR_AUTH_INVALID');
    expect(res.body.detail).toMatch(/aud claim/);
    expect(res.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
  });

  it('refuses a token from another issuer: 401 ERR_AUTH_INVALID', async () => {
    const id = await pending();
    const res = await approve(id, await w.tokenFor('ann', { iss: 'https://evil.example/oauth2/default' }));
    expectProblem(res, 401, 'ERR_AUTH_INVALID');
    expect(res.body.detail).toMatch(/issuer https:\/\/evil\.example/);
  });

  it('refuses an expired token: 401 ERR_TOKEN_EXPIRED', async () => {
    const id = await pending();
    const old = await w.tokenFor('ann', {}, { now: new Date(w.clock.now.getTime() - 2 * 3600_000), expiresIn: 3600 });
    expectProblem(await approve(id, old), 401, 'ERR_TOKEN_EXPIRED');
  });

  it('refuses an unsigned token (alg: none): 401 ERR_AUTH_INVALID', async () => {
    const id = await pending();
    const p = PEOPLE.ann;
    const res = await approve(id, w.issuer.unsigned({ sub: p.id, groups: [...p.groups] }, { now: w.clock.now }));
    expectProblem(res, 401, 'ERR_AUTH_INVALID');
    expect(res.body.detail).toMatch(/alg "none"/);
  });

  it('refuses a token signed with a key the IdP does not publish: 401 ERR_AUTH_INVALID', async () => {
    const id = await pending();
    expectProblem(await approve(id, await w.tokenFor('ann', {}, { key: 'unpublished' })), 401, 'ERR_AUTH_INVALID');
  });

  it('refuses a token signed with a symmetric algorithm: 401 ERR_AUTH_INVALID', async () => {
    const id = await pending();
    const hs = await new SignJWT({ sub: PEOPLE.ann.id, groups: ['iam-approvers'], amr: ['mfa'], auth_time: Math.floor(w.clock.now.getTime() / 1000) })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(w.issuer.issuer)
      .setAudience(w.issuer.audience)
      .setIssuedAt(Math.floor(w.clock.now.getTime() / 1000))
      .setExpirationTime(Math.floor(w.clock.now.getTime() / 1000) + 600)
      .sign(new TextEncoder().encode('a-guessable-shared-secret-of-32-bytes!'));
    expectProblem(await approve(id, hs), 401, 'ERR_AUTH_INVALID');
  });

  it('refuses an approval through an API key, whatever its scopes: 403 ERR_FORBIDDEN', async () => {
    const id = await pending();
    const key = await w.apiKey(['requests:write', 'requests:read', 'requests:execute', 'requests:break_glass']);
    const res = await approve(id, key);
    expectProblem(res, 403, 'ERR_FORBIDDEN');
    expect(res.body.detail).toMatch(/person signed in with the IdP/);
  });

  it('refuses someone without the approver role, and an approver outside the groups the policy names: 403 ERR_FORBIDDEN', async () => {
    const id = await pending();
    expectProblem(await approve(id, await w.tokenFor('eve')), 403, 'ERR_FORBIDDEN');
    const board = await approve(id, await w.tokenFor('cara'));
    expectProblem(board, 403, 'ERR_FORBIDDEN');
    expect(board.body.detail).toMatch(/needs approvers from group:iam-approvers/);
  });

  it('takes approvals only once proofing is complete: 409 ERR_ILLEGAL_TRANSITION', async () => {
    w.ticket('INC0029001');
    const created = await w.call('POST', '/v1/requests', {
      token: await w.tokenFor('sam'),
      body: resetRequest({ justification: { ticket: { system: 'servicenow', id: 'INC0029001' } } }),
    });
    expect(created.body.state).toBe('proofing');
    expectProblem(await approve(created.body.id, await w.tokenFor('ann')), 409, 'ERR_ILLEGAL_TRANSITION');
  });

  it('ends the request on a rejection: later approvals are refused', async () => {
    const id = await pending();
    const rejected = await w.call('POST', `/v1/requests/${id}/reject`, {
      token: await w.tokenFor('bob'),
      body: { tenant: 'acme', comment: 'the caller could not say which device they lost' },
    });
    expect(rejected.body).toMatchObject({ state: 'rejected', closed: { reason: expect.stringContaining('could not say which device') } });
    expectProblem(await approve(id, await w.tokenFor('ann')), 409, 'ERR_ILLEGAL_TRANSITION');
  });

  it('refuses a request whose executor is its requester or its target at creation: 403 ERR_SOD_VIOLATION', async () => {
    const sam = await w.tokenFor('sam');
    expectProblem(await w.call('POST', '/v1/requests', { token: sam, body: resetRequest({ requester: { id: PEOPLE.sam.id } }) }), 403, 'ERR_SOD_VIOLATION');
    expectProblem(
      await w.call('POST', '/v1/requests', { token: sam, body: resetRequest({ target: { id: PEOPLE.sam.id }, requester: { id: PEOPLE.sam.id } }) }),
      403,
      'ERR_SOD_VIOLATION',
    );
  });
});
