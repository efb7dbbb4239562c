import type { RuleResult } from '../decision.js';
import { conjuncts } from './analyze-expression.js';
import { evaluationEnvironment } from './cel-environment.js';
import type { CompiledExpression, CompiledPolicy, CompiledRule } from './compile-policy.js';
import { activationFor, classify, combine, judgeRule, runExpression, type EvaluationInput, type ExpressionResult, type Verdict } from './evaluate-policy.js';

/** What happened to one rule of the policy for one change. */
export interface RuleExplanation {
  id: string;
  line: number;
  column: number;
  /** matched: the rule applies; not_matched: `when` is false; skipped: the rule cannot match this kind/channel; error: `when` failed. */
  status: 'matched' | 'not_matched' | 'skipped' | 'error';
  why: string;
  result?: RuleResult;
}

export interface Explanation {
  verdict: Verdict;
  tierWhy: string;
  rules: RuleExplanation[];
}

const conjunctCache = new WeakMap<CompiledExpression, CompiledExpression[]>();

/** The top-level `&&` parts of an expression, compiled on their own so each can be reported. */
function conjunctExpressions(expr: CompiledExpression): CompiledExpression[] {
  let parts = conjunctCache.get(expr);
  if (!parts) {
    parts = conjuncts(expr.ast).map((node) => {
      const source = expr.source.slice(node.range.start, node.range.end);
      const evaluate = evaluationEnvironment().parse(source);
      return { source, evaluate, ast: evaluate.ast, position: expr.position };
    });
    conjunctCache.set(expr, parts);
  }
  return parts;
}

function whyNotMatched(rule: CompiledRule, activation: ReturnType<typeof activationFor>): string {
  const parts = conjunctExpressions(rule.when);
  if (parts.length > 1) {
    for (const part of parts) {
      const r: ExpressionResult = runExpression(part, activation);
      if (r.ok && !r.value) return `\`${part.source}\` is false`;
    }
  }
  return `\`${rule.when.source}\` is false`;
}

/**
 * Evaluates every rule of the policy, not only the candidates, and says for
 * each whether it matched and why. Slower than `evaluatePolicy`; for people
 * (`warden policy explain`), not for the hot path. The verdict is the same.
 */
export function explainPolicy(policy: CompiledPolicy, input: EvaluationInput): Explanation {
  const activation = activationFor(input);
  const { tier, error } = classify(policy, activation);
  activation.target.tier = tier;
  const tierWhy = error
    ? `tier "${error.tier}" could not be evaluated: ${error.message}`
    : policy.tiers.find((t) => t.name === tier)
      ? `first tier whose expression is true: \`${policy.tiers.find((t) => t.name === tier)!.when.source}\``
      : 'no tier expression is true; standard by default';

  const candidates = new Set(policy.candidates(input.change.kind, input.change.channel));
  const results: RuleResult[] = [];
  if (error)
    results.push({
      id: `tier:${error.tier}`,
      outcome: policy.failure,
      reason: `tier "${error.tier}" could not be evaluated (${error.message}); the policy failure outcome "${policy.failure}" applies`,
      obligations: { actions: [], notify: [] },
      error: error.message,
    });

  const rules: RuleExplanation[] = policy.rules.map((rule) => {
    const where = { id: rule.id, line: rule.when.position.line, column: rule.when.position.column };
    if (!candidates.has(rule)) {
      const reasons: string[] = [];
      if (rule.kinds && !rule.kinds.has(input.change.kind))
        reasons.push(`change.kind is ${input.change.kind}; the rule only matches ${[...rule.kinds].join(', ')}`);
      if (rule.channels && !rule.channels.has(input.change.channel))
        reasons.push(`change.channel is ${input.change.channel}; the rule only matches ${[...rule.channels].join(', ')}`);
      return { ...where, status: 'skipped', why: reasons.join('; ') };
    }
    const matched = runExpression(rule.when, activation);
    const result = judgeRule(policy, rule, matched, input);
    if (!matched.ok) {
      results.push(result!);
      return { ...where, status: 'error', why: matched.error, result };
    }
    if (!result) return { ...where, status: 'not_matched', why: whyNotMatched(rule, activation) };
    results.push(result);
    return { ...where, status: 'matched', why: result.reason, result };
  });

  return { verdict: combine(policy, tier, results), tierWhy, rules };
}
