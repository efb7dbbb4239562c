import { describe, expect, it } from 'vitest';
import { evaluationEnvironment } from './cel-environment.js';
import { conjuncts, indexConstraints, lintLiterals } from './analyze-expression.js';

const ast = (source: string) => evaluationEnvironment().parse(source).ast;
const index = (source: string) => {
  const c = indexConstraints(ast(source));
  return { kinds: c.kinds ? [...c.kinds].sort() : undefined, channels: c.channels ? [...c.channels].sort() : undefined };
};

describe('indexConstraints', () => {
  it('reads ==, in and startsWith on change.kind and change.channel', () => {
    expect(index('change.kind == "password.reset"')).toEqual({ kinds: ['password.reset'], channels: undefined });
    expect(index('"helpdesk" == change.channel')).toEqual({ kinds: undefined, channels: ['helpdesk'] });
    expect(index('change.kind in ["tap.issue", "password.reset"] && change.channel in ["admin"]')).toEqual({
      kinds: ['password.reset', 'tap.issue'],
      channels: ['admin'],
    });
    expect(index('change.kind.startsWith("password.")').kinds).toEqual(['password.change', 'password.expire', 'password.reset']);
  });

  it('intersects conjuncts and unites disjuncts that both constrain', () => {
    expect(index('change.kind.startsWith("factor.") && change.kind != "factor.update" && change.kind in ["factor.enroll", "tap.issue"]').kinds).toEqual([
      'factor.enroll',
    ]);
    expect(index('change.kind == "mfa.bypass" || change.kind == "support.access"').kinds).toEqual(['mfa.bypass', 'support.access']);
  });

  it('does not constrain what it cannot prove', () => {
    expect(index('change.kind == "mfa.bypass" || target.flags.shared')).toEqual({ kinds: undefined, channels: undefined });
    expect(index('change.kind != "mfa.bypass"')).toEqual({ kinds: undefined, channels: undefined });
    expect(index('!(change.kind == "mfa.bypass")')).toEqual({ kinds: undefined, channels: undefined });
    expect(index('change.kind == context.kind')).toEqual({ kinds: undefined, channels: undefined });
  });

  it('splits top-level conjunctions', () => {
    expect(conjuncts(ast('a && (b || c) && d')).length).toBe(3);
  });
});

describe('lintLiterals', () => {
  it('flags literals no change can carry', () => {
    const problems = lintLiterals(ast('change.channel == "help_desk" || change.factor.type in ["sms", "yubikey"] || change.kind.startsWith("mfa_")'));
    expect(problems.map((p) => p.message.split(' (')[0])).toEqual([
      'unknown change.channel "help_desk"',
      'unknown change.factor.type "yubikey"',
      'no change.kind starts with "mfa_"',
    ]);
  });

  it('accepts known values and leaves open fields alone', () => {
    expect(lintLiterals(ast('change.kind != "factor.enroll" && target.tier == "executive" && "anything" in target.groups && context.x == "y"'))).toEqual([]);
  });
});
