import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ActionError } from '../../src/connector/contract.js';
import { EntraTenantConfig } from './entra-config.js';
import { toActionError } from './enforcer.js';
import { createEntraSession, GraphCallError, retryAfterMs } from './graph-session.js';

/**
 * The Graph session with the network closed (nock 14 intercepts the global
 * fetch the Graph client uses): tokens go to the tenant's cloud, a custom
 * host gets the token too, throttling is retried in place only when short,
 * errors keep Graph's status, code and Retry-After.
 */

const TENANT = '0d3e2f10-1111-4222-8333-444455556666';

function session(overrides: Record<string, unknown> = {}) {
  const scopes: string[][] = [];
  const credential = {
    getToken: async (s: string | string[]) => {
      scopes.push(Array.isArray(s) ? s : [s]);
      return { token: 'test-token', expiresOnTimestamp: Date.now() + 3_600_000 };
    },
  };
  const config = EntraTenantConfig.parse({
    tenantId: TENANT,
    clientId: 'app',
    credential: { secret: { env: 'X' } },
    subscription: { enabled: false },
    maxInlineRetrySeconds: 2,
    ...overrides,
  });
  return { session: createEntraSession(config, credential), scopes };
}

describe('createEntraSession', () => {
  beforeAll(() => {
    nock.disableNetConnect();
    nock.enableNetConnect('127.0.0.1');
  });
  afterEach(() => {
    expect(nock.isDone()).toBe(true);
    nock.cleanAll();
  });
  afterAll(() => {
    nock.enableNetConnect();
  });

  it("calls the national cloud's Graph with a token for that cloud", async () => {
    const { session: s, scopes } = session({ cloud: 'usgov' });
    nock('https://graph.microsoft.us', { reqheaders: { authorization: 'Bearer test-token' } })
      .get('/v1.0/users/u1')
      .query({ $select: 'id,accountEnabled' })
      .reply(200, { id: 'u1', accountEnabled: true });
    expect(await s.call('getUser', { user: 'u1' }, (r) => r.select(['id', 'accountEnabled']).get())).toEqual({ id: 'u1', accountEnabled: true });
    expect(scopes).toEqual([['https://graph.microsoft.us/.default']]);
  });

  it("sends the token to a configured Graph host that is not Microsoft's (customHosts)", async () => {
    const { session: s } = session({ graphBaseUrl: 'https://graph.sim.test:8443' });
    nock('https://graph.sim.test:8443', { reqheaders: { authorization: 'Bearer test-token' } })
      .post('/v1.0/users/u1/revokeSignInSessions')
      .reply(200, { value: true });
    expect(await s.call('revokeSignInSessions', { user: 'u1' }, (r) => r.post({}))).toEqual({ value: true });
  });

  it('encodes path parameters', async () => {
    const { session: s } = session();
    nock('https://graph.microsoft.com').get('/v1.0/users/a%2Fb%40contoso.com').reply(200, { id: 'x' });
    await s.call('getUser', { user: 'a/b@contoso.com' }, (r) => r.get());
  });

  it('returns a long Retry-After to the caller without waiting, as a retryable error', async () => {
    const { session: s } = session();
    nock('https://graph.microsoft.com')
      .get('/v1.0/auditLogs/directoryAudits')
      .reply(429, { error: { code: 'TooManyRequests', message: 'Slow down' } }, { 'Retry-After': '120' });
    const err = (await s.call('listDirectoryAudits', {}, (r) => r.get()).catch((e: unknown) => e)) as GraphCallError;
    expect(err).toBeInstanceOf(GraphCallError);
    expect([err.status, err.graphCode, err.retryAfterMs, err.retryable, err.message]).toEqual([
      429,
      'TooManyRequests',
      120_000,
      true,
      'listDirectoryAudits: 429 TooManyRequests: Slow down',
    ]);
    const action = toActionError(err, 'revoke_sessions for u1');
    expect([action.permanent, action.retryAfterMs]).toEqual([false, 120_000]);
  });

  it("hands an HTTP-date Retry-After back to the caller, read against the response's Date, never retried in place on this machine's clock", async () => {
    const { session: s } = session();
    nock('https://graph.microsoft.com')
      .get('/v1.0/auditLogs/directoryAudits')
      .reply(
        429,
        { error: { code: 'TooManyRequests', message: 'Slow down' } },
        { 'Retry-After': 'Wed, 25 Nov 2026 10:02:00 GMT', Date: 'Wed, 25 Nov 2026 10:00:00 GMT' },
      );
    const err = (await s.call('listDirectoryAudits', {}, (r) => r.get()).catch((e: unknown) => e)) as GraphCallError;
    expect([err.status, err.retryAfterMs]).toEqual([429, 120_000]);
  });

  it('retries a short Retry-After in place, POSTs too', async () => {
    const { session: s } = session();
    nock('https://graph.microsoft.com')
      .post('/v1.0/groups/g1/members/$ref', { '@odata.id': 'https://graph.microsoft.com/v1.0/directoryObjects/u1' })
      .reply(503, { error: { code: 'serviceNotAvailable', message: 'busy' } }, { 'Retry-After': '0' })
      .post('/v1.0/groups/g1/members/$ref')
      .matchHeader('retry-attempt', '1')
      .reply(204);
    await s.call('addGroupMember', { group: 'g1' }, (r) => r.post({ '@odata.id': 'https://graph.microsoft.com/v1.0/directoryObjects/u1' }));
  });

  it('keeps status and code of a refusal, which the outbox treats as permanent', async () => {
    const { session: s } = session();
    nock('https://graph.microsoft.com')
      .delete('/v1.0/users/u1/authentication/phoneMethods/p1')
      .reply(403, { error: { code: 'Authorization_RequestDenied', message: 'Insufficient privileges to complete the operation.' } });
    const err = (await s
      .call('deleteMethod', { user: 'u1', collection: 'phoneMethods', method: 'p1' }, (r) => r.delete())
      .catch((e: unknown) => e)) as GraphCallError;
    expect([err.status, err.graphCode, err.retryable]).toEqual([403, 'Authorization_RequestDenied', false]);
    const action = toActionError(err, 'remove_new_factor');
    expect(action).toBeInstanceOf(ActionError);
    expect(action.permanent).toBe(true);
  });

  it('refuses to follow a nextLink to another host', async () => {
    const { session: s } = session();
    await expect(s.next('listDirectoryAudits', 'https://evil.example/v1.0/auditLogs/directoryAudits?$skiptoken=x')).rejects.toThrow(
      /refusing a nextLink outside https:\/\/graph\.microsoft\.com/,
    );
  });

  it('calls the Management Activity API with a token for it, and reads NextPageUri', async () => {
    const { session: s, scopes } = session();
    nock('https://manage.office.com', { reqheaders: { authorization: 'Bearer test-token' } })
      .get(`/api/v1.0/${TENANT}/activity/feed/subscriptions/content`)
      .query({ contentType: 'Audit.Exchange', startTime: '2026-11-25T09:00:00', endTime: '2026-11-25T10:00:00' })
      .reply(200, [], { NextPageUri: `https://manage.office.com/api/v1.0/${TENANT}/activity/feed/subscriptions/content?nextPage=2` })
      .post(`/api/v1.0/${TENANT}/activity/feed/subscriptions/start`)
      .query({ contentType: 'Audit.Exchange' })
      .reply(400, { error: { code: 'AF20024', message: 'The subscription is already enabled. No property change.' } });
    const page = await s.management(
      'listActivityContent',
      { tenant: TENANT },
      { contentType: 'Audit.Exchange', startTime: '2026-11-25T09:00:00', endTime: '2026-11-25T10:00:00' },
    );
    expect(page.nextPage).toBe(`https://manage.office.com/api/v1.0/${TENANT}/activity/feed/subscriptions/content?nextPage=2`);
    const err = (await s
      .management('startActivitySubscription', { tenant: TENANT }, { contentType: 'Audit.Exchange' })
      .catch((e: unknown) => e)) as GraphCallError;
    expect([err.status, err.graphCode]).toEqual([400, 'AF20024']);
    expect(scopes[0]).toEqual(['https://manage.office.com/.default']);
    await expect(s.management('getActivityContent', { tenant: TENANT, content: 'c' }, {}, { url: 'https://evil.example/x' })).rejects.toThrow(
      /refusing a URL outside/,
    );
  });
});

describe('retryAfterMs', () => {
  it('reads seconds and HTTP dates, and ignores nonsense', () => {
    expect(retryAfterMs('30')).toBe(30_000);
    expect(retryAfterMs('Wed, 25 Nov 2026 10:00:30 GMT', Date.parse('2026-11-25T10:00:00Z'))).toBe(30_000);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(null)).toBeUndefined();
  });

  it("reads an HTTP date against the response's Date (the service's clock), not this machine's", () => {
    const machine = Date.parse('2028-01-10T08:00:00Z'); // far from the service's clock
    expect(retryAfterMs('Wed, 25 Nov 2026 10:00:30 GMT', machine, 'Wed, 25 Nov 2026 10:00:00 GMT')).toBe(30_000);
    expect(retryAfterMs('Wed, 25 Nov 2026 10:00:30 GMT', Date.parse('2026-11-25T10:00:00Z'), 'not a date')).toBe(30_000);
  });
});
