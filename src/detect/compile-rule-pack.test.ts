import { describe, expect, it } from 'vitest';
import { isWardenError } from '../core/errors.js';
import type { PolicyIssue } from '../core/policy/compile-policy.js';
import { compileRulePack, type RuleSource } from './compile-rule-pack.js';
import { shippedRuleSources } from './rule-sources.js';
import { CHANGE_KINDS, CHANNELS } from '../core/identity-change.js';

const HEAD = 'apiVersion: warden/v1\nkind: DetectionRules\nrules:\n';
const RULE = `  - id: pair
    title: Pair
    severity: high
    type: sequence
    window: 1h
    steps:
      - { name: enroll, when: 'change.kind == "factor.enroll"' }
      - { name: reset, when: 'change.kind == "password.reset"' }
    intent: test
    falsePositives: none
    attack: [{ id: T1098, name: Account Manipulation }]
`;

function issuesOf(base: RuleSource[], overrides: RuleSource[] = []): PolicyIssue[] {
  try {
    compileRulePack(base, overrides);
  } catch (err) {
    if (isWardenError(err, 'ERR_RULES_INVALID')) return (err.details as { issues: PolicyIssue[] }).issues;
    throw err;
  }
  throw new Error('expected the rules to be refused');
}

describe('the shipped rule pack', () => {
  it('compiles, and every rule documents intent, false positives and ATT&CK techniques', () => {
    const pack = compileRulePack(shippedRuleSources());
    expect(pack.rules.map((r) => r.id).sort()).toEqual([
      'assisted-reset-privileged-target',
      'assisted-reset-without-request',
      'enrollment-after-recovery-change',
      'factor-change-and-password-reset',
      'factor-removed-not-reenrolled',
      'helpdesk-takeover-chain',
      'mass-reset-by-one-actor',
      'mfa-bypass-attempt',
      'mfa-push-fatigue',
      'new-credential-then-mailbox-rule',
      'privileged-app-credential',
      'tap-outside-request',
      'vendor-support-access',
    ]);
    for (const rule of pack.rules) {
      expect(rule.intent.length, rule.id).toBeGreaterThan(80);
      expect(rule.falsePositives.length, rule.id).toBeGreaterThan(60);
      expect(rule.attack.length, rule.id).toBeGreaterThan(0);
    }
    expect(pack.version).toMatch(/^sha256:[0-9a-f]{16}$/);
  });

  it('indexes steps by change kind: only rules that can match a kind are candidates', () => {
    const pack = compileRulePack(shippedRuleSources());
    expect(new Set(pack.candidates('mailbox.rule').map((c) => c.rule.id))).toEqual(
      new Set(['helpdesk-takeover-chain', 'new-credential-then-mailbox-rule', 'vendor-support-access']),
    );
    expect(pack.candidates('account.unlock').map((c) => c.rule.id)).toEqual(['vendor-support-access']);
  });
});

describe('tenant overrides', () => {
  const base = [{ file: 'shipped.yaml', text: HEAD + RULE }];

  it('merge over a shipped rule key by key', () => {
    const pack = compileRulePack(base, [{ file: 'acme.yaml', text: HEAD + '  - { id: pair, window: 2h, severity: critical }\n' }]);
    expect(pack.rules[0]).toMatchObject({ id: 'pair', windowMs: 2 * 3600_000, severity: 'critical', title: 'Pair' });
  });

  it('turn a shipped rule off', () => {
    const pack = compileRulePack(base, [{ file: 'acme.yaml', text: HEAD + '  - { id: pair, enabled: false }\n' }]);
    expect(pack.rules).toEqual([]);
    expect(pack.disabled).toEqual(['pair']);
  });

  it('add new rules', () => {
    const pack = compileRulePack(base, [{ file: 'acme.yaml', text: HEAD + RULE.replace('id: pair', 'id: pair-2') }]);
    expect(pack.rules.map((r) => r.id)).toEqual(['pair', 'pair-2']);
  });

  it('keep state-relevant identity: editing prose keeps the rule hash, editing the window changes it', () => {
    const original = compileRulePack(base).rules[0]!.hash;
    expect(compileRulePack(base, [{ file: 'a.yaml', text: HEAD + '  - { id: pair, intent: other words }\n' }]).rules[0]!.hash).toBe(original);
    expect(compileRulePack(base, [{ file: 'a.yaml', text: HEAD + '  - { id: pair, window: 2h }\n' }]).rules[0]!.hash).not.toBe(original);
  });
});

