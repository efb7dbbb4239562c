import { describe, expect, it } from 'vitest';
import { isWardenError } from '../errors.js';
import { compilePolicy, type PolicyIssue } from './compile-policy.js';
import { dedent, examplePolicy } from '../../../test/helpers/policies.js';

/** The lines of a policy file after a three-line header (apiVersion, tenant, mode): the first given line is line 4. */
const policyText = (...lines: string[]) => ['apiVersion: warden/v1', 'tenant: acme', 'mode: enforce', ...lines].join('\n') + '\n';

/** Compiles and returns the issues of a policy that must be refused. */
function issuesOf(text: string): PolicyIssue[] {
  try {
    compilePolicy({ file: 'policies/t.yaml', text });
  } catch (err) {
    if (isWardenError(err, 'ERR_POLICY_INVALID')) return (err.details as { issues: PolicyIssue[] }).issues;
    throw err;
  }
  throw new Error('the policy was accepted');
}

describe('compilePolicy', () => {
  it('compiles the example policy with a content-hash version', () => {
    const policy = examplePolicy();
    expect(policy.tenant).toBe('acme');
    expect(policy.mode).toBe('enforce');
    expect(policy.version).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(policy.rules.length).toBeGreaterThanOrEqual(10);
    expect(policy.tiers.map((t) => t.name)).toEqual(['privileged', 'executive', 'service', 'shared', 'contractor']);
  });

  it('gives the same text the same version and a changed text another', () => {
    const text = policyText('rules: []');
    const a = compilePolicy({ file: 'a.yaml', text });
    expect(compilePolicy({ file: 'b.yaml', text }).version).toBe(a.version);
    expect(compilePolicy({ file: 'a.yaml', text: text + '# comment\n' }).version).not.toBe(a.version);
  });

  it('defaults mode to monitor, default to allow and failure to hold', () => {
    const policy = compilePolicy({ file: 'p.yaml', text: 'apiVersion: warden/v1\ntenant: acme\nrules: []\n' });
    expect([policy.mode, policy.default, policy.failure]).toEqual(['monitor', 'allow', 'hold']);
  });

  it('indexes rules by the kinds and channels they pin down', () => {
    const policy = compilePolicy({
      file: 'p.yaml',
      text: dedent(`
        apiVersion: warden/v1
        tenant: acme
        rules:
          - { id: a, when: 'change.kind == "password.reset" && change.channel in ["helpdesk", "admin"]', outcome: hold }
          - { id: b, when: 'change.kind.startsWith("factor.")', outcome: hold }
          - { id: c, when: 'target.flags.shared', outcome: deny }
      `),
    });
    const ids = (kind: Parameters<typeof policy.candidates>[0], channel: Parameters<typeof policy.candidates>[1]) =>
      policy.candidates(kind, channel).map((r) => r.id);
    expect(ids('password.reset', 'helpdesk')).toEqual(['a', 'c']);
    expect(ids('password.reset', 'self_service')).toEqual(['c']);
    expect(ids('factor.enroll', 'self_service')).toEqual(['b', 'c']);
    expect(ids('mailbox.rule', 'system')).toEqual(['c']);
  });

  describe('refuses a bad policy with file:line:column and the rule id', () => {
    it('YAML that does not parse', () => {
      const [issue] = issuesOf(policyText('rules:', '  - id: a', "    when: 'true'", '   outcome: hold'));
      expect(issue).toMatchObject({ file: 'policies/t.yaml', kind: 'yaml', line: 7 });
      expect(issue!.message).toMatch(/^YAML: /);
    });

    it('a key repeated in a mapping', () => {
      const [issue] = issuesOf(policyText('rules: []', 'rules: []'));
      expect(issue).toMatchObject({ kind: 'yaml', line: 5, column: 1 });
    });

    it('a missing required key', () => {
      const [issue] = issuesOf('apiVersion: warden/v1\ntenant: acme\n');
      expect(issue).toMatchObject({ kind: 'schema', path: 'rules', line: 1, column: 1 });
    });

    it('a wrong value, located at the value and naming the rule', () => {
      const issues = issuesOf(policyText('rules:', '  - id: helpdesk-reset', "    when: 'true'", '    outcome: block'));
      expect(issues).toHaveLength(1);
      expect(issues[0]).toMatchObject({ kind: 'schema', path: 'rules[0].outcome', ruleId: 'helpdesk-reset', line: 7, column: 14 });
      expect(issues[0]!.sourceLine).toBe('    outcome: block');
    });

    it('an unknown key in a rule', () => {
      const [issue] = issuesOf(policyText('rules:', '  - id: r1', "    when: 'true'", '    outcome: hold', '    onhold: [hold_group]'));
      expect(issue).toMatchObject({ kind: 'schema', ruleId: 'r1', line: 8 });
      expect(issue!.message).toContain('"onhold"');
    });

    it('a rule with neither require nor outcome', () => {
      const [issue] = issuesOf(policyText('rules:', '  - id: r1', "    when: 'true'"));
      expect(issue!.message).toContain('needs `require`');
      expect(issue).toMatchObject({ ruleId: 'r1', line: 6, column: 11 });
    });

    it('a CEL syntax error, at the offending character of a quoted expression', () => {
      const [issue] = issuesOf(policyText('rules:', '  - id: broken', `    when: 'change.kind == "password.reset" &&'`, '    outcome: hold'));
      expect(issue).toMatchObject({ kind: 'cel', ruleId: 'broken', path: 'rules[0].when', line: 6 });
      // The expression starts at column 12 (after the quote); the parser stops at its end, offset 34.
      expect(issue!.column).toBe(12 + 34);
      expect(issue!.message).toContain('CEL syntax error');
    });

    it('a CEL syntax error inside a literal block, on its own line', () => {
      const [issue] = issuesOf(
        policyText(
          'rules:',
          '  - id: block',
          '    when: |',
          '      change.kind == "password.reset"',
          '      && target.groups.exists(g, g ==)',
          '    outcome: hold',
        ),
      );
      expect(issue).toMatchObject({ kind: 'cel', ruleId: 'block', line: 8 });
      expect(issue!.column).toBeGreaterThan(7);
      expect(issue!.sourceLine).toContain('g ==)');
    });

    it('an unknown variable, listing the known ones', () => {
      const [issue] = issuesOf(policyText('rules:', '  - id: r', "    when: 'user.admin'", '    outcome: hold'));
      expect(issue).toMatchObject({ kind: 'cel', ruleId: 'r', line: 6, column: 12 });
      expect(issue!.message).toMatch(/Unknown variable: user .*change, target, actor, context, request, now/);
    });

    it('an unknown field of a typed variable', () => {
      const [issue] = issuesOf(policyText('rules:', '  - id: r', `    when: 'change.knd == "factor.enroll"'`, '    outcome: hold'));
      expect(issue).toMatchObject({ kind: 'cel', ruleId: 'r', line: 6 });
      expect(issue!.message).toContain('knd');
    });

    it('an expression that is not a bool', () => {
      const [issue] = issuesOf(policyText('rules:', '  - id: r', "    when: 'target.groups.size()'", '    outcome: hold'));
      expect(issue!.message).toContain('must be a bool');
    });

    it('a literal no change can carry (a typo in a kind, channel or tier)', () => {
      const issues = issuesOf(
        policyText(
          'rules:',
          '  - id: r',
          `    when: 'change.kind in ["factor.reset_all", "factor.rest_all"] && target.tier == "priviledged"'`,
          '    outcome: hold',
        ),
      );
      expect(issues.map((i) => [i.kind, i.line])).toEqual([
        ['literal', 6],
        ['literal', 6],
      ]);
      // The list literal starts at offset 15 of the expression, the tier literal at 73.
      expect(issues.map((i) => i.column)).toEqual([12 + 15, 12 + 73]);
      expect(issues.map((i) => i.message).join('\n')).toMatch(/unknown change.kind "factor.rest_all"[\s\S]*unknown target.tier "priviledged"/);
    });

    it('a duplicate rule id, at the second one, naming the first line', () => {
      const [issue] = issuesOf(
        policyText('rules:', '  - id: same', "    when: 'true'", '    outcome: hold', '  - id: same', "    when: 'false'", '    outcome: deny'),
      );
      expect(issue).toMatchObject({ kind: 'duplicate', ruleId: 'same', line: 8, column: 9 });
      expect(issue!.message).toContain('first defined at line 5');
    });

    it('every problem at once, in file order', () => {
      const issues = issuesOf(
        policyText(
          'tiers:',
          `  - { name: executive, when: '"Executives" in target.groupz' }`,
          'rules:',
          '  - id: a',
          "    when: 'change.kind =='",
          '    outcome: hold',
          '  - id: b',
          "    when: 'nope'",
          '    outcome: hold',
        ),
      );
      expect(issues.map((i) => i.line)).toEqual([5, 8, 11]);
      expect(issues.map((i) => i.ruleId)).toEqual([undefined, 'a', 'b']);
    });
  });
});

