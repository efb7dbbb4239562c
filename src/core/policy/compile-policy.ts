import { createHash } from 'node:crypto';
import type { ASTNode, ParseResult } from '@marcbachmann/cel-js';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { WardenError } from '../errors.js';
import { CHANGE_KINDS, CHANNELS, type ChangeKind, type Channel } from '../identity-change.js';
import { ACTIONS, type Action, type ApprovalRequirement, type Outcome, type PolicyMode, type TicketRequirement } from '../decision.js';
import type { ProofingLevel } from '../proofing.js';
import type { Tier } from '../tiers.js';
import { compileNative, indexConstraints, lintLiterals, type NativePredicate } from './analyze-expression.js';
import { checkEnvironment, evaluationEnvironment } from './cel-environment.js';
import { parseDuration } from './duration.js';
import { NOTIFY_ENTRY_MESSAGE, PolicyDoc, type PolicyRuleDoc } from './policy-document.js';
import { didYouMean, knownKeysAt } from './did-you-mean.js';
import { SourcePositions, type Position } from '../source-positions.js';

/** One problem found in a policy file, located precisely. */
export interface PolicyIssue {
  file: string;
  line: number;
  column: number;
  message: string;
  /** yaml: not parseable; schema: wrong shape; cel: expression error; duplicate: rule id reused; literal: can never match. */
  kind: 'yaml' | 'schema' | 'cel' | 'duplicate' | 'literal';
  /** Path in the document, e.g. `rules[2].when`. */
  path: string;
  ruleId?: string;
  /** The offending source line, for display. */
  sourceLine?: string;
}

/** `file:line:column: message [rule id]`. */
export function formatPolicyIssue(issue: PolicyIssue): string {
  return `${issue.file}:${issue.line}:${issue.column}: ${issue.message}${issue.ruleId ? ` [rule ${issue.ruleId}]` : ''}`;
}

/** A CEL expression compiled once at load. */
export interface CompiledExpression {
  source: string;
  evaluate: ParseResult;
  ast: ASTNode;
  position: Position;
  /** The same expression compiled to JavaScript, answering when certain of CEL's result (see `compileNative`); cel-js decides the rest. */
  native?: NativePredicate;
}

export interface ActionList {
  actions: Action[];
  notify: string[];
}

export interface CompiledRequirement {
  request: 'approved';
  proofing?: ProofingLevel;
  ticket?: TicketRequirement;
  approvals?: ApprovalRequirement;
  ttlSeconds?: number;
  /** false: a break-glass request does not satisfy this rule. */
  breakGlass?: boolean;
}

export interface CompiledRule {
  id: string;
  description?: string;
  /** Position of the rule in the file (0-based), which is also evaluation order. */
  index: number;
  when: CompiledExpression;
  require?: CompiledRequirement;
  /** Outcome of a rule without `require`, or when `require` is not met. */
  outcome: Outcome;
  onDeny: ActionList;
  onHold: ActionList;
  kinds?: ReadonlySet<ChangeKind>;
  channels?: ReadonlySet<Channel>;
}

export interface CompiledTier {
  name: Tier;
  when: CompiledExpression;
}

/** A policy ready to evaluate. Immutable once built. */
export interface CompiledPolicy {
  file: string;
  tenant: string;
  mode: PolicyMode;
  default: Outcome;
  failure: Outcome;
  /** Content hash of the file: `sha256:` + 16 hex digits. */
  version: string;
  tiers: readonly CompiledTier[];
  rules: readonly CompiledRule[];
  /** Rules that can match a change of this kind on this channel, in file order. */
  candidates(kind: ChangeKind, channel: Channel): readonly CompiledRule[];
}

/** The content hash a policy version is named by. */
export function policyVersionOf(text: string): string {
  return 'sha256:' + createHash('sha256').update(text).digest('hex').slice(0, 16);
}

function pathString(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)), '');
}

function splitActions(entries: readonly string[]): ActionList {
  const actions: Action[] = [];
  const notify: string[] = [];
  for (const entry of entries) {
    if (entry.startsWith('notify:')) notify.push(entry.slice('notify:'.length));
    else actions.push(entry as Action);
  }
  // Shared by every decision this rule takes part in: frozen so no caller can change the policy through a decision.
  return { actions: Object.freeze(actions) as Action[], notify: Object.freeze(notify) as string[] };
}

