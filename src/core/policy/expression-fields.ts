import type { ASTNode } from '@marcbachmann/cel-js';
import { CHANGE_KINDS, CHANNELS, FACTOR_TYPES } from '../identity-change.js';
import { TIERS } from '../tiers.js';

/**
 * Reading a compiled CEL expression's AST: field references, string
 * literals, the values a comparison pins a field to, and a node's children.
 * Shared by indexing (index-expression.ts) and linting (lint-expression.ts).
 */

/** Dotted path of a field reference such as `change.kind`, or undefined. */
export function fieldPath(node: ASTNode): string | undefined {
  if (node.op === 'id') return node.args;
  if (node.op === '.') {
    const base = fieldPath(node.args[0]);
    return base === undefined ? undefined : `${base}.${node.args[1]}`;
  }
  return undefined;
}

export function stringLiteral(node: ASTNode): string | undefined {
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
export const ENUMERATED: Record<string, readonly string[]> = {
  'change.kind': CHANGE_KINDS,
  'change.channel': CHANNELS,
  'change.factor.type': FACTOR_TYPES,
  'target.tier': TIERS,
  'change.actor.type': ['user', 'service', 'system'],
  'actor.type': ['user', 'service', 'system'],
};

export interface FieldValues {
  field: string;
  values: string[];
  /** The node holding the literal(s), for error positions. */
  literal: ASTNode;
}

/** `field == "x"`, `"x" == field`, `field in ["x", "y"]` and `field.startsWith("p")` as a set of possible values. */
export function comparedValues(node: ASTNode): FieldValues | undefined {
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

/** The nodes directly under `node`. */
export function children(node: ASTNode): ASTNode[] {
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
