import { createHash } from 'node:crypto';
import type { ASTNode, ParseResult } from '@marcbachmann/cel-js';
import { LineCounter, parseDocument } from 'yaml';
import { WardenError } from '../core/errors.js';
import { CHANGE_KINDS, type ChangeKind, type Channel } from '../core/identity-change.js';
import { compileNative, indexConstraints, lintLiterals } from '../core/policy/analyze-expression.js';
import { checkEnvironment, evaluationEnvironment } from '../core/policy/cel-environment.js';
import { formatPolicyIssue, type CompiledExpression, type PolicyIssue } from '../core/policy/compile-policy.js';
import { parseDuration } from '../core/policy/duration.js';
import { SourcePositions } from '../core/source-positions.js';
import type { Severity } from '../core/alert.js';
import { DetectionRuleDoc, RuleFileDoc, type StepDoc } from './rule-pack-document.js';

/** A rule file's text and where it came from. */
export interface RuleSource {
  file: string;
  text: string;
}

/** What a rule correlates by: the target's or actor's canonical identity, or the value of an expression. */
export type KeyRef = { kind: 'target' } | { kind: 'actor' } | { kind: 'expression'; source: string; expr: CompiledExpression };

export interface CompiledStep {
  name: string;
  when: CompiledExpression;
  count: number;
  /** Which CEL variables the condition reads (the engine builds only those it needs). */
  reads: ReadonlySet<string>;
  /** Change kinds the condition can match (all when undefined). */
  kinds?: ReadonlySet<ChangeKind>;
  channels?: ReadonlySet<Channel>;
  /**
   * The condition says nothing beyond `kinds` and `channels` (a conjunction
   * of `change.kind` / `change.channel` compared with string literals): for a
   * change of a candidate kind it is true exactly when the channel is one of
   * `channels`, so it need not be evaluated.
   */
  decided: boolean;
}

export type RuleType = 'sequence' | 'threshold' | 'absence';

/** A rule ready to run. Immutable. */
export interface CompiledDetectionRule {
  id: string;
  title: string;
  severity: Severity;
  type: RuleType;
  intent: string;
  falsePositives: string;
  attack: readonly { id: string; name: string }[];
  references: readonly string[];
  by: KeyRef;
  /** Threshold rules: count distinct values of this. */
  distinct?: KeyRef;
  /** Span of event time; 0 for single-change threshold rules. */
  windowMs: number;
  /** Rule-specific lateness; the tenant default applies when undefined. */
  latenessMs?: number;
  anyOrder: boolean;
  /** Threshold rules: changes (or distinct values) needed. */
  count: number;
  /** Sequence: the steps in order; threshold: one step; absence: [A, B]. */
  steps: readonly CompiledStep[];
  /**
   * Hash of what the rule matches (type, steps, window, keys, counts), not of
   * its prose: stored state of a rule whose hash changed is discarded.
   */
  hash: string;
  file: string;
  line: number;
}

/** A step some rule has, found by change kind. */
export interface StepRef {
  rule: CompiledDetectionRule;
  /** Index of the rule in `rules`. */
  ruleIndex: number;
  step: number;
}

/** Rules ready to run, indexed by change kind. */
export interface CompiledRulePack {
  /** `sha256:` + 16 hex digits over the files' contents. */
  version: string;
  files: readonly string[];
  /** Enabled rules, in file order (shipped first, then the tenant's new ones). */
  rules: readonly CompiledDetectionRule[];
  /** Rules turned off (`enabled: false`). */
  disabled: readonly string[];
  /** The steps a change of this kind can match, grouped by rule in rule order. */
  candidates(kind: ChangeKind): readonly StepRef[];
}

interface RawRule {
  /** Merged rule object. */
  value: Record<string, unknown>;
  /** Which file and rule index each top-level key came from (the last writer). */
  origin: Map<string, { source: number; index: number }>;
  /** Where the rule was first defined. */
  first: { source: number; index: number };
}

type Parsed = { positions: SourcePositions; file: string };

const hex16 = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);

function pathString(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)), '');
}

/**
 * Parses, merges and compiles rule files: the shipped pack (`base`), then a
 * tenant's files (`overrides`), whose rules replace or extend the shipped
 * ones key by key. Every problem is reported at once with file:line:column.
 *
 * @throws WardenError `ERR_RULES_INVALID` with `details.issues: PolicyIssue[]`
 * @example
 *   const pack = compileRulePack(shippedRuleSources(), [{ file: 'acme-rules.yaml', text }]);
 */
