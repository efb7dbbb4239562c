import type { ASTNode } from '@marcbachmann/cel-js';
import type { ChangeKind, Channel } from '../identity-change.js';
import { comparedValues } from './expression-fields.js';

/**
 * Indexing compiled CEL: which change kinds and channels a rule can possibly
 * match, so evaluation only runs candidate rules.
 */

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
