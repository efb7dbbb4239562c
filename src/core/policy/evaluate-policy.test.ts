import { describe, expect, it } from 'vitest';
import { CHANGE_KINDS, CHANNELS, FACTOR_TYPES } from '../identity-change.js';
import type { RuleResult } from '../decision.js';
import { activationFor, classify, combine, evaluatePolicy, judgeRule, runExpression } from './evaluate-policy.js';
import { explainPolicy } from './explain-policy.js';
import type { CompiledPolicy } from './compile-policy.js';
import { makeChange } from '../../../test/helpers/changes.js';
import { examplePolicy, policyFrom } from '../../../test/helpers/policies.js';

const combining = policyFrom(`
  apiVersion: warden/v1
  tenant: acme
  mode: enforce
  default: allow
  failure: hold
  rules:
    - id: notify-any-reset
      when: 'change.kind == "password.reset"'
      outcome: allow
    - id: hold-helpdesk
      when: 'change.channel == "helpdesk"'
      outcome: hold
      onHold: [hold_group, notify:secops]
    - id: deny-shared
      when: 'target.flags.shared'
      outcome: deny
      onDeny: [revoke_sessions, notify:secops]
    - id: deny-shared-too
      when: 'target.flags.shared && change.kind == "password.reset"'
      outcome: deny
      onDeny: [suspend, revoke_sessions]
`);

describe('evaluatePolicy', () => {
  it('applies the default when no rule matches', () => {
    const v = evaluatePolicy(combining, { change: makeChange({ kind: 'factor.enroll', channel: 'self_service' }) });
    expect(v).toMatchObject({ outcome: 'allow', defaulted: true, rules: [], mode: 'enforce', policyVersion: combining.version });
  });

  it('lets the most restrictive outcome win: deny over hold over allow', () => {
    const allowOnly = evaluatePolicy(combining, { change: makeChange({ kind: 'password.reset', channel: 'self_service' }) });
    expect([allowOnly.outcome, allowOnly.defaulted]).toEqual(['allow', false]);
    const hold = evaluatePolicy(combining, { change: makeChange({ kind: 'password.reset', channel: 'helpdesk' }) });
    expect(hold.outcome).toBe('hold');
    expect(hold.rules.map((r) => r.id)).toEqual(['notify-any-reset', 'hold-helpdesk']);
    const deny = evaluatePolicy(combining, {
      change: makeChange({ kind: 'password.reset', channel: 'helpdesk', target: { id: 'x', flags: { shared: true } } }),
    });
    expect(deny.outcome).toBe('deny');
    expect(deny.rules.map((r) => r.outcome)).toEqual(['allow', 'hold', 'deny', 'deny']);
  });

  it('takes actions and notifications only from the rules whose outcome is final, once each', () => {
    const v = evaluatePolicy(combining, { change: makeChange({ kind: 'password.reset', channel: 'helpdesk', target: { id: 'x', flags: { shared: true } } }) });
    expect(v.obligations.actions).toEqual(['revoke_sessions', 'suspend']);
    expect(v.obligations.notify).toEqual(['secops']);
  });

  it('merges requirements to the strictest of each', () => {
    const policy = policyFrom(`
      apiVersion: warden/v1
      tenant: acme
      rules:
        - id: a
          when: 'true'
          require: { proofing: callback, approvals: { count: 1 }, ttl: 2h }
        - id: b
          when: 'true'
          require: { proofing: idv, approvals: { count: 2, from: ["group:iam"] }, ttl: 30m, ticket: { system: jira } }
    `);
    const v = evaluatePolicy(policy, { change: makeChange() });
    expect(v.obligations).toMatchObject({
      request: 'approved',
      proofing: 'idv',
      approvals: { count: 2, from: ['group:iam'] },
      ttlSeconds: 1800,
      ticket: { system: 'jira' },
    });
  });

  it('never throws on a runtime CEL error: the rule takes the failure outcome and says why', () => {
    const policy = policyFrom(`
      apiVersion: warden/v1
      tenant: acme
      failure: deny
      rules:
        - id: reads-missing-signal
          when: 'context.riskScore > 50'
          outcome: hold
          onDeny: [revoke_sessions]
    `);
    const v = evaluatePolicy(policy, { change: makeChange() });
    expect(v.outcome).toBe('deny');
    expect(v.rules[0]).toMatchObject({ id: 'reads-missing-signal', outcome: 'deny', obligations: { actions: ['revoke_sessions'] } });
    expect(v.rules[0]!.error).toMatch(/riskScore/);
    expect(v.rules[0]!.reason).toContain('failure outcome "deny"');
    // With the signal present the rule evaluates normally.
    expect(evaluatePolicy(policy, { change: makeChange({ context: { riskScore: 80 } }) }).outcome).toBe('hold');
  });

  it('treats a non-boolean result of a dynamic expression as an evaluation error', () => {
    const policy = policyFrom(`
      apiVersion: warden/v1
      tenant: acme
      rules:
        - { id: dyn, when: 'context.flag', outcome: deny }
    `);
    const v = evaluatePolicy(policy, { change: makeChange({ context: { flag: 'yes' } }) });
    expect(v.outcome).toBe('hold');
    expect(v.rules[0]!.error).toContain('not a bool');
  });

  it('assumes the tier whose expression fails, and applies the failure outcome', () => {
    const policy = policyFrom(`
      apiVersion: warden/v1
      tenant: acme
      tiers:
        - { name: privileged, when: 'context.isAdmin' }
      rules: []
    `);
    const v = evaluatePolicy(policy, { change: makeChange() });
    expect([v.tier, v.outcome]).toEqual(['privileged', 'hold']);
    expect(v.rules[0]!.id).toBe('tier:privileged');
  });

  it('classifies the target with the first tier that matches, standard otherwise', () => {
    const policy = examplePolicy();
    const tier = (target: NonNullable<Parameters<typeof makeChange>[0]>['target']) => evaluatePolicy(policy, { change: makeChange({ target }) }).tier;
    expect(tier({ id: 'a', adminRoles: ['SUPER_ADMIN'], flags: { executive: true } })).toBe('privileged');
    expect(tier({ id: 'a', groups: ['Executives'], employeeType: 'contractor' })).toBe('executive');
    expect(tier({ id: 'a', employeeType: 'contractor' })).toBe('contractor');
    expect(tier({ id: 'a' })).toBe('standard');
  });

  it('carries monitor mode into the verdict', () => {
    const policy = policyFrom(`
      apiVersion: warden/v1
      tenant: acme
      mode: monitor
      rules:
        - { id: r, when: 'true', outcome: deny }
    `);
    expect(evaluatePolicy(policy, { change: makeChange() })).toMatchObject({ outcome: 'deny', mode: 'monitor' });
  });

  it('exposes now, request and actor to expressions', () => {
    const policy = policyFrom(`
      apiVersion: warden/v1
      tenant: acme
      rules:
        - id: recent-phone
          when: 'has(context.phoneChangedAt) && now - timestamp(context.phoneChangedAt) < duration("24h")'
          outcome: hold
        - id: from-service
          when: 'actor.type == "service" && !has(request.id)'
          outcome: deny
    `);
    const now = new Date('2026-01-05T10:00:00Z');
    const recent = makeChange({ context: { phoneChangedAt: '2026-01-05T02:00:00Z' } });
    expect(evaluatePolicy(policy, { change: recent, now }).outcome).toBe('hold');
    expect(evaluatePolicy(policy, { change: recent, now: new Date('2026-01-07T10:00:00Z') }).outcome).toBe('allow');
    expect(evaluatePolicy(policy, { change: makeChange({ actor: { id: 'svc', type: 'service' } }), now }).outcome).toBe('deny');
  });
});

