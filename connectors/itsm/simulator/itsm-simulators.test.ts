import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../../src/core/clock.js';
import { JiraConfig, ServiceNowConfig } from '../itsm-config.js';
import { JiraTickets } from '../jira-tickets.js';
import { ServiceNowTickets } from '../servicenow-tickets.js';
import { JiraSimulator } from './jira-simulator.js';
import { ServiceNowSimulator } from './servicenow-simulator.js';

/** Warden's real ticket adapters read what an agent logged in the ServiceNow and Jira simulators. */
const clock = fixedClock(new Date('2026-11-25T09:00:00Z'));
const secrets: Record<string, string> = { snow: 'warden-pw', jira: 'warden-token' };
const secret = (name: string) => secrets[name]!;

describe('ServiceNow simulator', () => {
  const sim = new ServiceNowSimulator(clock);
  beforeAll(async () => {
    await sim.start();
    sim.addUser({ user_name: 'warden', email: 'warden@acme.example', name: 'Warden', password: 'warden-pw' });
    sim.addUser({ user_name: 'kim.agent', email: 'kim.agent@acme.example', name: 'Kim Agent', password: 'kim-pw' });
    sim.addUser({ user_name: 'dana.lee', email: 'dana.lee@acme.example', name: 'Dana Lee' });
    sim.addGroup('Service Desk');
  });
  afterAll(() => sim.close());
  const auth = (user: string, pw: string) => ({
    authorization: `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`,
    accept: 'application/json',
    'content-type': 'application/json',
  });
  const tickets = () =>
    new ServiceNowTickets(ServiceNowConfig.parse({ instanceUrl: sim.url, auth: { type: 'basic', username: 'warden', passwordSecret: 'snow' } }), secret, clock);

  it('takes an incident logged by an agent through the Table API, and Warden reads it with the people dot-walked', async () => {
    const lookup = async (table: string, query: string) =>
      (
        (await (
          await fetch(`${sim.url}/api/now/table/${table}?sysparm_query=${encodeURIComponent(query)}&sysparm_fields=sys_id`, {
            headers: auth('kim.agent', 'kim-pw'),
          })
        ).json()) as { result: Array<{ sys_id: string }> }
      ).result[0]!.sys_id;
    const caller = await lookup('sys_user', 'user_name=dana.lee');
    const group = await lookup('sys_user_group', 'name=Service Desk');
    const created = await fetch(`${sim.url}/api/now/table/incident`, {
      method: 'POST',
      headers: auth('kim.agent', 'kim-pw'),
      body: JSON.stringify({ caller_id: caller, assignment_group: group, short_description: 'Lost phone, needs MFA reset', state: '2' }),
    });
    expect(created.status).toBe(201);
    const record = ((await created.json()) as { result: Record<string, unknown> }).result;
    expect(record).toMatchObject({
      number: 'INC0010001',
      state: '2',
      active: 'true',
      contact_type: 'phone',
      caller_id: { value: caller },
      sys_created_by: 'kim.agent',
      opened_at: '2026-11-25 09:00:00',
    });
    const ticket = await tickets().getTicket('INC0010001');
    expect(ticket).toMatchObject({
      system: 'servicenow',
      id: 'INC0010001',
      state: 'In Progress',
      open: true,
      channel: 'phone',
      subject: { email: 'dana.lee@acme.example', login: 'dana.lee' },
      openedBy: { login: 'kim.agent' },
      assignmentGroup: { name: 'Service Desk' },
      createdAt: '2026-11-25T09:00:00Z',
    });
  });

  it('closes an incident with PATCH: Warden reads it as not open', async () => {
    const sysId = sim.incident('INC0010001')!.sys_id!;
    const res = await fetch(`${sim.url}/api/now/table/incident/${sysId}`, {
      method: 'PATCH',
      headers: auth('kim.agent', 'kim-pw'),
      body: JSON.stringify({ state: '7' }),
    });
    expect(res.status).toBe(200);
    expect(await tickets().getTicket('INC0010001')).toMatchObject({ state: 'Closed', open: false });
  });

  it('answers an unknown number with an empty list, and a wrong password with 401', async () => {
    expect(await tickets().getTicket('INC0099999')).toBeUndefined();
    const wrong = new ServiceNowTickets(
      ServiceNowConfig.parse({ instanceUrl: sim.url, auth: { type: 'basic', username: 'warden', passwordSecret: 'bad' } }),
      () => 'nope',
      clock,
    );
    await expect(wrong.getTicket('INC0010001')).rejects.toThrow(/ServiceNow refused Warden's credentials \(HTTP 401: User Not Authenticated/);
  });
});

describe('Jira simulator', () => {
  const sim = new JiraSimulator(['HELP'], clock);
  beforeAll(async () => {
    await sim.start();
    sim.addUser({ accountId: '5b10a2844c20165700ede001', emailAddress: 'warden@acme.example', displayName: 'Warden', apiToken: 'warden-token' });
    sim.addUser({ accountId: '5b10a2844c20165700ede002', emailAddress: 'kim.agent@acme.example', displayName: 'Kim Agent', apiToken: 'kim-token' });
    sim.addUser({ accountId: '5b10a2844c20165700ede003', emailAddress: 'dana.lee@acme.example', displayName: 'Dana Lee' });
  });
  afterAll(() => sim.close());
  const headers = { authorization: `Basic ${Buffer.from('kim.agent@acme.example:kim-token').toString('base64')}`, 'content-type': 'application/json' };
  const tickets = () =>
    new JiraTickets(
      JiraConfig.parse({
        siteUrl: sim.url,
        email: 'warden@acme.example',
        apiTokenSecret: 'jira',
        serviceManagement: false,
        projects: { HELP: ['Service Desk'] },
      }),
      secret,
    );

  it('creates an issue for a reporter, moves it to In Progress, and Warden reads it', async () => {
    const created = await fetch(`${sim.url}/rest/api/3/issue`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        fields: { project: { key: 'HELP' }, summary: 'MFA reset for Dana', issuetype: { name: 'Task' }, reporter: { accountId: '5b10a2844c20165700ede003' } },
      }),
    });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ key: 'HELP-1' });
    expect(await tickets().getTicket('HELP-1')).toMatchObject({
      id: 'HELP-1',
      state: 'To Do',
      open: true,
      subject: { email: 'dana.lee@acme.example' },
      openedBy: { email: 'kim.agent@acme.example' },
      assignmentGroup: { idpGroups: ['Service Desk'] },
      createdAt: '2026-11-25T09:00:00.000Z',
    });
    const moved = await fetch(`${sim.url}/rest/api/3/issue/HELP-1/transitions`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ transition: { id: '31' } }),
    });
    expect(moved.status).toBe(204);
    expect(await tickets().getTicket('HELP-1')).toMatchObject({ state: 'Done', open: false });
  });

  it('answers an unknown key with 404 and bad credentials with 401', async () => {
    expect(await tickets().getTicket('HELP-99')).toBeUndefined();
    const wrong = new JiraTickets(
      JiraConfig.parse({ siteUrl: sim.url, email: 'warden@acme.example', apiTokenSecret: 'jira', serviceManagement: false }),
      () => 'nope',
    );
    await expect(wrong.getTicket('HELP-1')).rejects.toThrow(/Jira refused Warden's credentials reading issue HELP-1 \(HTTP 401/);
  });
});
