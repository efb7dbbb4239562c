import type { ASTNode } from '@marcbachmann/cel-js';
import { ENUMERATED, children, comparedValues, fieldPath, stringLiteral } from './expression-fields.js';

/**
 * Linting compiled CEL: string literals compared with enumerated fields that
 * can never match (typos such as `change.kind == "factor.rest_all"`).
 */

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
