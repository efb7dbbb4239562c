import { describe, expect, it } from 'vitest';
import type { RequestSnapshot } from '../change-request.js';
import { checkRequirements, qualifyingApprovers } from './check-requirements.js';
import type { CompiledRequirement } from './compile-policy.js';
import { makeChange } from '../../../test/helpers/changes.js';

const change = makeChange({
  kind: 'factor.reset_all',
  channel: 'helpdesk',
  occurredAt: '2026-01-05T10:00:00Z',
  target: { id: 'u-target', login: 'dana@acme.example' },
  actor: { id: 'u-agent', login: 'Agent@Acme.example' },
});

const requirement: CompiledRequirement = {
  request: 'approved',
  proofing: 'callback',
  ticket: { system: 'servicenow', states: ['In Progress'] },
  approvals: { count: 1, from: ['group:iam-approvers'] },
  ttlSeconds: 3600,
};

const request: RequestSnapshot = {
  id: 'req-1',
  tenant: 'acme',
  state: 'approved',
  kind: 'factor.reset_all',
  targetId: 'u-target',
  requesterId: 'u-target',
  executorId: 'u-agent',
  proofing: { level: 'callback', method: 'callback', verifiedAt: '2026-01-05T09:40:00Z' },
  ticket: { system: 'servicenow', id: 'INC0010001', state: 'In Progress' },
  approvals: [{ approverId: 'u-approver', groups: ['iam-approvers'], roles: [], at: '2026-01-05T09:45:00Z' }],
  approvedAt: '2026-01-05T09:45:00Z',
  expiresAt: '2026-01-05T10:45:00Z',
};

const judge = (r: Partial<RequestSnapshot>, req: CompiledRequirement = requirement) => checkRequirements(req, { ...request, ...r }, change);

describe('checkRequirements', () => {
  it('is met by an approved, proofed, ticketed request within its ttl', () => {
    expect(judge({})).toEqual({ met: true, unmet: [] });
  });

  it('accepts the executor named by login, case-insensitively', () => {
    expect(judge({ executorId: 'agent@acme.example' }).met).toBe(true);
  });

  it('is not met without a request', () => {
    expect(checkRequirements(requirement, undefined, change)).toEqual({ met: false, unmet: ['no approved change request covers this change'] });
  });

  const failures: Array<[string, Partial<RequestSnapshot>, RegExp]> = [
    ['a request of another tenant', { tenant: 'other' }, /belongs to tenant other/],
    ['a request for another kind of change', { kind: 'password.reset' }, /is for password.reset/],
    ['a request for another target', { targetId: 'u-else' }, /another target/],
    ['a request naming another executor', { executorId: 'u-other-agent' }, /another executor/],
    ['a request its executor also requested', { requesterId: 'u-agent' }, /requested and executed by the same person/],
    ['a request still pending approval', { state: 'pending_approval' }, /is pending_approval, not approved/],
    ['a rejected request', { state: 'rejected' }, /is rejected/],
    ['a request already used', { consumedAt: '2026-01-05T09:50:00Z' }, /already used/],
    ['an expired request', { expiresAt: '2026-01-05T09:59:59Z' }, /expired/],
    [
      'proofing below the required level',
      { proofing: { level: 'knowledge', method: 'security questions', verifiedAt: '2026-01-05T09:40:00Z' } },
      /proofing knowledge is below the required callback/,
    ],
    ['no proofing at all', { proofing: undefined }, /proofing none is below/],
    ['no ticket', { ticket: undefined }, /a ticket in servicenow is required/],
    ['a ticket in another system', { ticket: { system: 'jira', id: 'IT-1', state: 'In Progress' } }, /is in jira, not servicenow/],
    ['a ticket in a state that does not count', { ticket: { system: 'servicenow', id: 'INC1', state: 'Resolved' } }, /"Resolved", not one of "In Progress"/],
    ['no approvals', { approvals: [] }, /0 of 1 required approval from group:iam-approvers/],
    [
      'an approval from a group that may not approve',
      { approvals: [{ approverId: 'u-x', groups: ['helpdesk'], roles: [], at: '2026-01-05T09:45:00Z' }] },
      /0 of 1/,
    ],
    ['an approval older than the ttl', { approvedAt: '2026-01-05T08:59:59Z' }, /approval older than 1h/],
    ['a request approved after the change', { approvedAt: '2026-01-05T10:05:00Z' }, /approved after the change/],
    [
      "an approver's approval given after the change",
      { approvals: [{ approverId: 'u-approver', groups: ['iam-approvers'], roles: [], at: '2026-01-05T10:03:00Z' }] },
      /0 of 1/,
    ],
    [
      "an approver's approval older than the ttl",
      { approvals: [{ approverId: 'u-approver', groups: ['iam-approvers'], roles: [], at: '2026-01-05T08:00:00Z' }] },
      /0 of 1/,
    ],
    [
      'proofing done after the change',
      { proofing: { level: 'callback', method: 'callback', verifiedAt: '2026-01-05T10:10:00Z' } },
      /proofing was done after the change/,
    ],
    ['proofing older than the ttl', { proofing: { level: 'callback', method: 'callback', verifiedAt: '2026-01-04T10:00:00Z' } }, /proofing older than 1h/],
    ['no approval time', { approvedAt: undefined }, /no approval time/],
  ];
  for (const [name, patch, message] of failures) {
    it(`is not met by ${name}`, () => {
      const result = judge(patch);
      expect(result.met).toBe(false);
      expect(result.unmet.join('; ')).toMatch(message);
    });
  }
});