/** Every rule evaluated, no index: what the index must never change. */
function bruteForce(policy: CompiledPolicy, change: ReturnType<typeof makeChange>) {
  const activation = activationFor({ change });
  const { tier, error } = classify(policy, activation);
  activation.target.tier = tier;
  const results: RuleResult[] = [];
  if (error) results.push({ id: `tier:${error.tier}`, outcome: policy.failure, reason: '', obligations: { actions: [], notify: [] }, error: error.message });
  for (const rule of policy.rules) {
    const r = judgeRule(policy, rule, runExpression(rule.when, activation), { change });
    if (r) results.push(r);
  }
  return combine(policy, tier, results);
}

describe('rule index', () => {
  it('gives the same verdict as evaluating every rule, for every kind and channel', () => {
    const policy = examplePolicy();
    let seed = 42;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    let compared = 0;
    for (const kind of CHANGE_KINDS)
      for (const channel of CHANNELS)
        for (let i = 0; i < 4; i++) {
          const change = makeChange({
            kind,
            channel,
            factor: { type: pick(FACTOR_TYPES) },
            target: {
              id: `u${i}`,
              adminRoles: rnd() < 0.2 ? ['ORG_ADMIN'] : [],
              groups: rnd() < 0.2 ? ['Executives'] : [],
              employeeType: rnd() < 0.2 ? 'contractor' : 'employee',
              flags: { shared: rnd() < 0.1, serviceAccount: rnd() < 0.1, breakGlass: rnd() < 0.05 },
            },
            context: rnd() < 0.5 ? { newDevice: rnd() < 0.5, ipReputation: pick(['trusted', 'unknown', 'suspicious', 'malicious'] as const) } : {},
          });
          const indexed = evaluatePolicy(policy, { change });
          const brute = bruteForce(policy, change);
          expect({ outcome: indexed.outcome, rules: indexed.rules.map((r) => r.id) }).toEqual({ outcome: brute.outcome, rules: brute.rules.map((r) => r.id) });
          compared++;
        }
    expect(compared).toBe(CHANGE_KINDS.length * CHANNELS.length * 4);
  });
});

describe('explainPolicy', () => {
  it('accounts for every rule and agrees with evaluatePolicy', () => {
    const policy = examplePolicy();
    const change = makeChange({ kind: 'factor.reset_all', channel: 'helpdesk' });
    const e = explainPolicy(policy, { change });
    expect(e.rules.map((r) => r.id)).toEqual(policy.rules.map((r) => r.id));
    expect(e.verdict.outcome).toBe(evaluatePolicy(policy, { change }).outcome);
    const byId = Object.fromEntries(e.rules.map((r) => [r.id, r]));
    expect(byId['assisted-reset-standard']).toMatchObject({ status: 'matched' });
    expect(byId['assisted-reset-privileged']).toMatchObject({ status: 'not_matched' });
    expect(byId['assisted-reset-privileged']!.why).toContain('target.tier in ["privileged", "executive"]');
    expect(byId['mfa-bypass']).toMatchObject({ status: 'skipped' });
    expect(byId['mfa-bypass']!.why).toContain('only matches mfa.bypass');
    expect(e.tierWhy).toContain('standard');
  });

  it('reports a rule that errs', () => {
    const policy = policyFrom(`
      apiVersion: warden/v1
      tenant: acme
      rules:
        - { id: r, when: 'context.score > 1', outcome: deny }
    `);
    const e = explainPolicy(policy, { change: makeChange() });
    expect(e.rules[0]).toMatchObject({ status: 'error' });
    expect(e.verdict.outcome).toBe('hold');
  });
});
