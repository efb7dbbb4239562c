/**
 * Static analysis of compiled CEL, in three parts: indexing (which change
 * kinds and channels a rule can possibly match, index-expression.ts),
 * linting (literals compared with enumerated fields that can never match,
 * lint-expression.ts), and the native form of an expression
 * (compile-native.ts). The policy compiler and the detection rule pack use
 * all three through this module.
 */

export { compileNative, type NativePredicate } from './compile-native.js';
export { conjuncts } from './expression-fields.js';
export { indexConstraints } from './index-expression.js';
export { type LiteralProblem, lintLiterals } from './lint-expression.js';