describe('separation of duties in approvals', () => {
  const approval = (approverId: string, groups = ['iam-approvers']) => ({ approverId, groups, roles: [], at: '2026-01-05T09:45:00Z' });
  const twoNeeded: CompiledRequirement = { request: 'approved', approvals: { count: 2, from: ['group:iam-approvers'] } };

  it('does not count an approval by the requester', () => {
    expect(judge({ requesterId: 'u-caller', approvals: [approval('u-caller')] }).met).toBe(false);
  });

  it('does not count an approval by the target', () => {
    expect(judge({ approvals: [approval('u-target')] }).met).toBe(false);
  });

  it('does not count an approval by the executor', () => {
    expect(judge({ approvals: [approval('u-agent')] }).met).toBe(false);
  });

  it('does not count an approval by whoever performed the change in the IdP, even when the request names someone else', () => {
    const other = makeChange({ ...change, id: undefined, actor: { id: 'u-approver' } });
    expect(checkRequirements(requirement, { ...request, executorId: 'u-approver' }, other).met).toBe(false);
  });

  it('does not count the target or the executor approving under their login or email instead of their id', () => {
    expect(judge({ approvals: [approval('DANA@acme.example')] }).met).toBe(false);
    expect(judge({ approvals: [approval('agent@acme.example')] }).met).toBe(false);
    const withEmail = makeChange({ ...change, id: undefined, target: { id: 'u-target', email: 'dana.lee@mail.example' } });
    expect(checkRequirements(requirement, { ...request, approvals: [approval('dana.lee@mail.example')] }, withEmail).met).toBe(false);
  });

  it('refuses a request its executor requested under another name', () => {
    const result = judge({ requesterId: 'AGENT@acme.example' });
    expect(result.unmet.join()).toContain('requested and executed by the same person');
  });

  it('tolerates a little clock skew between the IdP and Warden', () => {
    expect(judge({ approvedAt: '2026-01-05T10:01:00Z', approvals: [approval('u-a')] }).met).toBe(true);
  });

  it('counts the same approver once', () => {
    const result = judge({ approvals: [approval('u-a'), approval('u-a')] }, twoNeeded);
    expect(result.unmet).toContain('1 of 2 required approvals from group:iam-approvers');
    expect(judge({ approvals: [approval('u-a'), approval('u-b')] }, twoNeeded).met).toBe(true);
    expect(judge({ approvals: [approval('u-a'), approval('U-A')] }, twoNeeded).met).toBe(false);
  });

  it('accepts approvers by role and by user id when the policy names them', () => {
    const req: CompiledRequirement = { request: 'approved', approvals: { count: 2, from: ['role:SUPER_ADMIN', 'user:u-ciso'] } };
    const r = { ...request, approvals: [{ approverId: 'u-admin', groups: [], roles: ['SUPER_ADMIN'], at: '2026-01-05T09:45:00Z' }, approval('u-ciso', [])] };
    expect(qualifyingApprovers(req, r, change).sort()).toEqual(['u-admin', 'u-ciso']);
    expect(qualifyingApprovers(req, { ...r, approvals: [approval('U-CISO', [])] }, change)).toEqual(['u-ciso']);
    expect(checkRequirements(req, r, change).met).toBe(true);
  });

  it('accepts any approver when the policy names no source, still never the parties', () => {
    const req: CompiledRequirement = { request: 'approved', approvals: { count: 1, from: [] } };
    expect(qualifyingApprovers(req, { ...request, approvals: [approval('u-agent', []), approval('u-any', [])] }, change)).toEqual(['u-any']);
  });
});