describe('policy check messages a new user can act on', () => {
  const rule = (...extra: string[]) => policyText('rules:', '  - id: r1', '    when: change.kind == "factor.reset_all"', '    outcome: hold', ...extra);

  it('lists the valid actions for a typo in onHold, and suggests the closest', () => {
    const [issue] = issuesOf(rule('    onHold: [hold_group, revoke_session]'));
    expect(issue).toMatchObject({ line: 8, path: 'rules[0].onHold[1]' });
    expect(issue!.message).toContain('unknown action "revoke_session"; did you mean "revoke_sessions"?');
    expect(issue!.message).toContain('Actions: hold_group, revoke_sessions, remove_new_factor');
    expect(issue!.message).toContain('or notify:<channel>');
    expect(issuesOf(rule('    onHold: ["notify:Bad Channel"]'))[0]!.message).toContain('notify entries look like notify:<channel>');
  });

  it('suggests the key meant for an unknown key', () => {
    const [issue] = issuesOf(rule('    requrie: { request: approved }'));
    expect(issue!.message).toMatch(/unknown key "requrie"; did you mean "require"\?/);
    expect(issue).toMatchObject({ line: 8, path: 'rules[0]' });
    expect(issuesOf(rule('    zzzzzz: 1'))[0]!.message).not.toContain('did you mean');
  });

  it('points a CEL error inside a folded >- block at its column in the expression', () => {
    const text = policyText(
      'rules:',
      '  - id: r1',
      '    when: >-',
      '      change.channel == "helpdesk"',
      '      && change.kindd == "factor.reset_all"',
      '    outcome: hold',
    );
    const [issue] = issuesOf(text);
    expect(issue!.message).toContain('kindd');
    expect(issue).toMatchObject({ line: 8, column: 17 });
    expect(issue!.sourceLine!.slice(issue!.column - 1)).toMatch(/^kindd/);
  });
});
