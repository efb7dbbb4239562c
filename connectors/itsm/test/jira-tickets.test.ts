import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { JiraConfig } from '../itsm-config.js';
import { JiraTickets } from '../jira-tickets.js';
import { fixture, jiraIssue, jiraStatus, jiraUser } from './itsm-fixtures.js';

const SITE = 'https://acme.atlassian.net';
const config = JiraConfig.parse({ siteUrl: SITE, email: 'warden@acme.example', apiTokenSecret: 'jiraToken', serviceDesks: { '10': ['Service Desk'] } });
const secrets = (name: string) => ({ jiraToken: 'atl-t0ken' })[name]!;
const auth = `Basic ${Buffer.from('warden@acme.example:atl-t0ken').toString('base64')}`;
const FIELDS = 'summary,status,assignee,reporter,creator,created,description';

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

const request = fixture('jsm-get-customer-request-response.json');
const agent = jiraUser('5b10a2844c20165700ede21g', 'sam.agent@acme.example', 'Sam Agent');
const fred = jiraUser('qm:a713c8ea-1075-4e30-9d96-891a7d181739:5ad6d3581db05e2a66fa80b', 'fred@example.com', 'Fred F. User');
const issue = (status = jiraStatus('Waiting for support', 'new'), extra = {}) =>
  jiraIssue('HELPDESK-1', {
    status,
    assignee: agent,
    reporter: fred,
    creator: agent,
    created: '2015-10-08T14:42:00.000+0700',
    summary: 'Request JSD help via REST',
    ...extra,
  });

function jql(value: string, found: boolean) {
  return nock(SITE, { reqheaders: { authorization: auth } })
    .get('/rest/api/3/search/jql')
    .query({ jql: `key = HELPDESK-1 AND request-channel-type = ${value}`, fields: 'key', maxResults: '1' })
    .reply(200, { issues: found ? [{ id: '107001', key: 'HELPDESK-1' }] : [] });
}

describe('Jira Service Management tickets', () => {
  it('reads the issue, the request and its channel, and maps them', async () => {
    nock(SITE, { reqheaders: { authorization: auth, accept: 'application/json' } })
      .get('/rest/api/3/issue/HELPDESK-1')
      .query({ fields: FIELDS })
      .reply(200, issue());
    nock(SITE, { reqheaders: { authorization: auth } })
      .get('/rest/servicedeskapi/request/HELPDESK-1')
      .reply(200, request);
    jql('email', false);
    jql('portal', false);
    const t = await new JiraTickets(config, secrets).getTicket('HELPDESK-1');
    expect(t).toMatchObject({
      system: 'jira',
      id: 'HELPDESK-1',
      internalId: '10002',
      state: 'Waiting for Support',
      open: true,
      assignmentGroup: { id: '10', idpGroups: ['Service Desk'] },
      assignee: { id: '5b10a2844c20165700ede21g', email: 'sam.agent@acme.example' },
      subject: { email: 'fred@example.com', name: 'Fred F. User' },
      openedBy: { email: 'sam.agent@acme.example' },
      summary: 'Request JSD help via REST',
      description: 'I need a new *mouse* for my Mac',
      createdAt: '2015-10-08T07:42:00.000Z',
      url: 'https://your-domain.atlassian.net/servicedesk/customer/portal/10/HELPDESK-1',
    });
    expect(t!.channel).toBeUndefined();
  });

  it('reports a request raised by email', async () => {
    nock(SITE).get('/rest/api/3/issue/HELPDESK-1').query(true).reply(200, issue());
    nock(SITE).get('/rest/servicedeskapi/request/HELPDESK-1').reply(200, request);
    jql('email', true);
    expect((await new JiraTickets(config, secrets).getTicket('HELPDESK-1'))?.channel).toBe('email');
  });

  it('treats the done category as closed', async () => {
    nock(SITE)
      .get('/rest/api/3/issue/HELPDESK-1')
      .query(true)
      .reply(200, issue(jiraStatus('Resolved', 'done')));
    nock(SITE)
      .get('/rest/servicedeskapi/request/HELPDESK-1')
      .reply(200, { ...request, currentStatus: { status: 'Resolved', statusCategory: 'DONE' } });
    jql('email', false);
    jql('portal', false);
    expect(await new JiraTickets(config, secrets).getTicket('HELPDESK-1')).toMatchObject({ state: 'Resolved', open: false });
  });

  it('reads a plain Jira issue when it is not a service request', async () => {
    nock(SITE)
      .get('/rest/api/3/issue/HELPDESK-1')
      .query(true)
      .reply(200, issue(jiraStatus('In Progress', 'indeterminate')));
    nock(SITE)
      .get('/rest/servicedeskapi/request/HELPDESK-1')
      .reply(404, { errorMessages: ['The request could not be found'], errors: {} });
    expect(await new JiraTickets({ ...config, projects: { HELPDESK: ['IT'] } }, secrets).getTicket('HELPDESK-1')).toMatchObject({
      state: 'In Progress',
      open: true,
      assignmentGroup: { id: 'HELPDESK', idpGroups: ['IT'] },
      subject: { email: 'fred@example.com' },
    });
  });

  it("says there is no such issue on 404, refuses malformed keys, and reports errors in Jira's words", async () => {
    nock(SITE).get('/rest/api/3/issue/HELPDESK-404').query(true).reply(404, fixture('jira-error-404-dashboard-gadget.json'));
    expect(await new JiraTickets(config, secrets).getTicket('HELPDESK-404')).toBeUndefined();
    expect(await new JiraTickets(config, secrets).getTicket('../../admin')).toBeUndefined();
    nock(SITE)
      .get('/rest/api/3/issue/HELPDESK-1')
      .query(true)
      .reply(401, { errorMessages: ['You are not authenticated. Authentication required to perform this operation.'], errors: {} });
    await expect(new JiraTickets(config, secrets).getTicket('HELPDESK-1')).rejects.toThrow(
      /Jira refused Warden's credentials reading issue HELPDESK-1 \(HTTP 401: You are not authenticated/,
    );
    nock(SITE).get('/rest/api/3/issue/HELPDESK-1').query(true).reply(429, {}, { 'Retry-After': '30' });
    await expect(new JiraTickets(config, secrets).getTicket('HELPDESK-1')).rejects.toMatchObject({ status: 429, retryAfterSeconds: 30 });
  });
});