describe('break-glass and service identities', () => {
  const breakGlass = {
    approvals: [],
    proofing: undefined,
    ticket: undefined,
    approvedAt: '2026-01-05T09:55:00Z',
    breakGlass: { reason: 'CEO locked out before the board call; IdP outage INC0099' },
  };

  it('lets a break-glass request stand in for proofing, ticket and approvals', () => {
    expect(judge(breakGlass)).toEqual({ met: true, unmet: [] });
  });

  it('still requires a break-glass request to match, be approved, unused and unexpired', () => {
    expect(judge({ ...breakGlass, targetId: 'u-else' }).unmet.join()).toMatch(/another target/);
    expect(judge({ ...breakGlass, consumedAt: '2026-01-05T09:58:00Z' }).unmet.join()).toMatch(/already used/);
    expect(judge({ ...breakGlass, expiresAt: '2026-01-05T09:59:00Z' }).unmet.join()).toMatch(/expired/);
    expect(judge({ ...breakGlass, state: 'cancelled' }).unmet.join()).toMatch(/is cancelled/);
    expect(judge({ ...breakGlass, requesterId: 'u-agent' }).unmet.join()).toMatch(/requested and executed by the same person/);
  });

  it('refuses break-glass where the rule says no emergency may bypass it', () => {
    const result = judge(breakGlass, { ...requirement, breakGlass: false });
    expect(result.met).toBe(false);
    expect(result.unmet).toEqual(['request req-1 is a break-glass request, which this rule does not accept']);
  });

  it('accepts a service identity acting for the executor, and judges approvals against the executor still', () => {
    const viaBroker = makeChange({ ...change, id: undefined, actor: { id: 'svc-warden-broker', type: 'service' } });
    expect(checkRequirements(requirement, request, viaBroker).unmet.join()).toMatch(/another executor/);
    expect(checkRequirements(requirement, { ...request, serviceIdentities: ['SVC-Warden-Broker'] }, viaBroker).met).toBe(true);
    const agentApproves = {
      ...request,
      serviceIdentities: ['svc-warden-broker'],
      approvals: [{ approverId: 'u-agent', groups: ['iam-approvers'], roles: [], at: '2026-01-05T09:45:00Z' }],
    };
    expect(checkRequirements(requirement, agentApproves, viaBroker).unmet.join()).toMatch(/0 of 1/);
  });
});

describe('releasing a held change (an approval given after the change)', () => {
  // The agent reset at 10:00 before the request was approved; proofing and approval came at 10:20 and 10:30.
  const late = {
    proofing: { level: 'callback' as const, method: 'callback', verifiedAt: '2026-01-05T10:20:00Z' },
    approvals: [{ approverId: 'u-approver', groups: ['iam-approvers'], roles: [], at: '2026-01-05T10:30:00Z' }],
    approvedAt: '2026-01-05T10:30:00Z',
    expiresAt: '2026-01-05T11:30:00Z',
  };
  const releaseAt = Date.parse('2026-01-05T10:30:00Z');
  const release = (r: Partial<RequestSnapshot>) => checkRequirements(requirement, { ...request, ...late, ...r }, change, { releaseAt });

  it('does not let a later approval allow the change itself', () => {
    expect(judge(late).unmet.join('; ')).toMatch(/approved after the change.*; an approval cannot cover a change made before it/);
  });

  it('counts proofing and approvals given up to the release', () => {
    expect(release({})).toEqual({ met: true, unmet: [] });
    expect(qualifyingApprovers(requirement, { ...request, ...late }, change, { releaseAt })).toEqual(['u-approver']);
  });

  it('still judges everything else: executor, target, kind, parties, ticket, sources, proofing level', () => {
    expect(release({ executorId: 'u-other-agent' }).unmet.join()).toMatch(/another executor/);
    expect(release({ targetId: 'u-else' }).unmet.join()).toMatch(/another target/);
    expect(release({ kind: 'password.reset' }).unmet.join()).toMatch(/is for password.reset/);
    expect(release({ consumedAt: '2026-01-05T10:29:00Z' }).unmet.join()).toMatch(/already used/);
    expect(release({ approvals: [{ approverId: 'u-agent', groups: ['iam-approvers'], roles: [], at: '2026-01-05T10:30:00Z' }] }).unmet.join()).toMatch(
      /0 of 1/,
    );
    expect(release({ approvals: [{ approverId: 'u-x', groups: ['helpdesk'], roles: [], at: '2026-01-05T10:30:00Z' }] }).unmet.join()).toMatch(/0 of 1/);
    expect(release({ ticket: { system: 'servicenow', id: 'INC1', state: 'Resolved' } }).unmet.join()).toMatch(/"Resolved"/);
    expect(release({ proofing: { level: 'knowledge', method: 'questions', verifiedAt: '2026-01-05T10:20:00Z' } }).unmet.join()).toMatch(
      /below the required callback/,
    );
  });

  it('does not count what came after the release time', () => {
    expect(release({ approvedAt: '2026-01-05T10:40:00Z' }).unmet.join()).toMatch(/approved after the release time/);
    expect(release({ proofing: { level: 'callback', method: 'callback', verifiedAt: '2026-01-05T10:45:00Z' } }).unmet.join()).toMatch(
      /proofing was done after the release/,
    );
    expect(release({ approvals: [{ approverId: 'u-approver', groups: ['iam-approvers'], roles: [], at: '2026-01-05T10:45:00Z' }] }).unmet.join()).toMatch(
      /0 of 1/,
    );
  });
});