describe('refused rule files name file, line and column', () => {
  it('a CEL syntax error, in the file that wrote the expression', () => {
    const [issue] = issuesOf(
      [{ file: 'shipped.yaml', text: HEAD + RULE }],
      [{ file: 'acme.yaml', text: HEAD + "  - id: pair\n    steps:\n      - { name: a, when: 'change.kind ==' }\n      - { name: b, when: 'true' }\n" }],
    );
    expect(issue).toMatchObject({ file: 'acme.yaml', line: 6, kind: 'cel', ruleId: 'pair' });
    expect(issue!.message).toMatch(/^steps\[0\]\.when: CEL syntax error/);
  });

  it('an unknown field and an unknown change kind', () => {
    const issues = issuesOf([
      {
        file: 'r.yaml',
        text: HEAD + RULE.replace('change.kind == "password.reset"', 'change.knd == "password.reset"').replace('"factor.enroll"', '"factor.enrol"'),
      },
    ]);
    expect(issues.map((i) => [i.line, i.kind])).toEqual([
      [10, 'literal'],
      [11, 'cel'],
    ]);
    expect(issues[0]!.message).toContain('unknown change.kind "factor.enrol"');
  });

  it('a schema problem: missing ATT&CK, bad duration, threshold without window', () => {
    const issues = issuesOf([
      {
        file: 'r.yaml',
        text:
          HEAD +
          RULE.replace('    attack: [{ id: T1098, name: Account Manipulation }]\n', '').replace('window: 1h', 'window: an hour') +
          "  - { id: t, title: T, severity: low, type: threshold, count: 3, when: 'true', intent: i, falsePositives: f, attack: [{ id: T1098, name: A }] }\n",
      },
    ]);
    expect(issues.map((i) => `${i.ruleId} ${i.path}: ${i.message}`)).toEqual([
      expect.stringMatching(/^pair rules\[0\]\.attack: attack: Invalid input: expected array/),
      expect.stringMatching(/^pair rules\[0\]\.window: window: a duration/),
      expect.stringMatching(/^t rules\[1\]\.window: window: a threshold above 1 needs a `window`/),
    ]);
  });

  it('a rule id used twice, and a key expression that is a bool', () => {
    const issues = issuesOf([{ file: 'r.yaml', text: HEAD + RULE + RULE.replace('type: sequence', 'type: sequence\n    by: \'change.kind == "x"\'') }]);
    expect(issues.map((i) => i.kind)).toEqual(['duplicate']);
    const keyIssues = issuesOf([{ file: 'r.yaml', text: HEAD + RULE.replace('type: sequence', 'type: sequence\n    by: \'actor.ip == "1.2.3.4"\'') }]);
    expect(keyIssues[0]!.message).toContain('a key expression must give a string or a number, but it gives bool');
  });
});

describe('steps the index decides', () => {
  const stepOf = (when: string) =>
    compileRulePack([{ file: 'r.yaml', text: HEAD + RULE.replace(`'change.kind == "factor.enroll"'`, `'${when}'`) }]).rules[0]!.steps[0]!;

  it('are the conjunctions of change.kind and change.channel compared with literals, and nothing else', () => {
    const decided = [
      'change.kind == "factor.enroll"',
      '"factor.enroll" == change.kind',
      'change.kind in ["factor.enroll", "password.reset"] && change.channel == "helpdesk"',
      'change.channel in ["helpdesk", "admin"]',
      '(change.kind == "factor.enroll" && change.channel == "helpdesk") && change.channel in ["helpdesk", "admin"]',
    ];
    const notDecided = [
      'change.kind == "factor.enroll" || change.kind == "password.reset"',
      'change.kind != "factor.enroll"',
      '!(change.kind == "factor.enroll")',
      'change.kind == "factor.enroll" && target.adminRoles.size() > 0',
      'change.kind.startsWith("factor.")',
      'change.factor.type == "push"',
      'true',
    ];
    for (const when of decided) expect(stepOf(when).decided, when).toBe(true);
    for (const when of notDecided) expect(stepOf(when).decided, when).toBe(false);
  });

  it('are true exactly for the kinds and channels of the index (checked against CEL for every pair)', () => {
    const pack = compileRulePack(shippedRuleSources());
    const steps = [
      ...pack.rules.flatMap((r) => r.steps),
      stepOf('change.kind in ["factor.enroll", "tap.issue"] && change.channel in ["helpdesk", "admin"] && change.kind == "tap.issue"'),
    ].filter((s) => s.decided);
    expect(steps.length).toBeGreaterThan(10);
    for (const step of steps)
      for (const kind of CHANGE_KINDS)
        for (const channel of CHANNELS) {
          const byIndex = (!step.kinds || step.kinds.has(kind)) && (!step.channels || step.channels.has(channel));
          const value: unknown = step.when.evaluate({ change: { kind, channel } });
          expect(value, `${step.when.source} for ${kind} via ${channel}`).toBe(byIndex);
        }
  });
});
