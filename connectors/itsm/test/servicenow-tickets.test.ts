import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ServiceNowConfig } from '../itsm-config.js';
import { SERVICENOW_FIELDS, ServiceNowTickets } from '../servicenow-tickets.js';
import { fixture, incident, incidentWithPeople, tableList } from './itsm-fixtures.js';

const INSTANCE = 'https://acme.service-now.com';
const basic = ServiceNowConfig.parse({
  instanceUrl: INSTANCE,
  auth: { type: 'basic', username: 'warden', passwordSecret: 'snowPassword' },
  groups: { 'Service Desk': ['Service Desk', 'IT Support'] },
});
const secrets = (name: string) => ({ snowPassword: 's3cret', snowClient: 'client-s3cret' })[name]!;

beforeAll(() => {
  nock.disableNetConnect();
  nock.enableNetConnect('127.0.0.1');
});
afterEach(() => {
  expect(nock.isDone()).toBe(true);
  nock.cleanAll();
});
// The unit tests share one process (vitest.config.ts): let the next file's connections through again.
afterAll(() => {
  nock.enableNetConnect();
});

/** The query Warden sends for a ticket number. */
const query = (number: string) => ({
  sysparm_query: `number=${number}`,
  sysparm_fields: SERVICENOW_FIELDS.join(','),
  sysparm_display_value: 'false',
  sysparm_limit: '1',
});

