import { describe, expect, it } from 'vitest';
import type { TicketSnapshot } from '../connector/contract.js';
import { checkTicket } from './check-ticket.js';

const ticket: TicketSnapshot = {
  system: 'servicenow',
  id: 'INC0010002',
  internalId: 'c537bae64f411200adf9f8e18110c76e',
  state: 'In Progress',
  open: true,
  assignmentGroup: { id: '287ebd7da9fe198100f92cc8d1d2154e', name: 'Service Desk', idpGroups: ['Service Desk'] },
  subject: { id: 'u1', login: 'dana.lee', email: 'dana.lee@acme.example' },
  openedBy: { id: 'u2', login: 'sam.agent', email: 'sam.agent@acme.example' },
  channel: 'phone',
  summary: 'Lost phone, needs MFA reset',
  raw: {},
};
const input = {
  ref: { system: 'servicenow', id: 'INC0010002' },
  target: { id: '00u-dana', login: 'dana.lee@acme.example', email: 'dana.lee@acme.example' },
  executor: { names: ['00u-sam', 'sam.agent@acme.example'], groups: ['Everyone', 'Service Desk'] },
  requirement: { system: 'servicenow' as const, states: ['In Progress'] },
};

describe('checkTicket', () => {
  it("accepts an open ticket in an allowed state, assigned to the executor's team, about the target, raised by phone", () => {
    expect(checkTicket(ticket, input)).toEqual({ valid: true, problems: [] });
  });

  const cases: Array<[string, TicketSnapshot | undefined, Partial<typeof input>, RegExp]> = [
    ['a ticket that does not exist', undefined, {}, /does not exist in servicenow/],
    ['a closed ticket', { ...ticket, open: false, state: 'Closed' }, {}, /is not open \(Closed\)/],
    ['a ticket in a state the policy does not accept', { ...ticket, state: 'New' }, {}, /"New", not one of "In Progress"/],
    ['a ticket in another system', { ...ticket, system: 'jira' }, {}, /in jira, the policy wants servicenow/],
    [
      'a ticket assigned to another team',
      { ...ticket, assignmentGroup: { name: 'Network', idpGroups: ['Network'] } },
      {},
      /assigned to Network, not to the executor/,
    ],
    ['an unassigned ticket', { ...ticket, assignmentGroup: undefined }, {}, /not assigned to anyone/],
    [
      'a ticket about someone else',
      { ...ticket, subject: { login: 'eve', email: 'eve@acme.example' }, summary: 'MFA reset' },
      {},
      /does not reference the target/,
    ],
    ['a ticket the target emailed in', { ...ticket, channel: 'email', openedBy: ticket.subject }, {}, /raised by the target through email/],
    [
      'a ticket the target raised in the portal',
      { ...ticket, channel: 'self-service', openedBy: ticket.subject },
      {},
      /raised by the target through self-service/,
    ],
    ['a different ticket returned for the number asked', { ...ticket, id: 'INC0010003' }, {}, /returned INC0010003 for INC0010002/],
  ];
  for (const [name, t, patch, message] of cases)
    it(`refuses ${name}`, () => {
      const result = checkTicket(t, { ...input, ...patch });
      expect(result.valid).toBe(false);
      expect(result.problems.join('; ')).toMatch(message);
    });

  it('accepts a ticket assigned to the executor personally, and one naming the target only in its text', () => {
    const personal = { ...ticket, assignmentGroup: undefined, assignee: { email: 'SAM.AGENT@acme.example' } };
    expect(checkTicket(personal, input).valid).toBe(true);
    const inText = { ...ticket, subject: { login: 'sam.agent' }, summary: 'Caller dana.lee@acme.example lost her phone' };
    expect(checkTicket(inText, input).valid).toBe(true);
  });

  it("accepts an emailed ticket raised by the agent for the target, and says when the executor's groups are unknown", () => {
    expect(checkTicket({ ...ticket, channel: 'email' }, input).valid).toBe(true);
    expect(checkTicket(ticket, { ...input, executor: { names: ['00u-sam'], groups: undefined } }).problems.join()).toMatch(/executor's groups are unknown/);
  });
});
