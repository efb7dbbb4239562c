import { systemClock } from '../clock.js';
import type { RequestSnapshot } from '../change-request.js';
import { stricterOutcome, type Obligations, type Outcome, type PolicyMode, type RuleResult } from '../decision.js';
import type { IdentityChange } from '../identity-change.js';
import { applicableException, type PolicyException } from '../policy-exception.js';
import { strongerProofing } from '../proofing.js';
import { FALLBACK_TIER, type Tier } from '../tiers.js';
import { checkRequirements, type RequirementOptions } from './check-requirements.js';
import type { CompiledExpression, CompiledPolicy, CompiledRequirement, CompiledRule } from './compile-policy.js';

/** What a policy is evaluated on. */
export interface EvaluationInput {
  change: IdentityChange;
  /** The change request the workflow matched to this change, if any. */
  request?: RequestSnapshot;
  /**
   * Policy exceptions in force for the tenant (the workflow passes those of
   * the change's target): a matched rule with an applicable exception is not
   * applied, and its result names the exception.
   */
  exceptions?: readonly PolicyException[];
  /** Evaluation time, the CEL variable `now` (default: the current time). */
  now?: Date;
  /**
   * Judging whether `request`, approved after the change was held, releases
   * that hold: proofing and approvals given up to this time count (see
   * `RequirementOptions` in check-requirements.ts). Not for deciding changes.
   */
  releaseAt?: Date;
}

/** The policy's answer for one change: a decision without ids and timestamps. */
export interface Verdict {
  outcome: Outcome;
  mode: PolicyMode;
  tier: Tier;
  rules: RuleResult[];
  obligations: Obligations;
  defaulted: boolean;
  policyVersion: string;
}

type Activation = {
  change: IdentityChange;
  target: Record<string, unknown>;
  actor: IdentityChange['actor'];
  context: IdentityChange['context'];
  request: RequestSnapshot | Record<string, never>;
  now: Date;
};

const EMPTY_REQUEST: Record<string, never> = Object.freeze({}) as Record<string, never>;
/** Requirement options of an ordinary decision: one object, not one per rule checked. */
const NO_OPTIONS: RequirementOptions = Object.freeze({});

/** Result of running one compiled expression: true, false, or why it could not be evaluated. */
export type ExpressionResult = { ok: true; value: boolean } | { ok: false; error: string };

const TRUE: ExpressionResult = Object.freeze({ ok: true, value: true });
const FALSE: ExpressionResult = Object.freeze({ ok: true, value: false });

/**
 * Runs a compiled expression; errors and non-boolean results are reported,
 * never thrown. The native form answers when it is certain of CEL's result;
 * the CEL interpreter answers otherwise (and gives the error messages).
 */
export function runExpression(expr: CompiledExpression, activation: Activation): ExpressionResult {
  const value = expr.native?.(activation);
  return value === undefined ? interpret(expr, activation) : value ? TRUE : FALSE;
}

/** Runs an expression through the CEL interpreter. */
function interpret(expr: CompiledExpression, activation: Activation): ExpressionResult {
  try {
    const value: unknown = expr.evaluate(activation);
    if (typeof value === 'boolean') return { ok: true, value };
    return { ok: false, error: `expression returned ${value === null ? 'null' : typeof value}, not a bool` };
  } catch (err) {
    const e = err as { summary?: string; message?: string };
    return { ok: false, error: e.summary ?? e.message?.split('\n')[0] ?? String(err) };
  }
}

/** Builds the CEL variables for a change; `target.tier` is filled in by `classify`. */
export function activationFor(input: EvaluationInput): Activation {
  const { change } = input;
  return {
    change,
    target: Object.assign({}, change.target) as Record<string, unknown>,
    actor: change.actor,
    context: change.context,
    request: input.request ?? EMPTY_REQUEST,
    now: input.now ?? systemClock(),
  };
}

/**
 * Assigns the target's tier: the first tier whose expression is true. A tier
 * expression that cannot be evaluated assigns that tier (assume the worst) and
 * is reported so the decision takes the policy's failure outcome.
 */
export function classify(policy: CompiledPolicy, activation: Activation): { tier: Tier; error?: { tier: Tier; message: string } } {
  for (const tier of policy.tiers) {
    const result = runExpression(tier.when, activation);
    if (!result.ok) return { tier: tier.name, error: { tier: tier.name, message: result.error } };
    if (result.value) return { tier: tier.name };
  }
  return { tier: FALLBACK_TIER };
}

function actionsFor(rule: CompiledRule, outcome: Outcome): Pick<Obligations, 'actions' | 'notify'> {
  if (outcome === 'deny') return { actions: rule.onDeny.actions, notify: rule.onDeny.notify };
  if (outcome === 'hold') return { actions: rule.onHold.actions, notify: rule.onHold.notify };
  return { actions: [], notify: [] };
}

/**
 * A rule's requirements as obligations, followed by `actions` and `notify`
 * (in that key order). Built by assignment rather than object spread: this
 * runs for every matched rule with `require`.
 */
function obligationsOf(req: CompiledRequirement | undefined, actions: Pick<Obligations, 'actions' | 'notify'>): Obligations {
  const o: Partial<Obligations> = {};
  if (req) {
    o.request = req.request;
    if (req.proofing) o.proofing = req.proofing;
    if (req.ticket) o.ticket = req.ticket;
    if (req.approvals) o.approvals = req.approvals;
    if (req.ttlSeconds !== undefined) o.ttlSeconds = req.ttlSeconds;
  }
  o.actions = actions.actions;
  o.notify = actions.notify;
  return o as Obligations;
}

