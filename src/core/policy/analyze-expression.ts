import type { ASTNode } from '@marcbachmann/cel-js';
import { CHANGE_KINDS, CHANNELS, FACTOR_TYPES, type ChangeKind, type Channel } from '../identity-change.js';
import { TIERS } from '../tiers.js';

/**
 * Static analysis of compiled CEL: which change kinds and channels a rule can
 * possibly match (so evaluation only runs candidate rules), and string
 * literals compared with enumerated fields that can never match (typos such as
 * `change.kind == "factor.rest_all"`).
 */

/** Dotted path of a field reference such as `change.kind`, or undefined. */
function fieldPath(node: ASTNode): string | undefined {
  if (node.op === 'id') return node.args;
  if (node.op === '.') {
    const base = fieldPath(node.args[0]);
    return base === undefined ? undefined : `${base}.${node.args[1]}`;
  }
  return undefined;
}

function stringLiteral(node: ASTNode): string | undefined {
  return node.op === 'value' && typeof node.args === 'string' ? node.args : undefined;
}

function stringList(node: ASTNode): string[] | undefined {
  if (node.op !== 'list') return undefined;
  const out: string[] = [];
  for (const item of node.args) {
    const s = stringLiteral(item);
    if (s === undefined) return undefined;
    out.push(s);
  }
  return out;
}

/** Enumerated fields: the values a literal compared with them may take. */
const ENUMERATED: Record<string, readonly string[]> = {
  'change.kind': CHANGE_KINDS,
  'change.channel': CHANNELS,
  'change.factor.type': FACTOR_TYPES,
  'target.tier': TIERS,
  'change.actor.type': ['user', 'service', 'system'],
  'actor.type': ['user', 'service', 'system'],
};

interface FieldValues {
  field: string;
  values: string[];
  /** The node holding the literal(s), for error positions. */
  literal: ASTNode;
}

/** `field == "x"`, `"x" == field`, `field in ["x", "y"]` and `field.startsWith("p")` as a set of possible values. */
function comparedValues(node: ASTNode): FieldValues | undefined {
  if (node.op === '==' || node.op === '!=') {
    const [a, b] = node.args;
    const fa = fieldPath(a);
    const fb = fieldPath(b);
    const la = stringLiteral(a);
    const lb = stringLiteral(b);
    if (fa !== undefined && lb !== undefined) return { field: fa, values: [lb], literal: b };
    if (fb !== undefined && la !== undefined) return { field: fb, values: [la], literal: a };
    return undefined;
  }
  if (node.op === 'in') {
    const field = fieldPath(node.args[0]);
    const list = stringList(node.args[1]);
    if (field !== undefined && list !== undefined) return { field, values: list, literal: node.args[1] };
    return undefined;
  }
  if (node.op === 'rcall' && node.args[0] === 'startsWith' && node.args[2].length === 1) {
    const field = fieldPath(node.args[1]);
    const prefix = stringLiteral(node.args[2][0]!);
    const known = field === undefined ? undefined : ENUMERATED[field];
    if (field !== undefined && prefix !== undefined && known !== undefined)
      return { field, values: known.filter((v) => v.startsWith(prefix)), literal: node.args[2][0]! };
  }
  return undefined;
}

/** An unknown literal found by `lintLiterals`. */
export interface LiteralProblem {
  message: string;
  start: number;
  end: number;
}

/** Literals compared with an enumerated field that no change can ever carry. */
export function lintLiterals(root: ASTNode): LiteralProblem[] {
  const problems: LiteralProblem[] = [];
  const visit = (node: ASTNode): void => {
    if (node.op === 'rcall' && node.args[0] === 'startsWith') {
      const field = fieldPath(node.args[1]);
      const prefix = node.args[2].length === 1 ? stringLiteral(node.args[2][0]!) : undefined;
      const known = field === undefined ? undefined : ENUMERATED[field];
      if (known && prefix !== undefined && !known.some((v) => v.startsWith(prefix)))
        problems.push({ message: `no ${field} starts with ${JSON.stringify(prefix)} (known: ${known.join(', ')})`, ...node.args[2][0]!.range });
    } else {
      const compared = comparedValues(node);
      const known = compared ? ENUMERATED[compared.field] : undefined;
      if (compared && known) {
        for (const value of compared.values)
          if (!known.includes(value))
            problems.push({ message: `unknown ${compared.field} ${JSON.stringify(value)} (known: ${known.join(', ')})`, ...compared.literal.range });
      }
    }
    for (const child of children(node)) visit(child);
  };
  visit(root);
  return problems;
}

function children(node: ASTNode): ASTNode[] {
  switch (node.op) {
    case 'value':
    case 'id':
      return [];
    case '.':
    case '.?':
      return [node.args[0]];
    case 'call':
      return node.args[1];
    case 'rcall':
      return [node.args[1], ...node.args[2]];
    case 'list':
      return node.args;
    case 'map':
      return node.args.flat();
    case '!_':
    case '-_':
      return [node.args];
    default:
      return (node.args as ASTNode[]).filter((a): a is ASTNode => typeof a === 'object' && a !== null && 'op' in a);
  }
}

/** The top-level conjuncts of an expression: `a && (b && c)` → [a, b, c]. */
export function conjuncts(node: ASTNode): ASTNode[] {
  return node.op === '&&' ? [...conjuncts(node.args[0]), ...conjuncts(node.args[1])] : [node];
}

/** Values a field can take for the node to be true, if the node pins it down. */
function constraintOn(node: ASTNode, field: string): Set<string> | undefined {
  if (node.op === '||') {
    const a = constraintOn(node.args[0], field);
    const b = constraintOn(node.args[1], field);
    return a && b ? new Set([...a, ...b]) : undefined;
  }
  if (node.op === '&&') {
    const a = constraintOn(node.args[0], field);
    const b = constraintOn(node.args[1], field);
    if (a && b) return new Set([...a].filter((v) => b.has(v)));
    return a ?? b;
  }
  if (node.op === '!=') return undefined;
  const compared = comparedValues(node);
  return compared && compared.field === field ? new Set(compared.values) : undefined;
}

/**
 * Kinds and channels a rule can match. A conjunct that pins `change.kind`
 * down is false for every other kind, and CEL's `&&` is false whenever one
 * side is false (even if the other side errs), so skipping the rule for those
 * kinds never changes a decision.
 */
export function indexConstraints(root: ASTNode): { kinds?: ReadonlySet<ChangeKind>; channels?: ReadonlySet<Channel> } {
  const kinds = constraintOn(root, 'change.kind') as Set<ChangeKind> | undefined;
  const channels = constraintOn(root, 'change.channel') as Set<Channel> | undefined;
  return { ...(kinds ? { kinds } : {}), ...(channels ? { channels } : {}) };
}