export function compileRulePack(base: readonly RuleSource[], overrides: readonly RuleSource[] = []): CompiledRulePack {
  const sources = [...base, ...overrides];
  const parsed: Parsed[] = [];
  const issues: PolicyIssue[] = [];
  const rules = new Map<string, RawRule>();

  sources.forEach((source, s) => {
    const lineCounter = new LineCounter();
    const doc = parseDocument(source.text, { lineCounter, prettyErrors: false, uniqueKeys: true });
    const positions = new SourcePositions(doc, lineCounter, source.text);
    parsed.push({ positions, file: source.file });
    if (doc.errors.length > 0) {
      for (const error of doc.errors) {
        const at = positions.at(error.pos[0]);
        issues.push({
          file: source.file,
          ...at,
          message: `YAML: ${error.message.split('\n')[0]}`,
          kind: 'yaml',
          path: '',
          sourceLine: positions.lineText(at.line),
        });
      }
      return;
    }
    const result = RuleFileDoc.safeParse(doc.toJS({ maxAliasCount: 50 }));
    if (!result.success) {
      for (const issue of result.error.issues) {
        const at = positions.of(issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path);
        issues.push({
          file: source.file,
          ...at,
          message: `${pathString(issue.path) || '(document)'}: ${issue.message}`,
          kind: 'schema',
          path: pathString(issue.path),
          sourceLine: positions.lineText(at.line),
        });
      }
      return;
    }
    const isOverride = s >= base.length;
    const seenHere = new Set<string>();
    result.data.rules.forEach((rule, index) => {
      const id = rule.id;
      if (seenHere.has(id)) {
        const at = positions.of(['rules', index, 'id']);
        issues.push({
          file: source.file,
          ...at,
          message: `rule "${id}" is defined twice in this file`,
          kind: 'duplicate',
          path: `rules[${index}].id`,
          ruleId: id,
          sourceLine: positions.lineText(at.line),
        });
        return;
      }
      seenHere.add(id);
      const existing = rules.get(id);
      if (existing && !isOverride) {
        const at = positions.of(['rules', index, 'id']);
        issues.push({
          file: source.file,
          ...at,
          message: `rule "${id}" is already defined in ${sources[existing.first.source]!.file}`,
          kind: 'duplicate',
          path: `rules[${index}].id`,
          ruleId: id,
          sourceLine: positions.lineText(at.line),
        });
        return;
      }
      const here = { source: s, index };
      if (existing) {
        for (const key of Object.keys(rule)) existing.origin.set(key, here);
        existing.value = { ...existing.value, ...rule };
      } else {
        rules.set(id, { value: { ...rule }, origin: new Map(Object.keys(rule).map((k) => [k, here])), first: here });
      }
    });
  });

  const compiled: CompiledDetectionRule[] = [];
  const disabled: string[] = [];
  for (const [id, raw] of rules) {
    // Positions: a key's problems are reported where that key was written.
    const locate = (path: readonly PropertyKey[]) => {
      const from = raw.origin.get(String(path[0])) ?? raw.first;
      const p = parsed[from.source]!;
      return { p, path: ['rules', from.index, ...path] as PropertyKey[] };
    };
    const report = (path: readonly PropertyKey[], message: string, kind: PolicyIssue['kind'], offset?: number) => {
      const { p, path: full } = locate(path);
      const at = offset === undefined ? p.positions.of(full) : p.positions.inScalar(full, offset);
      issues.push({
        file: p.file,
        ...at,
        message: `${pathString(path)}: ${message}`,
        kind,
        path: pathString(full),
        ruleId: id,
        sourceLine: p.positions.lineText(at.line),
      });
    };
    const result = DetectionRuleDoc.safeParse(raw.value);
    if (!result.success) {
      for (const issue of result.error.issues) {
        const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path;
        report(path, issue.message, 'schema');
      }
      continue;
    }
    const rule = result.data;
    if (!rule.enabled) {
      disabled.push(id);
      continue;
    }
    const built = buildRule(rule, report);
    if (built) {
      const { p, path } = locate(['id']);
      compiled.push({ ...built, file: p.file, line: p.positions.of(path).line });
    }
  }

  if (issues.length > 0) {
    issues.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
    throw new WardenError('ERR_RULES_INVALID', `detection rules refused\n${issues.map(formatPolicyIssue).join('\n')}`, { details: { issues } });
  }

  const byKind = new Map<ChangeKind, StepRef[]>();
  for (const kind of CHANGE_KINDS) {
    const refs: StepRef[] = [];
    compiled.forEach((rule, ruleIndex) => {
      rule.steps.forEach((step, i) => {
        if (!step.kinds || step.kinds.has(kind)) refs.push({ rule, ruleIndex, step: i });
      });
    });
    byKind.set(kind, refs);
  }
  const none: readonly StepRef[] = [];
  return Object.freeze({
    version: 'sha256:' + hex16(sources.map((s) => s.text).join('\u0000')),
    files: sources.map((s) => s.file),
    rules: Object.freeze(compiled),
    disabled: Object.freeze(disabled),
    candidates: (kind: ChangeKind) => byKind.get(kind) ?? none,
  });
}

