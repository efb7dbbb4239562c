import { describe, expect, it } from 'vitest';
import { makeChange } from '../../test/helpers/changes.js';
import { policyFrom } from '../../test/helpers/policies.js';
import { applicableException, type PolicyException } from './policy-exception.js';
import { evaluatePolicy } from './policy/evaluate-policy.js';

const policy = policyFrom(`
  apiVersion: warden/v1
  tenant: acme
  mode: enforce
  default: allow
  rules:
    - id: no-sms
      when: 'change.kind == "factor.enroll" && has(change.factor) && change.factor.type == "sms"'
      outcome: deny
      onDeny: [remove_new_factor]
    - id: helpdesk-needs-request
      when: 'change.channel == "helpdesk"'
      require: { approvals: { count: 1 } }
      onHold: [hold_group]
`);

const change = makeChange({
  kind: 'factor.enroll',
  channel: 'self_service',
  factor: { type: 'sms' },
  occurredAt: '2026-03-01T12:00:00Z',
  target: { id: '00u-kiosk', login: 'Kiosk-Lobby@acme.example' },
});

const exception: PolicyException = {
  id: 'exc-1',
  tenant: 'acme',
  ruleId: 'no-sms',
  target: 'kiosk-lobby@acme.example',
  owner: 'facilities-it@acme.example',
  reason: 'Lobby kiosk has no smartphone; SMS to the facilities desk phone',
  createdBy: 'admin@acme.example',
  createdAt: '2026-02-01T00:00:00Z',
  expiresAt: '2026-04-01T00:00:00Z',
};

describe('policy exceptions', () => {
  it('exempts the named target from the named rule and says so in the decision', () => {
    const v = evaluatePolicy(policy, { change, exceptions: [exception] });
    expect(v.outcome).toBe('allow');
    expect(v.rules).toEqual([
      expect.objectContaining({ id: 'no-sms', outcome: 'allow', exceptionId: 'exc-1', reason: expect.stringContaining('not applied: exception exc-1') }),
    ]);
    expect(v.obligations.actions).toEqual([]);
  });

  it('applies the rule when there is no exception, for another target, or for another rule', () => {
    expect(evaluatePolicy(policy, { change }).outcome).toBe('deny');
    expect(evaluatePolicy(policy, { change, exceptions: [{ ...exception, target: '00u-other' }] }).outcome).toBe('deny');
    expect(evaluatePolicy(policy, { change, exceptions: [{ ...exception, ruleId: 'helpdesk-needs-request' }] }).outcome).toBe('deny');
    expect(evaluatePolicy(policy, { change, exceptions: [{ ...exception, tenant: 'globex' }] }).outcome).toBe('deny');
  });

  it('names the target by id, login or email, case-insensitively', () => {
    expect(applicableException([{ ...exception, target: '00U-KIOSK' }], 'no-sms', change)?.id).toBe('exc-1');
    expect(applicableException([exception], 'no-sms', change)?.id).toBe('exc-1');
  });

  it('stops applying once expired or revoked, and does not reach back before it was granted', () => {
    expect(evaluatePolicy(policy, { change, exceptions: [{ ...exception, expiresAt: '2026-03-01T12:00:00Z' }] }).outcome).toBe('deny');
    expect(evaluatePolicy(policy, { change, exceptions: [{ ...exception, revokedAt: '2026-02-15T00:00:00Z' }] }).outcome).toBe('deny');
    expect(evaluatePolicy(policy, { change, exceptions: [{ ...exception, revokedAt: '2026-03-02T00:00:00Z' }] }).outcome).toBe('allow');
    expect(evaluatePolicy(policy, { change, exceptions: [{ ...exception, createdAt: '2026-03-01T13:00:00Z' }] }).outcome).toBe('deny');
  });

  it('exempts from one rule only: other rules still decide', () => {
    const helpdesk = makeChange({ ...change, id: undefined, channel: 'helpdesk' });
    const v = evaluatePolicy(policy, { change: helpdesk, exceptions: [exception] });
    expect(v.outcome).toBe('hold');
    expect(v.rules.map((r) => [r.id, r.outcome, r.exceptionId ?? null])).toEqual([
      ['no-sms', 'allow', 'exc-1'],
      ['helpdesk-needs-request', 'hold', null],
    ]);
  });
});

describe('break-glass in a decision', () => {
  it('allows with the reason and marks the rule result as break-glass; a rule may refuse it', () => {
    const helpdesk = makeChange({
      kind: 'factor.reset_all',
      channel: 'helpdesk',
      occurredAt: '2026-03-01T12:00:00Z',
      target: { id: 'u1' },
      actor: { id: 'agent' },
    });
    const request = {
      id: 'req-bg',
      tenant: 'acme',
      state: 'approved' as const,
      kind: 'factor.reset_all' as const,
      targetId: 'u1',
      requesterId: 'u1',
      executorId: 'agent',
      approvals: [],
      approvedAt: '2026-03-01T11:58:00Z',
      expiresAt: '2026-03-01T12:58:00Z',
      breakGlass: { reason: 'Production outage; on-call cannot sign in' },
    };
    const v = evaluatePolicy(policy, { change: helpdesk, request });
    expect(v.outcome).toBe('allow');
    expect(v.rules[0]).toMatchObject({
      id: 'helpdesk-needs-request',
      requestId: 'req-bg',
      breakGlass: true,
      reason: expect.stringContaining('break-glass request req-bg'),
    });
    const strict = policyFrom(`
      apiVersion: warden/v1
      tenant: acme
      rules:
        - id: helpdesk-needs-request
          when: 'change.channel == "helpdesk"'
          require: { approvals: { count: 1 }, breakGlass: false }
    `);
    expect(evaluatePolicy(strict, { change: helpdesk, request }).outcome).toBe('hold');
  });
});