/**
 * Parses, validates and compiles a policy file. Every problem is collected
 * and reported at once, each with file:line:column and the rule id.
 *
 * @throws WardenError `ERR_POLICY_INVALID` with `details.issues: PolicyIssue[]`
 * @example
 *   const policy = compilePolicy({ file: 'policies/acme.yaml', text });
 *   const verdict = evaluatePolicy(policy, { change });
 */
export function compilePolicy(input: { file: string; text: string }): CompiledPolicy {
  const { file, text } = input;
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const positions = new SourcePositions(doc, lineCounter, text);
  const issues: PolicyIssue[] = [];
  const fail = (): never => {
    issues.sort((a, b) => a.line - b.line || a.column - b.column);
    throw new WardenError('ERR_POLICY_INVALID', `${file}: policy refused\n${issues.map(formatPolicyIssue).join('\n')}`, {
      details: { file, issues },
    });
  };

  if (doc.errors.length > 0) {
    for (const error of doc.errors) {
      const at = positions.at(error.pos[0]);
      issues.push({ file, ...at, message: `YAML: ${error.message.split('\n')[0]}`, kind: 'yaml', path: '', sourceLine: positions.lineText(at.line) });
    }
    fail();
  }

  const raw: unknown = doc.toJS({ maxAliasCount: 50 });
  const rawRules = (raw as { rules?: unknown } | null)?.rules;
  const ruleIdAt = (path: readonly PropertyKey[]): string | undefined => {
    if (path[0] !== 'rules' || typeof path[1] !== 'number' || !Array.isArray(rawRules)) return undefined;
    const id = (rawRules[path[1]] as { id?: unknown } | undefined)?.id;
    return typeof id === 'string' ? id : undefined;
  };

  const parsed = PolicyDoc.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const at = positions.of(issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path);
      issues.push({
        file,
        ...at,
        message: `${pathString(issue.path) || '(document)'}: ${describeIssue(issue, raw)}`,
        kind: 'schema',
        path: pathString(issue.path),
        ruleId: ruleIdAt(issue.path),
        sourceLine: positions.lineText(at.line),
      });
    }
    fail();
  }
  const policy = (parsed as { data: PolicyDoc }).data;

  const seen = new Map<string, number>();
  policy.rules.forEach((rule, i) => {
    const first = seen.get(rule.id);
    if (first !== undefined) {
      const at = positions.of(['rules', i, 'id']);
      const firstAt = positions.of(['rules', first, 'id']);
      issues.push({
        file,
        ...at,
        message: `duplicate rule id "${rule.id}" (first defined at line ${firstAt.line})`,
        kind: 'duplicate',
        path: `rules[${i}].id`,
        ruleId: rule.id,
        sourceLine: positions.lineText(at.line),
      });
    } else seen.set(rule.id, i);
  });
  const seenTiers = new Set<string>();
  policy.tiers.forEach((tier, i) => {
    if (seenTiers.has(tier.name)) {
      const at = positions.of(['tiers', i, 'name']);
      issues.push({
        file,
        ...at,
        message: `tier "${tier.name}" is listed twice`,
        kind: 'duplicate',
        path: `tiers[${i}].name`,
        sourceLine: positions.lineText(at.line),
      });
    }
    seenTiers.add(tier.name);
  });

  const compileExpression = (source: string, path: PropertyKey[], ruleId?: string): CompiledExpression | undefined => {
    const report = (offset: number, message: string, kind: PolicyIssue['kind'] = 'cel') => {
      const at = positions.inScalar(path, offset);
      issues.push({ file, ...at, message: `${pathString(path)}: ${message}`, kind, path: pathString(path), ruleId, sourceLine: positions.lineText(at.line) });
    };
    let evaluate: ParseResult;
    try {
      evaluate = evaluationEnvironment().parse(source);
    } catch (err) {
      const e = err as { range?: { start: number }; summary?: string; message: string };
      report(e.range?.start ?? 0, `CEL syntax error: ${e.summary ?? e.message.split('\n')[0]}`);
      return undefined;
    }
    const checked = checkEnvironment().check(source);
    if (!checked.valid) {
      const e = checked.error as { range?: { start: number }; summary?: string; message: string };
      const summary = e.summary ?? e.message.split('\n')[0] ?? 'invalid';
      report(
        e.range?.start ?? 0,
        /Unknown variable/i.test(summary) ? `${summary} (variables: change, target, actor, context, request, now)` : `CEL type error: ${summary}`,
      );
      return undefined;
    }
    if (checked.type !== 'bool' && checked.type !== 'dyn') {
      report(0, `expression must be a bool, but it is ${checked.type}`);
      return undefined;
    }
    for (const problem of lintLiterals(evaluate.ast)) report(problem.start, problem.message, 'literal');
    const native = compileNative(evaluate.ast);
    return { source, evaluate, ast: evaluate.ast, position: positions.inScalar(path, 0), ...(native ? { native } : {}) };
  };

  const tiers: CompiledTier[] = [];
  policy.tiers.forEach((tier, i) => {
    const when = compileExpression(tier.when, ['tiers', i, 'when']);
    if (when) tiers.push({ name: tier.name, when });
  });

  const rules: CompiledRule[] = [];
  policy.rules.forEach((rule, i) => {
    const when = compileExpression(rule.when, ['rules', i, 'when'], rule.id);
    if (when) rules.push(compileRule(rule, i, when));
  });

  if (issues.length > 0) fail();

  const buckets = new Map<string, Map<string, readonly CompiledRule[]>>();
  for (const kind of CHANGE_KINDS) {
    const byChannel = new Map<string, readonly CompiledRule[]>();
    for (const channel of CHANNELS)
      byChannel.set(
        channel,
        rules.filter((r) => (!r.kinds || r.kinds.has(kind)) && (!r.channels || r.channels.has(channel))),
      );
    buckets.set(kind, byChannel);
  }
  const none: readonly CompiledRule[] = [];

  return Object.freeze({
    file,
    tenant: policy.tenant,
    mode: policy.mode,
    default: policy.default,
    failure: policy.failure,
    version: policyVersionOf(text),
    tiers: Object.freeze(tiers),
    rules: Object.freeze(rules),
    candidates: (kind: ChangeKind, channel: Channel) => buckets.get(kind)?.get(channel) ?? none,
  });
}