describe('ServiceNow Table API tickets', () => {
  it('reads an incident by number with basic auth and maps it', async () => {
    const record = incidentWithPeople({
      caller: ['dana.lee@acme.example', 'dana.lee'],
      openedBy: ['sam.agent@acme.example', 'sam.agent'],
      group: 'Service Desk',
    });
    nock(INSTANCE, { reqheaders: { authorization: `Basic ${Buffer.from('warden:s3cret').toString('base64')}`, accept: 'application/json' } })
      .get('/api/now/table/incident')
      .query(query('INC0000050'))
      .reply(200, tableList(record));
    const t = await new ServiceNowTickets(basic, secrets).getTicket('INC0000050');
    expect(t).toMatchObject({
      system: 'servicenow',
      id: 'INC0000050',
      internalId: 'ef43c6d40a0a0b5700c77f9bf387afe3',
      state: 'In Progress',
      open: true,
      assignmentGroup: { id: '8a5055c9c61122780043563ef53438e3', name: 'Service Desk', idpGroups: ['Service Desk', 'IT Support'] },
      assignee: { id: '681b365ec0a80164000fb0b05854a0cd' },
      subject: { id: '5b7c200d0a640069006b3845b5d0fa7c', email: 'dana.lee@acme.example', login: 'dana.lee' },
      openedBy: { id: 'glide.maint', email: 'sam.agent@acme.example', login: 'sam.agent' },
      channel: 'phone',
      summary: "Can't access Exchange server - is it down?",
      createdAt: '2015-11-02T21:58:24Z',
    });
    expect(t!.raw).toEqual(record);
  });

  it('reads states as the incident state model names them; resolved, closed, cancelled and unknown states are not open', async () => {
    const cases: Array<[string, string, string, boolean]> = [
      ['1', 'true', 'New', true],
      ['3', 'true', 'On Hold', true],
      ['6', 'true', 'Resolved', false],
      ['7', 'false', 'Closed', false],
      ['8', 'false', 'Canceled', false],
      ['42', 'true', 'unknown state 42', false],
    ];
    for (const [state, active, label, open] of cases) {
      nock(INSTANCE)
        .get('/api/now/table/incident')
        .query(true)
        .reply(200, tableList(incident({ state, incident_state: state, active })));
      expect(await new ServiceNowTickets(basic, secrets).getTicket('INC0000050')).toMatchObject({ state: label, open });
    }
  });

  it('accepts references as objects or as "" when empty (the vendor\'s POST example)', async () => {
    const posted = fixture<{ result: Record<string, unknown> }>('servicenow-table-post-incident-response.json').result;
    nock(INSTANCE).get('/api/now/table/incident').query(true).reply(200, tableList(posted));
    const t = await new ServiceNowTickets(basic, secrets).getTicket('INC0010002');
    expect(t).toMatchObject({ id: 'INC0010002', state: 'New', open: true, openedBy: { id: '6816f79cc0a8016401c5a33be04be441' } });
    expect(t!.subject).toBeUndefined();
    expect(t!.assignee).toBeUndefined();
  });

  it('says there is no such ticket for an empty result and for the v1 404', async () => {
    nock(INSTANCE).get('/api/now/table/incident').query(true).reply(200, tableList());
    expect(await new ServiceNowTickets(basic, secrets).getTicket('INC9999999')).toBeUndefined();
    nock(INSTANCE)
      .get('/api/now/table/incident')
      .query(true)
      .reply(404, { error: { message: 'No Record found', detail: 'Records matching query not found' }, status: 'failure' });
    expect(await new ServiceNowTickets(basic, secrets).getTicket('INC9999999')).toBeUndefined();
  });

  it('never sends a number that could carry encoded-query operators', async () => {
    expect(await new ServiceNowTickets(basic, secrets).getTicket('INC1^ORnumber!=x')).toBeUndefined();
    expect(await new ServiceNowTickets(basic, secrets).getTicket('')).toBeUndefined();
  });

  it("reports refused credentials and the rate limit with the vendor's words, never the password", async () => {
    nock(INSTANCE).get('/api/now/table/incident').query(true).reply(401, fixture('servicenow-error-401-user-not-authenticated.json'));
    const refused = await new ServiceNowTickets(basic, secrets).getTicket('INC0000050').catch((e: Error) => e);
    expect((refused as Error).message).toBe(
      "ServiceNow refused Warden's credentials (HTTP 401: User Not Authenticated (Required to provide Auth information))",
    );
    expect((refused as Error).message).not.toContain('s3cret');
    nock(INSTANCE)
      .get('/api/now/table/incident')
      .query(true)
      .reply(429, fixture('servicenow-error-429-rate-limit.json'), { 'Retry-After': '1800', 'X-RateLimit-Limit': '100', 'X-RateLimit-Reset': '1767225600' });
    const limited = await new ServiceNowTickets(basic, secrets).getTicket('INC0000050').catch((e: Error) => e);
    expect(limited).toMatchObject({ message: 'ServiceNow rate limit reached: retry after 1800 s', status: 429, retryAfterSeconds: 1800 });
  });

  it('uses OAuth client credentials, keeps the token until it expires, and fetches a new one when it is refused', async () => {
    const oauth = ServiceNowConfig.parse({
      instanceUrl: INSTANCE,
      auth: { type: 'oauth', clientId: 'warden-client', clientSecretSecret: 'snowClient', scope: 'incident_read' },
    });
    const token = fixture<{ access_token: string }>('servicenow-oauth-token-response.json');
    const clock = { now: new Date('2026-03-01T10:00:00Z') };
    const client = new ServiceNowTickets(oauth, secrets, () => clock.now);
    nock(INSTANCE)
      .post(
        '/oauth_token.do',
        (body) =>
          body.grant_type === 'client_credentials' &&
          body.client_id === 'warden-client' &&
          body.client_secret === 'client-s3cret' &&
          body.scope === 'incident_read',
      )
      .reply(200, token);
    nock(INSTANCE, { reqheaders: { authorization: `Bearer ${token.access_token}` } })
      .get('/api/now/table/incident')
      .query(true)
      .times(2)
      .reply(200, tableList(incident()));
    await client.getTicket('INC0000050');
    await client.getTicket('INC0000050');
    expect(nock.isDone()).toBe(true);

    nock(INSTANCE).get('/api/now/table/incident').query(true).reply(401, fixture('servicenow-error-401-user-not-authenticated.json'));
    nock(INSTANCE)
      .post('/oauth_token.do')
      .reply(200, { ...token, access_token: 'renewed' });
    nock(INSTANCE, { reqheaders: { authorization: 'Bearer renewed' } })
      .get('/api/now/table/incident')
      .query(true)
      .reply(200, tableList(incident()));
    expect((await client.getTicket('INC0000050'))?.id).toBe('INC0000050');
  });
});