/** The result of one rule that matched (or failed to evaluate). */
export function judgeRule(policy: CompiledPolicy, rule: CompiledRule, matched: ExpressionResult, input: EvaluationInput): RuleResult | undefined {
  if (!matched.ok) {
    const outcome = policy.failure;
    return {
      id: rule.id,
      outcome,
      reason: `could not be evaluated (${matched.error}); the policy failure outcome "${outcome}" applies`,
      obligations: obligationsOf(rule.require, actionsFor(rule, outcome)),
      error: matched.error,
    };
  }
  if (!matched.value) return undefined;
  const exception = applicableException(input.exceptions, rule.id, input.change);
  if (exception) {
    return {
      id: rule.id,
      outcome: 'allow',
      reason: `not applied: exception ${exception.id} for ${exception.target} (owner ${exception.owner}, until ${exception.expiresAt}): ${exception.reason}`,
      obligations: { actions: [], notify: [] },
      exceptionId: exception.id,
    };
  }
  if (!rule.require) {
    return {
      id: rule.id,
      outcome: rule.outcome,
      reason: rule.description ?? `matched: ${rule.when.source}`,
      obligations: actionsFor(rule, rule.outcome),
    };
  }
  const check = checkRequirements(rule.require, input.request, input.change, input.releaseAt ? { releaseAt: input.releaseAt.getTime() } : NO_OPTIONS);
  if (check.met) {
    const request = input.request!;
    if (request.breakGlass) {
      return {
        id: rule.id,
        outcome: 'allow',
        reason: `break-glass request ${request.id} (review due): ${request.breakGlass.reason}`,
        obligations: obligationsOf(rule.require, { actions: [], notify: [] }),
        requestId: request.id,
        breakGlass: true,
      };
    }
    return {
      id: rule.id,
      outcome: 'allow',
      reason: input.releaseAt
        ? `requirements met by change request ${request.id}, approved after the change: it releases the hold`
        : `requirements met by change request ${request.id}`,
      obligations: obligationsOf(rule.require, { actions: [], notify: [] }),
      requestId: request.id,
    };
  }
  return {
    id: rule.id,
    outcome: rule.outcome,
    reason: `${rule.description ? rule.description + ': ' : ''}${check.unmet.join('; ')}`,
    obligations: obligationsOf(rule.require, actionsFor(rule, rule.outcome)),
  };
}

/**
 * Combines rule results: the most restrictive outcome wins (deny > hold >
 * allow); with no result the policy default applies. Requirements merge to
 * the strictest of each; actions and notifications come from the rules whose
 * outcome is the final one.
 */
export function combine(policy: CompiledPolicy, tier: Tier, results: RuleResult[]): Verdict {
  if (results.length === 0)
    return {
      outcome: policy.default,
      mode: policy.mode,
      tier,
      rules: [],
      obligations: { actions: [], notify: [] },
      defaulted: true,
      policyVersion: policy.version,
    };
  let outcome: Outcome = 'allow';
  for (const r of results) outcome = stricterOutcome(outcome, r.outcome);
  const obligations: Obligations = { actions: [], notify: [] };
  for (const r of results) {
    const o = r.obligations;
    if (o.request) obligations.request = o.request;
    const proofing = strongerProofing(obligations.proofing, o.proofing);
    if (proofing) obligations.proofing = proofing;
    if (o.ticket && !obligations.ticket) obligations.ticket = o.ticket;
    if (o.approvals && (!obligations.approvals || o.approvals.count > obligations.approvals.count)) obligations.approvals = o.approvals;
    if (o.ttlSeconds !== undefined) obligations.ttlSeconds = Math.min(obligations.ttlSeconds ?? Infinity, o.ttlSeconds);
    if (r.outcome === outcome) {
      for (const a of o.actions) if (!obligations.actions.includes(a)) obligations.actions.push(a);
      for (const n of o.notify) if (!obligations.notify.includes(n)) obligations.notify.push(n);
    }
  }
  return { outcome, mode: policy.mode, tier, rules: results, obligations, defaulted: false, policyVersion: policy.version };
}

/**
 * Evaluates a compiled policy for one change. Never throws for a bad
 * expression: a rule that cannot be evaluated takes the policy's `failure`
 * outcome and says so. Only rules that can match the change's kind and
 * channel are run (see `indexConstraints`).
 *
 * @example
 *   const verdict = evaluatePolicy(policy, { change, request });
 *   verdict.outcome // 'hold'
 */
export function evaluatePolicy(policy: CompiledPolicy, input: EvaluationInput): Verdict {
  const activation = activationFor(input);
  const { tier, error } = classify(policy, activation);
  activation.target.tier = tier;
  const results: RuleResult[] = [];
  if (error) {
    results.push({
      id: `tier:${error.tier}`,
      outcome: policy.failure,
      reason: `tier "${error.tier}" could not be evaluated (${error.message}); the policy failure outcome "${policy.failure}" applies`,
      obligations: { actions: [], notify: [] },
      error: error.message,
    });
  }
  for (const rule of policy.candidates(input.change.kind, input.change.channel)) {
    // Most candidates do not match: skip them before building anything.
    const value = rule.when.native?.(activation);
    if (value === false) continue;
    const result = judgeRule(policy, rule, value === true ? TRUE : interpret(rule.when, activation), input);
    if (result) results.push(result);
  }
  return combine(policy, tier, results);
}