type Report = (path: readonly PropertyKey[], message: string, kind: PolicyIssue['kind'], offset?: number) => void;

/** Compiles one CEL expression; reports problems and returns undefined on failure. */
function compileCel(source: string, path: readonly PropertyKey[], report: Report, want: 'bool' | 'key'): CompiledExpression | undefined {
  let evaluate: ParseResult;
  try {
    evaluate = evaluationEnvironment().parse(source);
  } catch (err) {
    const e = err as { range?: { start: number }; summary?: string; message: string };
    report(path, `CEL syntax error: ${e.summary ?? e.message.split('\n')[0]}`, 'cel', e.range?.start ?? 0);
    return undefined;
  }
  const checked = checkEnvironment().check(source);
  if (!checked.valid) {
    const e = checked.error as { range?: { start: number }; summary?: string; message: string };
    const summary = e.summary ?? e.message.split('\n')[0] ?? 'invalid';
    report(
      path,
      /Unknown variable/i.test(summary) ? `${summary} (variables: change, target, actor, context, request, now)` : `CEL type error: ${summary}`,
      'cel',
      e.range?.start ?? 0,
    );
    return undefined;
  }
  if (want === 'bool' && checked.type !== 'bool' && checked.type !== 'dyn') {
    report(path, `expression must be a bool, but it is ${checked.type}`, 'cel', 0);
    return undefined;
  }
  if (want === 'key' && !['string', 'int', 'uint', 'double', 'dyn'].includes(checked.type ?? '')) {
    report(path, `a key expression must give a string or a number, but it gives ${checked.type}`, 'cel', 0);
    return undefined;
  }
  let lintFailed = false;
  for (const problem of lintLiterals(evaluate.ast)) {
    report(path, problem.message, 'literal', problem.start);
    lintFailed = true;
  }
  if (lintFailed) return undefined;
  const native = want === 'bool' ? compileNative(evaluate.ast) : undefined;
  return { source, evaluate, ast: evaluate.ast, position: { line: 0, column: 0 }, ...(native ? { native } : {}) };
}

/**
 * The variables an expression reads, and `target.tier` when it reads the
 * tier (conservatively: a comprehension variable of the same name counts, and
 * `target` used whole counts as reading the tier).
 */
export function variablesRead(root: ASTNode): ReadonlySet<string> {
  const names = new Set<string>();
  const visit = (value: unknown, parent?: { op: string; args: unknown }): void => {
    if (Array.isArray(value)) {
      for (const v of value) visit(v, parent);
      return;
    }
    if (typeof value !== 'object' || value === null || !('op' in value)) return;
    const node = value as { op: string; args: unknown };
    if (node.op === 'id' && typeof node.args === 'string') {
      names.add(node.args);
      const field = parent && (parent.op === '.' || parent.op === '.?') ? (parent.args as unknown[])[1] : undefined;
      if (node.args === 'target' && (field === undefined || field === 'tier')) names.add('target.tier');
    } else visit(node.args, node);
  };
  visit(root);
  return names;
}

function compileKey(spec: string, path: readonly PropertyKey[], report: Report): KeyRef | undefined {
  if (spec === 'target' || spec === 'actor') return { kind: spec };
  const expr = compileCel(spec, path, report, 'key');
  return expr ? { kind: 'expression', source: spec, expr } : undefined;
}