function compileRule(rule: PolicyRuleDoc, index: number, when: CompiledExpression): CompiledRule {
  const constraints = indexConstraints(when.ast);
  const require: CompiledRequirement | undefined = rule.require
    ? {
        request: 'approved',
        ...(rule.require.proofing ? { proofing: rule.require.proofing } : {}),
        ...(rule.require.ticket ? { ticket: rule.require.ticket } : {}),
        ...(rule.require.approvals ? { approvals: rule.require.approvals } : {}),
        ...(rule.require.ttl ? { ttlSeconds: parseDuration(rule.require.ttl) } : {}),
        ...(rule.require.breakGlass === false ? { breakGlass: false } : {}),
      }
    : undefined;
  return {
    id: rule.id,
    ...(rule.description ? { description: rule.description } : {}),
    index,
    when,
    ...(require ? { require } : {}),
    outcome: require ? (rule.otherwise ?? 'hold') : rule.outcome!,
    onDeny: splitActions(rule.onDeny),
    onHold: splitActions(rule.onHold),
    ...constraints,
  };
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v = raw;
  for (const k of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown): string {
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(PolicyDoc, issue.path);
    const hints = issue.keys.map((k) => didYouMean(k, known)).filter((h): h is string => !!h);
    const list = known.length ? ` (${known.length > 12 ? 'see docs/policy.md' : `keys here: ${known.join(', ')}`})` : '';
    return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}${hints.length ? `; did you mean ${hints.map((h) => JSON.stringify(h)).join(', ')}?` : ''}${list}`;
  }
  const value = valueAt(raw, issue.path);
  if (issue.message === NOTIFY_ENTRY_MESSAGE && typeof value === 'string' && !value.startsWith('notify:')) {
    const hint = didYouMean(value, ACTIONS);
    return `unknown action ${JSON.stringify(value)}${hint ? `; did you mean ${JSON.stringify(hint)}?` : ''} Actions: ${ACTIONS.join(', ')}, or notify:<channel>`;
  }
  if (issue.code === 'invalid_value' && 'values' in issue) return `${issue.message}`;
  return issue.message;
}