function compileStep(step: StepDoc, path: readonly PropertyKey[], report: Report): CompiledStep | undefined {
  const when = compileCel(step.when, [...path, 'when'], report, 'bool');
  if (!when) return undefined;
  return { name: step.name, when, count: step.count, reads: variablesRead(when.ast), ...indexConstraints(when.ast), decided: decidedByIndex(when.ast) };
}

/** `change.<field>` with `field` kind or channel. */
function isKindOrChannel(node: ASTNode): boolean {
  return node.op === '.' && node.args[0].op === 'id' && node.args[0].args === 'change' && (node.args[1] === 'kind' || node.args[1] === 'channel');
}

const isStringLiteral = (node: ASTNode): boolean => node.op === 'value' && typeof node.args === 'string';

/**
 * Whether a condition is only a conjunction of `change.kind` / `change.channel`
 * compared with string literals (`==` either way round, or `in` a list of
 * them): then `indexConstraints` gives exactly the kinds and channels for
 * which it is true. Both fields are always strings, so none of these
 * comparisons can err.
 */
export function decidedByIndex(node: ASTNode): boolean {
  switch (node.op) {
    case '&&':
      return decidedByIndex(node.args[0]) && decidedByIndex(node.args[1]);
    case '==':
      return (isKindOrChannel(node.args[0]) && isStringLiteral(node.args[1])) || (isKindOrChannel(node.args[1]) && isStringLiteral(node.args[0]));
    case 'in':
      return isKindOrChannel(node.args[0]) && node.args[1].op === 'list' && node.args[1].args.length > 0 && node.args[1].args.every(isStringLiteral);
    default:
      return false;
  }
}

function buildRule(rule: DetectionRuleDoc, report: Report): Omit<CompiledDetectionRule, 'file' | 'line'> | undefined {
  const by = compileKey(rule.by, ['by'], report);
  let ok = by !== undefined;
  let steps: (CompiledStep | undefined)[];
  let distinct: KeyRef | undefined;
  let count = 1;
  let windowMs = 0;
  let anyOrder = false;
  switch (rule.type) {
    case 'sequence':
      steps = rule.steps.map((s, i) => compileStep(s, ['steps', i], report));
      windowMs = parseDuration(rule.window) * 1000;
      anyOrder = rule.anyOrder;
      break;
    case 'absence':
      steps = rule.steps.map((s, i) => compileStep(s, ['steps', i], report));
      windowMs = parseDuration(rule.window) * 1000;
      if (rule.steps.some((s) => s.count !== 1)) {
        report(['steps'], 'absence steps match one change each (no `count`)', 'schema');
        ok = false;
      }
      break;
    case 'threshold':
      steps = [compileStep({ name: rule.title, when: rule.when, count: 1 }, [], report)];
      count = rule.count;
      windowMs = rule.window ? parseDuration(rule.window) * 1000 : 0;
      if (rule.distinct !== undefined) {
        distinct = compileKey(rule.distinct, ['distinct'], report);
        ok &&= distinct !== undefined;
      }
      break;
  }
  if (!ok || steps.some((s) => s === undefined)) return undefined;
  const shape = {
    type: rule.type,
    by: rule.by,
    windowMs,
    anyOrder,
    count,
    distinct: rule.type === 'threshold' ? (rule.distinct ?? null) : null,
    steps: (rule.type === 'threshold' ? [{ when: rule.when, count: 1 }] : rule.steps).map((s) => ({ when: s.when, count: s.count })),
  };
  return {
    id: rule.id,
    title: rule.title,
    severity: rule.severity,
    type: rule.type,
    intent: rule.intent,
    falsePositives: rule.falsePositives,
    attack: rule.attack,
    references: rule.references,
    by: by!,
    ...(distinct ? { distinct } : {}),
    windowMs,
    ...(rule.allowedLateness ? { latenessMs: parseDuration(rule.allowedLateness) * 1000 } : {}),
    anyOrder,
    count,
    steps: steps as CompiledStep[],
    hash: hex16(JSON.stringify(shape)),
  };
}

/** A problem in a rule file (same shape as a policy issue: file, line, column, message). */
export type { PolicyIssue as RuleIssue };
